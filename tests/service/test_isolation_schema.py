"""Isolation generated from the schema and the routes, not from a hand list: every root
field that takes a dataset (by the server's own rule, ``names_dataset``; a field that
returns a Dataset by ``id``; a job by ``id``), and every HTTP route with a dataset in its
path, asked about a private dataset of another lab by a signed-in outsider and by an
anonymous caller, answers exactly as it does for a dataset that does not exist: the same
status, the same error code and message (the id aside), and no data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import partial
from typing import Any

import graphql
import httpx
import pytest
from fastapi.routing import APIRoute

from connectomedb.service.app import create_app
from connectomedb.settings import Settings
from tests.bench import load_bench
from tests.service import operations as ops

fuzz = load_bench("fuzz")

GHOST = "t_no_such_dataset_0"
GHOST_JOB = "job-no-such-job-0"
#: the outsiders: the home lab's editor and admin (strangers to the other lab), anonymous
CALLERS = ("editor", "manager", None)


def probes() -> list[tuple[str, str, str, str]]:
    """(kind, field, argument, what) for each argument of a root field that names a
    dataset (what = "dataset") or a job (what = "job")."""
    found = []
    for kind, name, f in ops.roots():
        returned = graphql.get_named_type(f.type).name
        for a in ops.dataset_arguments(f):
            found.append((kind, name, a, "dataset"))
        if "id" in f.args and returned == "Dataset":
            found.append((kind, name, "id", "dataset"))
        if "id" in f.args and returned == "Job":
            found.append((kind, name, "id", "job"))
    return found


PROBES = probes()


def test_the_walk_finds_the_fields_that_take_a_dataset() -> None:
    """The generated list is not empty by mistake: it holds fields of every kind, both
    sides of a two-dataset field, and nothing that does not name a dataset or job."""
    names = {(name, arg) for _, name, arg, _ in PROBES}
    assert {("neurons", "dataset"), ("dataset", "id"), ("motifSearch", "dataset")} <= names
    assert {("compareArchitecture", "datasetA"), ("compareArchitecture", "datasetB")} <= names
    assert {("submitJob", "dataset"), ("annotateNeuron", "dataset"), ("job", "id")} <= names
    assert ("cancelJob", "id") in names
    assert ("lab", "id") not in names
    assert len(PROBES) >= 25


def masked(body: Any, name: str) -> str:
    """The answer as text with the probed id replaced."""
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
    return text.replace(name, "<id>")


def ask(url: str, cast: Any, who: str | None, op: ops.Operation) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {cast.tokens[who]}"} if who else {}
    r = httpx.post(
        f"{url}/graphql",
        json={"query": op.text, "variables": op.variables},
        headers=headers,
        timeout=60,
    )
    return r.status_code, r.json()


@pytest.mark.parametrize("who", CALLERS, ids=lambda w: w or "anonymous")
@pytest.mark.parametrize(("kind", "field", "argument", "what"), PROBES)
def test_a_private_dataset_answers_as_a_missing_one(
    url: str, cast: Any, who: str | None, kind: str, field: str, argument: str, what: str
) -> None:
    f = dict((n, f) for _, n, f in ops.roots())[field]
    plausible = ops.plausible_values(cast)
    hidden, ghost = (cast.private, GHOST) if what == "dataset" else (cast.jobs[1], GHOST_JOB)
    answers = []
    for target in (hidden, ghost):
        op = ops.operation(kind, field, f, plausible, {argument: target})
        status, body = ask(url, cast, who, op)
        assert body.get("data") is None, f"{field}({argument}:) answered with data: {body}"
        answers.append((status, masked(body, target)))
    assert answers[0] == answers[1], f"{field}({argument}:) tells a {what} it hides from none"
    body = json.loads(answers[0][1])
    code = body["errors"][0]["extensions"]["code"]
    # Anonymous callers of a mutation are asked to sign in before anything is looked up.
    expected = "UNAUTHENTICATED" if who is None and kind == "mutation" else "NOT_FOUND"
    assert code == expected, f"{field}({argument}:) answered {code}"


def app_routes(routes: Any, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every route, inside included routers too."""
    for r in routes:
        inner = getattr(r, "original_router", None)  # FastAPI's lazily included routers
        if inner is not None:
            yield from app_routes(inner.routes, prefix + r.include_context.prefix)
        elif isinstance(r, APIRoute):
            yield prefix + r.path, r


def dataset_routes(settings: Settings) -> list[tuple[str, str, dict[str, str]]]:
    """(path, what, required query parameters) of the GET routes with a dataset
    (``{dataset}``, ``{ds}``) or a job (``{job_id}``) in the path."""
    found = []
    for path, r in app_routes(create_app(settings).routes):
        if "GET" not in (r.methods or set()):
            continue
        query = {p.alias: "100" for p in r.dependant.query_params if p.field_info.is_required()}
        if re.search(r"\{(dataset|ds)\}", path):
            found.append((path, "dataset", query))
        elif "{job_id}" in path:
            found.append((path, "job", query))
    return sorted(found)


def fill_in(values: dict[str, str], m: re.Match[str]) -> str:
    return values[m.group(1)]


ROUTE_VALUES = {"neuron": "100", "nid": "100", "direction": "upstream"}


def test_the_routes_with_a_dataset_are_found(settings: Settings) -> None:
    paths = [p for p, _, _ in dataset_routes(settings)]
    assert "/rest/datasets/{dataset}/neurons" in paths
    assert "/export/datasets/{dataset}" in paths
    assert any(p.startswith("/dashboard/") for p in paths)


@pytest.mark.parametrize("who", CALLERS, ids=lambda w: w or "anonymous")
def test_every_dataset_route_answers_as_for_a_missing_dataset(
    url: str, cast: Any, settings: Settings, who: str | None
) -> None:
    headers = {"Authorization": f"Bearer {cast.tokens[who]}"} if who else {}
    leaks = []
    for path, what, query in dataset_routes(settings):
        answers = []
        for target in (cast.private, GHOST) if what == "dataset" else (cast.jobs[1], GHOST_JOB):
            values = {**ROUTE_VALUES, "dataset": target, "ds": target, "job_id": target}
            filled = re.sub(r"\{(\w+)\}", partial(fill_in, values), path)
            r = httpx.get(f"{url}{filled}", params=query, headers=headers, timeout=60)
            answers.append((r.status_code, masked(r.text, target)))
        if answers[0] != answers[1] or answers[0][0] != 404:
            leaks.append(f"{path}: {answers[0][0]} vs {answers[1][0]}")
    assert not leaks, leaks
