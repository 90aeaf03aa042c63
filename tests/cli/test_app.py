"""The command tree, the entry point and the start-up cost."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import import_module
from pathlib import Path

import typer

from connectomedb.cli import app

ROOT = Path(__file__).resolve().parents[2]

COMMANDS = {
    "load",
    "datasets",
    "export",
    "serve",
    "mcp",
    "backup",
    "restore",
    "worker",
    "scheduler",
    "neo4j start",
    "neo4j stop",
    "neo4j status",
    "db init",
    "dataset show",
    "dataset delete",
    "dataset visibility",
    "dataset warm",
    "user create",
    "token create",
    "token revoke",
    "lab create",
    "lab add-member",
    "schema export",
    "job kinds",
    "job submit",
    "job show",
    "job cancel",
}


def _leaves(cmd: object, path: tuple[str, ...] = ()) -> set[str]:
    subs = getattr(cmd, "commands", None)
    if subs is None:
        return {" ".join(path)}
    return {leaf for name, sub in subs.items() for leaf in _leaves(sub, (*path, name))}


def test_every_command_is_wired() -> None:
    assert _leaves(typer.main.get_command(app)) == COMMANDS


def test_the_entry_point_names_the_app() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, _, attr = project["project"]["scripts"]["connectomedb"].partition(":")
    assert getattr(import_module(module), attr) is app


def test_python_dash_m_knows_the_job_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "connectomedb.cli", "job", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for name in ("submit", "show", "cancel"):
        assert name in out.stdout


def test_start_up_loads_neither_the_driver_nor_the_store() -> None:
    probe = (
        "import sys, connectomedb.cli; "
        "print(sorted(m for m in sys.modules if m == 'neo4j' or m.startswith("
        "('connectomedb.store', 'connectomedb.service', 'connectomedb.loaders', 'numpy'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
