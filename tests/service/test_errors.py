"""Every error a client sees carries ``extensions.code``; unexpected ones are masked and
logged (the schema executed directly: no server, no database)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectomedb.errors import NotFound
from connectomedb.service.schema import build_schema
from connectomedb.store.access import Principal

SCHEMA = build_schema()


def _errors(query: str, context: object = None) -> list[dict]:
    r = asyncio.run(SCHEMA.execute(query, context_value=context))
    assert r.errors, r
    return [e.formatted for e in r.errors]


def test_syntax_errors_are_bad_input() -> None:
    (e,) = _errors("{ datasets { id ")
    assert e["extensions"] == {"code": "BAD_INPUT"}
    assert "Syntax Error" in e["message"]


def test_validation_errors_are_bad_input() -> None:
    (e,) = _errors("{ datasets { nope } }")
    assert e["extensions"] == {"code": "BAD_INPUT"}
    assert "nope" in e["message"]


class Hidden:
    principal = Principal(user_id="u1")

    async def dataset(self, dataset: str) -> object:
        raise NotFound(f"dataset {dataset!r} not found")


def test_our_errors_keep_their_code_and_message() -> None:
    (e,) = _errors('{ dataset(id: "x") { id } }', Hidden())
    assert e["extensions"] == {"code": "NOT_FOUND"}
    assert e["message"] == "dataset 'x' not found"
    assert e["path"] == ["dataset"]


class Broken:
    principal = Principal(user_id="u1")

    async def dataset(self, dataset: str) -> object:
        raise RuntimeError("secret detail: password=hunter2")


def test_unexpected_errors_are_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="connectomedb.api"):
        (e,) = _errors('query Peek { dataset(id: "x") { id } }', Broken())
    assert e["extensions"] == {"code": "INTERNAL"}
    assert e["message"] == "internal error" and "hunter2" not in str(e)
    (rec,) = [r for r in caplog.records if r.name == "connectomedb.api"]
    assert rec.getMessage() == "internal error in Peek at dataset"
    assert rec.exc_info is not None and "hunter2" in str(rec.exc_info[1])
