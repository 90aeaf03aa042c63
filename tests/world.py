"""The ``world`` fixture: a live API server (uvicorn in a thread, real HTTP) over the real
Neo4j, with Cook 2019 loaded as a private dataset of lab A and a cast of users in labs A
and B (registered for every test package by ``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import neo4j
import pytest
import uvicorn

from connectomedb.loaders.functional import (
    BENTLEY_FILES,
    RANDI_STRAINS,
    BentleySource,
    MeasurementLoad,
    MeasurementLoader,
    MeasurementSource,
    RandiAtlasSource,
)
from connectomedb.loaders.registry import make_source
from connectomedb.loaders.wheels import WORMNEUROATLAS, WORMNEUROATLAS_VERSION, fetch_wheel
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.service.app import create_app
from connectomedb.settings import Settings
from connectomedb.store.access import SET_OWNER_IF_NONE, AccessRepository
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.graphdb import Store, make_async_driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Client:
    """POSTs GraphQL over HTTP, optionally with a bearer token."""

    url: str
    token: str | None = None
    last_queries: int | None = None

    def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        h = dict(headers)
        if self.token is not None:
            h.setdefault("Authorization", f"Bearer {self.token}")
        r = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=h,
            timeout=60,
        )
        if "x-neo4j-queries" in r.headers:
            self.last_queries = int(r.headers["x-neo4j-queries"])
        return r

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a successful request; fails the test on any error."""
        body = self.raw(query, variables).json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def error(self, query: str, **variables: Any) -> tuple[str, str]:
        """(code, message) of the first error of a request that must fail."""
        body = self.raw(query, variables).json()
        assert body.get("errors"), f"expected an error, got {body}"
        e = body["errors"][0]
        return e["extensions"]["code"], e["message"]


def run_access(settings: Settings, fn: Any) -> Any:
    async def go() -> Any:
        d = make_async_driver(settings)
        try:
            return await fn(AccessRepository(Store(d, settings.neo4j_database, 30)))
        finally:
            await d.close()

    return asyncio.run(go())


@dataclass
class World:
    url: str
    cook: str
    lab_a: str
    lab_b: str
    tokens: dict[str, str]
    users: dict[str, str]

    def client(self, who: str | None = None) -> Client:
        return Client(self.url, self.tokens[who] if who else None)


@pytest.fixture(scope="session")
def world(driver: neo4j.Driver, settings: Settings) -> Iterator[World]:
    tag = uuid.uuid4().hex[:8]
    cook = f"t_api_cook_{tag}"
    src = make_source("cook2019", settings.data_cache)
    src.meta = src.meta.model_copy(update={"id": cook})
    lab_a, lab_b = f"t_labA_{tag}", f"t_labB_{tag}"
    users = {
        role: f"t_{role}_{tag}" for role in ("admin", "alice", "carol", "victor", "bob", "dave")
    }
    DatasetWriter(driver, settings.neo4j_database).load(src)
    driver.execute_query(SET_OWNER_IF_NONE, lab=lab_a, dataset=cook)

    async def cast(repo: AccessRepository) -> dict[str, str]:
        await repo.create_lab(None, lab_b, "Lab B")
        await repo.create_user(None, users["admin"], "Site admin", admin=True)
        for who in ("alice", "carol", "victor", "bob", "dave"):
            await repo.create_user(None, users[who], who)
        await repo.add_member(None, lab_a, users["alice"], "admin")
        await repo.add_member(None, lab_a, users["carol"], "editor")
        await repo.add_member(None, lab_a, users["victor"], "viewer")
        await repo.add_member(None, lab_b, users["bob"], "admin")
        await repo.add_member(None, lab_b, users["dave"], "editor")
        return {
            who: (await repo.create_token(None, "test", uid))["token"] for who, uid in users.items()
        }

    tokens = run_access(settings, cast)
    try:
        with LiveServer(settings) as url:
            yield World(url, cook, lab_a, lab_b, tokens, users)
    finally:
        delete_dataset(driver, cook)
        driver.execute_query(
            "MATCH (n) WHERE (n:User OR n:Lab) AND n.id ENDS WITH $tag "
            "OPTIONAL MATCH (n)-[:HAS_TOKEN]->(t) DETACH DELETE n, t",
            tag=tag,
        )
        driver.execute_query("MATCH (a:Annotation {dataset: $ds}) DETACH DELETE a", ds=cook)


@pytest.fixture(scope="session")
def atlas(world: World, driver: neo4j.Driver, settings: Settings) -> dict[str, MeasurementLoad]:
    """The signal propagation atlas (both strains) and Bentley 2016's extrasynaptic
    connectomes loaded onto the world's Cook 2019, by set id."""
    wheel = fetch_wheel(WORMNEUROATLAS, WORMNEUROATLAS_VERSION, settings.data_cache)
    loader = MeasurementLoader(driver, settings.neo4j_database)
    sources: list[MeasurementSource] = [RandiAtlasSource(wheel, s) for s in RANDI_STRAINS]
    sources += [BentleySource(wheel, f) for f in BENTLEY_FILES]
    return {src.meta.id: loader.load(src, world.cook) for src in sources}
