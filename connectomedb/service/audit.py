"""Two schema extensions around every mutation: read-only tokens are refused before
anything runs, and each root mutation field a signed-in caller asked for is written to
the audit log (``store.audit``) with its arguments and how it ended."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, get_operation_ast
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from connectomedb.service.context import Context
from connectomedb.service.errors import CLIENT_CODES
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
    """The code of the first error of the field at ``key`` (or of the whole operation),
    as :func:`service.errors.coded` will give it; OK without one."""
    for e in errors:
        if not e.path or e.path[0] == key:
            code = (e.extensions or {}).get("code")
            if code is None:
                orig = e.original_error
                code = "BAD_INPUT" if orig is None else getattr(orig, "code", "INTERNAL")
            return str(code if code in CLIENT_CODES else "INTERNAL")
    return "OK"


class AuditMutations(SchemaExtension):
    """After a mutation: one audit event per root field (refused ones included)."""

    async def on_execute(self) -> Any:  # type: ignore[override]
        yield
        ec = self.execution_context
        ctx = ec.context
        if not isinstance(ctx, Context) or ctx.principal.user_id is None:
            return  # anonymous changes are all refused, and not worth a record each
        if not _is_mutation(self) or ec.graphql_document is None:
            return
        op = get_operation_ast(ec.graphql_document, ec.operation_name)
        mutation = ec.schema._schema.mutation_type
        if op is None or mutation is None:
            return
        errors = list((ec.result.errors if ec.result else None) or [])
        coerced = get_variable_values(
            ec.schema._schema, op.variable_definitions or (), ec.variables or {}
        )
        # bad variables: refused before anything ran, and the arguments stay unread
        variables = coerced if isinstance(coerced, VariableValues) else None
        audit = AuditRepository(Store(ctx.store.driver, ctx.store.database, ctx.store.timeout_s))
        for node in op.selection_set.selections:
            if not isinstance(node, FieldNode) or node.name.value.startswith("__"):
                continue
            name = node.name.value
            key = node.alias.value if node.alias else name
            try:
                args = get_argument_values(mutation.fields[name], node, variables)
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
