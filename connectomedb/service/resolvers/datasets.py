"""The datasets a caller may read."""

from __future__ import annotations

import strawberry

from connectomedb.service.context import Info
from connectomedb.service.permissions import ReadsDataset
from connectomedb.service.types.datasets import Dataset


@strawberry.type
class DatasetQueries:
    @strawberry.field(description="Datasets the caller may read.")
    async def datasets(self, info: Info) -> list[Dataset]:
        ctx = info.context
        return [
            Dataset.from_access(d, ctx.principal) for d in await ctx.access.datasets(ctx.principal)
        ]

    @strawberry.field(extensions=[ReadsDataset("id")])
    async def dataset(self, info: Info, id: strawberry.ID) -> Dataset:
        # The read check has loaded it: this is the request's cached answer.
        return Dataset.from_access(await info.context.dataset(str(id)), info.context.principal)
