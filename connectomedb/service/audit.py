"""Two schema extensions around every mutation: read-only tokens are refused before
anything runs, and each root mutation field a signed-in caller asked for is written to
the audit log (``store.audit``) with its arguments and how it ended."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import FragmentDefinitionNode, GraphQLError, get_operation_ast
from graphql.execution.collect_fields import FragmentDetails, collect_fields
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from connectomedb.service.context import Context
from connectomedb.service.errors import client_code
from connectomedb.store.audit import AuditRepository
from connectomedb.store.graphdb import Store

log = logging.getLogger("connectomedb.audit")

READ_ONLY = (
    "this API token is read-only: it may not change anything or submit jobs "
    "(create a token without --read-only for that)"
)


def _is_mutation(ext: SchemaExtension) -> bool:
    ec = ext.execution_context
    return ec.graphql_document is not None and ec.operation_type == OperationType.MUTATION


class ReadOnlyTokens(SchemaExtension):
    """A mutation sent with a read-only token answers FORBIDDEN, and nothing runs."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if isinstance(ctx, Context) and ctx.principal.read_only and _is_mutation(self):
            ec.result = ExecutionResult(
                data=None, errors=[GraphQLError(READ_ONLY, extensions={"code": "FORBIDDEN"})]
            )
        yield


def _outcome(key: str, errors: list[GraphQLError]) -> str:
    """How the field at ``key`` ended: the code of its own error (or of the whole
    operation's), OK without one. An error deeper in its answer does not undo a change
    that was made."""
    for e in errors:
        if not e.path or (len(e.path) == 1 and e.path[0] == key):
            return client_code(e)
    return "OK"


class AuditMutations(SchemaExtension):
    """After a mutation: one audit event per root field that ran (fragments expanded,
    ``@skip``/``@include`` applied), refused ones included."""

    async def on_execute(self) -> Any:  # type: ignore[override]
        yield
        ec = self.execution_context
        ctx = ec.context
        if not isinstance(ctx, Context) or ctx.principal.user_id is None:
            return  # anonymous changes are all refused, and not worth a record each
        if ec.graphql_document is None or not _is_mutation(self):
            return
        schema = ec.schema._schema
        op = get_operation_ast(ec.graphql_document, ec.operation_name)
        mutation = schema.mutation_type
        if op is None or mutation is None:
            return
        coerced = get_variable_values(schema, op.variable_definitions or (), ec.variables or {})
        if not isinstance(coerced, VariableValues):
            return  # variables of the wrong type: refused before anything ran
        fragments = {
            d.name.value: FragmentDetails(d)
            for d in ec.graphql_document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        fields = collect_fields(schema, fragments, coerced, mutation, op).grouped_field_set
        errors = list((ec.result.errors if ec.result else None) or [])
        audit = AuditRepository(Store(ctx.store.driver, ctx.store.database, ctx.store.timeout_s))
        for key, details in fields.items():
            node = details[0].node
            name = node.name.value
            if name.startswith("__"):
                continue
            try:
                args = get_argument_values(mutation.fields[name], node, coerced)
            except (KeyError, GraphQLError):
                args = {}
            datasets = [str(v) for k, v in args.items() if k.startswith("dataset") and v]
            labs = [str(args["lab"])] if args.get("lab") else []
            if name == "createLab" and args.get("id"):
                labs.append(str(args["id"]))
            try:
                await audit.record(
                    user=ctx.principal.user_id,
                    token=ctx.principal.token_id,
                    action=name,
                    arguments=args,
                    outcome=_outcome(key, errors),
                    datasets=datasets or ctx.checked_datasets,
                    labs=labs,
                )
            except Exception:
                log.exception(
                    "the audit event of %s by %s was not written", name, ctx.principal.user_id
                )
