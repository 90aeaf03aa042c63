"""The dataset read check, in one place: a dataset the caller cannot read answers
NOT_FOUND, exactly like one that does not exist.

- GraphQL fields that take a dataset argument carry the :class:`ReadsDataset` field
  extension (mutations: :class:`ChangesDataset`), which runs before the resolver, one
  per dataset argument (``compareArchitecture(datasetA:, datasetB:)`` has two); the
  schema factory refuses to build while a root field takes a ``dataset`` (or
  ``dataset_*``) argument without one (:func:`require_dataset_checks`).
- The /rest routes sit under a router that depends on :func:`readable_dataset`.
- Jobs and model runs, found by their own ids, go through :func:`readable_row`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from connectomedb.errors import NotFound, Unauthenticated
from connectomedb.service.context import Context
from connectomedb.service.deps import PrincipalDep, StoreDep
from connectomedb.store.access import AccessRepository, DatasetAccess

#: The argument that names a dataset, wherever a field takes one; a field that takes two
#: names them ``dataset_a``, ``dataset_b`` (``datasetA``, ``datasetB``).
DATASET_ARGUMENT = "dataset"


def names_dataset(argument: str) -> bool:
    """Whether a field argument (by its Python name) names a dataset to check."""
    return argument == DATASET_ARGUMENT or argument.startswith(DATASET_ARGUMENT + "_")


class ReadsDataset(FieldExtension):
    """Before the resolver: the dataset named by the field's ``argument`` must be readable
    by the caller (checked once per dataset and request by :meth:`Context.dataset`)."""

    def __init__(self, argument: str = DATASET_ARGUMENT) -> None:
        self.argument = argument

    def apply(self, field: StrawberryField) -> None:
        if not any(a.python_name == self.argument for a in field.arguments):
            raise TypeError(f"{field.python_name} has no argument {self.argument!r} to check")

    async def check(self, ctx: Context, dataset: str) -> None:
        await ctx.dataset(dataset)  # NotFound when the caller may not read it

    # Positional-only: a field argument may itself be called source (paths(source:)).
    async def resolve_async(  # type: ignore[override]
        self,
        next_: AsyncExtensionResolver,
        source: Any,
        info: strawberry.Info,
        /,
        **kwargs: Any,
    ) -> Any:
        await self.check(info.context, str(kwargs[self.argument]))
        return await next_(source, info, **kwargs)


class ChangesDataset(ReadsDataset):
    """Mutations: anonymous callers are asked to sign in before they learn whether the
    dataset exists; then the read check. The role a change needs is the resolver's.

    ``doing`` words the sign-in error: "annotating" -> "sign in with an API token before
    annotating a dataset"."""

    def __init__(self, doing: str | None = None) -> None:
        super().__init__()
        self.doing = doing

    async def check(self, ctx: Context, dataset: str) -> None:
        if ctx.principal.user_id is None:
            raise Unauthenticated(
                f"sign in with an API token before {self.doing} a dataset"
                if self.doing
                else "sign in with an API token (Authorization: Bearer ...)"
            )
        await super().check(ctx, dataset)


def dataset_checks(field: StrawberryField) -> list[ReadsDataset]:
    """The read checks a field runs before its resolver."""
    return [e for e in field.extensions if isinstance(e, ReadsDataset)]


def unchecked_fields(types: Iterable[type]) -> list[str]:
    """``Type.field`` for each field that takes a dataset argument (``dataset``,
    ``dataset_a``, ...) but does not check every one of them."""
    missing = []
    for t in types:
        definition = get_object_definition(t, strict=True)
        for f in definition.fields:
            named = {a.python_name for a in f.arguments if names_dataset(a.python_name)}
            if named - {c.argument for c in dataset_checks(f)}:
                missing.append(f"{definition.name}.{f.python_name}")
    return missing


def require_dataset_checks(*types: type) -> None:
    if missing := unchecked_fields(types):
        raise TypeError(
            "fields that take a dataset must check it (extensions=[ReadsDataset()] or "
            f"[ChangesDataset()]): {', '.join(missing)}"
        )


async def readable_row(
    row: dict[str, Any] | None, check: Callable[[str], Awaitable[object]], what: str
) -> dict[str, Any]:
    """``row`` (a job or model run) when ``check`` passes for its dataset; otherwise the
    NotFound of a ``what`` that does not exist."""
    if row is not None:
        try:
            await check(row["dataset"])
            return row
        except NotFound:
            pass
    raise NotFound(f"{what} not found")


async def readable_dataset(dataset: str, store: StoreDep, principal: PrincipalDep) -> DatasetAccess:
    """The read check of the /rest routes (a FastAPI dependency on the path's dataset)."""
    return await AccessRepository(store).dataset(principal, dataset)
