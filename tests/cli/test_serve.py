"""``connectomedb serve`` (with uvicorn replaced) and ``connectomedb schema export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.cli.conftest import cli


def test_serve_prints_the_url_and_an_example(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    res = cli("serve", "--host", "127.0.0.1", "--port", "8765", "--example", "cook")
    assert res.exit_code == 0, res.output
    assert "GraphQL API on http://127.0.0.1:8765/graphql" in res.stdout
    assert "curl -s http://127.0.0.1:8765/graphql" in res.stdout
    assert 'neuron(dataset: \\"cook\\", id: \\"AVAL\\")' in res.stdout
    assert (started["host"], started["port"]) == ("127.0.0.1", 8765)
    assert started["app"] is not None


def test_schema_export_writes_the_sdl(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    res = cli("schema", "export", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"wrote {out}"
    sdl = out.read_text(encoding="utf-8")
    assert "type Query {" in sdl
    assert "neuron(" in sdl
