"""The dataset read check is attached to every field that names a dataset, runs before the
resolver, and the schema refuses a field without it (no server, no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry
from strawberry.types.base import get_object_definition

from connectomedb.errors import NotFound, Unauthenticated
from connectomedb.service.permissions import (
    ChangesDataset,
    ReadsDataset,
    dataset_checks,
    require_dataset_checks,
    unchecked_fields,
)
from connectomedb.service.schema import Mutation, Query, build_schema
from connectomedb.store.access import Principal


def _fields_with_dataset(t: type) -> dict[str, Any]:
    return {
        f.name: f
        for f in get_object_definition(t, strict=True).fields
        if any(a.python_name == "dataset" for a in f.arguments)
    }


def test_every_query_that_names_a_dataset_reads_it_first() -> None:
    schema = build_schema()
    query = schema.get_type_by_name("Query")
    assert query is not None
    named = _fields_with_dataset(Query)
    assert set(named) >= {
        "jobs",
        "schedules",
        "model_runs",
        "neurons",
        "neuron",
        "connections",
        "paths",
        "cell_type_connectivity",
        "network_statistics",
        "motif_search",
        "reciprocity_by_group",
        "feed_forward_loops",
        "motif_census",
    }
    for name, field in named.items():
        checks = dataset_checks(field)
        assert [(type(c), c.argument) for c in checks] == [(ReadsDataset, "dataset")], name
    # the one query whose dataset argument is called id
    (dataset_field,) = [f for f in query.fields if f.name == "dataset"]  # type: ignore[union-attr]
    assert [(type(c), c.argument) for c in dataset_checks(dataset_field)] == [(ReadsDataset, "id")]


def test_every_mutation_that_names_a_dataset_checks_it() -> None:
    named = _fields_with_dataset(Mutation)
    assert set(named) >= {
        "share_dataset",
        "unshare_dataset",
        "set_dataset_visibility",
        "annotate_neuron",
        "submit_job",
        "create_schedule",
    }
    for name, field in named.items():
        assert [type(c) for c in dataset_checks(field)] == [ChangesDataset], name


def test_a_field_without_the_check_is_refused() -> None:
    @strawberry.type
    class Careless:
        @strawberry.field
        async def leaky(self, dataset: strawberry.ID) -> int:
            return 1

        @strawberry.field(extensions=[ReadsDataset()])
        async def careful(self, dataset: strawberry.ID) -> int:
            return 1

        @strawberry.field(extensions=[ReadsDataset("id")])
        async def checks_another_argument(self, id: strawberry.ID, dataset: strawberry.ID) -> int:
            return 1

    assert unchecked_fields([Careless]) == ["Careless.leaky", "Careless.checks_another_argument"]
    with pytest.raises(TypeError, match="Careless.leaky"):
        require_dataset_checks(Careless)
    require_dataset_checks(Query, Mutation)  # the real schema passes


def test_a_field_of_two_datasets_checks_both() -> None:
    (compare,) = [
        f
        for f in get_object_definition(Query, strict=True).fields
        if f.name == "compare_architecture"
    ]
    # the last extension runs first: datasetA is checked before datasetB
    checks = [(type(c), c.argument) for c in reversed(dataset_checks(compare))]
    assert checks == [(ReadsDataset, "dataset_a"), (ReadsDataset, "dataset_b")]

    @strawberry.type
    class HalfChecked:
        @strawberry.field(extensions=[ReadsDataset("dataset_a")])
        async def compare(self, dataset_a: strawberry.ID, dataset_b: strawberry.ID) -> int:
            return 1

        @strawberry.field(extensions=[ReadsDataset("dataset_a"), ReadsDataset("dataset_b")])
        async def careful(self, dataset_a: strawberry.ID, dataset_b: strawberry.ID) -> int:
            return 1

        @strawberry.field
        async def unrelated(self, datasets_seen: int) -> int:
            return 1

    assert unchecked_fields([HalfChecked]) == ["HalfChecked.compare"]


def test_a_check_of_a_missing_argument_is_refused() -> None:
    @strawberry.type
    class Misnamed:
        @strawberry.field(extensions=[ReadsDataset("ds")])
        async def neurons(self, dataset: strawberry.ID) -> int:
            return 1

    with pytest.raises(TypeError, match="no argument 'ds'"):
        strawberry.Schema(query=Misnamed)


class FakeContext:
    """What the checks use of the request context: the caller and the dataset lookup."""

    def __init__(self, user: str | None) -> None:
        self.principal = Principal(user_id=user)
        self.asked: list[str] = []

    async def dataset(self, dataset: str) -> object:
        self.asked.append(dataset)
        if dataset != "open":
            raise NotFound(f"dataset {dataset!r} not found")
        return object()


resolved: list[str] = []


@strawberry.type
class Probe:
    @strawberry.field(extensions=[ReadsDataset()])
    async def read(self, dataset: strawberry.ID) -> str:
        resolved.append(f"read {dataset}")
        return str(dataset)

    @strawberry.field(extensions=[ReadsDataset()])
    async def route(self, dataset: strawberry.ID, source: str, info: strawberry.Info) -> str:
        # arguments named like the extension's own parameters reach the resolver intact
        return f"{dataset}:{source}:{info.field_name}"


@strawberry.type
class ProbeMutation:
    @strawberry.mutation(extensions=[ChangesDataset("annotating")])
    async def change(self, dataset: strawberry.ID) -> str:
        resolved.append(f"change {dataset}")
        return str(dataset)


PROBE = strawberry.Schema(query=Probe, mutation=ProbeMutation)


def _run(query: str, ctx: FakeContext) -> Any:
    return asyncio.run(PROBE.execute(query, context_value=ctx))


def test_unreadable_dataset_stops_before_the_resolver() -> None:
    resolved.clear()
    ctx = FakeContext("u1")
    ok = _run('{ read(dataset: "open") }', ctx)
    assert ok.errors is None and ok.data == {"read": "open"}
    hidden = _run('{ read(dataset: "secret") }', ctx)
    assert isinstance(hidden.errors[0].original_error, NotFound)
    assert resolved == ["read open"]
    assert ctx.asked == ["open", "secret"]


def test_arguments_named_source_pass_through_the_check() -> None:
    r = _run('{ route(dataset: "open", source: "AVAL") }', FakeContext("u1"))
    assert r.errors is None and r.data == {"route": "open:AVAL:route"}


def test_anonymous_changes_are_asked_to_sign_in_before_the_lookup() -> None:
    resolved.clear()
    anonymous = FakeContext(None)
    r = _run('mutation { change(dataset: "secret") }', anonymous)
    e = r.errors[0].original_error
    assert isinstance(e, Unauthenticated)
    assert str(e) == "sign in with an API token before annotating a dataset"
    assert anonymous.asked == [] and resolved == []

    signed_in = FakeContext("u1")
    r = _run('mutation { change(dataset: "secret") }', signed_in)
    assert isinstance(r.errors[0].original_error, NotFound)
    r = _run('mutation { change(dataset: "open") }', signed_in)
    assert r.errors is None and resolved == ["change open"]
