"""What clients see of errors: every error carries ``extensions.code``; our own errors keep
their message, anything unexpected is logged and reaches the client only as INTERNAL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Final

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult

from connectomedb.errors import ConnectomeDBError

log = logging.getLogger("connectomedb.api")

#: Error codes a client may see with the error's own message; anything else is masked.
CLIENT_CODES = frozenset(
    {
        "NOT_FOUND",
        "FORBIDDEN",
        "UNAUTHENTICATED",
        "BAD_INPUT",
        "TIMEOUT",
        "TOO_EXPENSIVE",
        "UNAVAILABLE",
        "RATE_LIMITED",
    }
)


#: HTTP status of each client error code on the plain routes and pages (GraphQL answers
#: keep 200, as GraphQL does).
HTTP_STATUS: Final = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_INPUT": 400,
    "TIMEOUT": 504,
    "TOO_EXPENSIVE": 422,
    "UNAVAILABLE": 503,
    "RATE_LIMITED": 429,
}


def client_code(e: GraphQLError) -> str:
    """The code a client sees for ``e``: the one it carries; BAD_INPUT for GraphQL's own
    errors (syntax, validation, variables of the wrong type); our errors' codes; INTERNAL
    for anything else."""
    if e.extensions and "code" in e.extensions:
        return str(e.extensions["code"])
    orig = e.original_error
    if orig is None or isinstance(orig, GraphQLError):
        return "BAD_INPUT"
    if isinstance(orig, ConnectomeDBError) and orig.code in CLIENT_CODES:
        return orig.code
    return "INTERNAL"


def coded(e: GraphQLError, operation: str | None) -> GraphQLError:
    """The error as a client sees it, with ``extensions.code``. Our own errors keep their
    message; GraphQL syntax and validation errors are BAD_INPUT; anything else is logged
    with its context and reaches the client only as INTERNAL."""
    if e.extensions and "code" in e.extensions:
        return e
    code = client_code(e)
    orig = e.original_error
    if code == "BAD_INPUT" and not isinstance(orig, ConnectomeDBError):
        message = e.message
    elif code != "INTERNAL":
        message = str(orig)
    else:
        log.error(
            "internal error in %s at %s",
            operation or "anonymous operation",
            ".".join(map(str, e.path or [])) or "(no field)",
            exc_info=orig,
        )
        message = "internal error"
    return GraphQLError(
        message,
        nodes=e.nodes,
        source=e.source,
        positions=e.positions,
        path=e.path,
        extensions={"code": code},
    )


def _code_result(result: Any, operation: str | None) -> None:
    """Codes the errors of a strawberry or graphql-core execution result in place."""
    if getattr(result, "errors", None):
        result.errors = [coded(e, operation) for e in result.errors]


class ErrorCodes(SchemaExtension):
    """Applies :func:`coded` to the errors of each operation, parse and validation errors
    included (they end the operation inside this hook as well)."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        _code_result(ctx.result, ctx.operation_name)


class ConnectomeSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents: :func:`coded` logs the unexpected ones."""

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        # A failure outside the operation (an extension that raises) bypasses the hooks.
        result = await super().execute(*args, **kwargs)
        _code_result(result, kwargs.get("operation_name"))
        return result
