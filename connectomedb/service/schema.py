"""The GraphQL schema: the domain resolvers merged into Query and Mutation, with the
error codes and the limits on what one request may ask."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from connectomedb.service.audit import AuditMutations, ReadOnlyTokens
from connectomedb.service.errors import ConnectomeSchema, ErrorCodes
from connectomedb.service.permissions import require_dataset_checks
from connectomedb.service.resolvers.annotations import AnnotationMutations
from connectomedb.service.resolvers.connectivity import ConnectivityQueries
from connectomedb.service.resolvers.datasets import DatasetQueries
from connectomedb.service.resolvers.functional import FunctionalQueries
from connectomedb.service.resolvers.jobs import JobMutations, JobQueries
from connectomedb.service.resolvers.neurons import NeuronQueries
from connectomedb.service.resolvers.sharing import SharingMutations, SharingQueries
from connectomedb.service.resolvers.statistics import StatisticsQueries
from connectomedb.settings import Settings

# The order of the parts is the order of the fields in the schema.
Query = merge_types(
    "Query",
    (
        JobQueries,
        DatasetQueries,
        NeuronQueries,
        ConnectivityQueries,
        StatisticsQueries,
        FunctionalQueries,
        SharingQueries,
    ),
)
Mutation = merge_types("Mutation", (JobMutations, SharingMutations, AnnotationMutations))


def build_schema(
    settings: Settings | None = None, extra: Sequence[type[SchemaExtension]] = ()
) -> strawberry.Schema:
    require_dataset_checks(Query, Mutation)
    s = settings or Settings()
    # Validation rules are built once for the schema's life: the validation cache is keyed
    # by the rule classes, and the limiters make a new class each time they are built.
    rules = [
        *QueryDepthLimiter(max_depth=s.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.max_query_aliases).validation_rules,
    ]
    return ConnectomeSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: ParserCache(maxsize=512),
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=s.max_query_tokens),
            ErrorCodes,
            ReadOnlyTokens,
            AuditMutations,
            *extra,
        ],
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
