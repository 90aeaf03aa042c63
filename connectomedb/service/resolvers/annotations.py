"""Annotations of neurons by editors (a history: newer values supersede older ones)."""

from __future__ import annotations

import strawberry

from connectomedb.service.context import Info
from connectomedb.service.permissions import ChangesDataset
from connectomedb.service.types.neurons import Annotation
from connectomedb.store.annotations import AnnotationRepository


@strawberry.type
class AnnotationMutations:
    @strawberry.mutation(
        description="Editors: annotate a neuron; a newer value for the same key supersedes "
        "the current one, which stays in the history.",
        extensions=[ChangesDataset("annotating")],
    )
    async def annotate_neuron(
        self, info: Info, dataset: strawberry.ID, neuron: strawberry.ID, key: str, value: str
    ) -> Annotation:
        ctx = info.context
        await ctx.editable(str(dataset))  # the editor role
        assert ctx.principal.user_id is not None  # anonymous callers were asked to sign in
        row = await AnnotationRepository(ctx.store, str(dataset)).annotate(
            str(neuron), key, value, ctx.principal.user_id
        )
        return Annotation.from_row(row)
