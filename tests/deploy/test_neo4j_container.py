"""The tests' Neo4j from a container (CONNECTOMEDB_TEST_NEO4J=testcontainers, in
tests/conftest.py), checked where no Docker engine answers: the variable is read strictly,
the container matches docker/compose.yaml, and a run that asks for it without Docker
stops at once with one clear message instead of falling back to another Neo4j."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    TEST_NEO4J_CONF,
    TEST_NEO4J_ENV,
    TEST_NEO4J_IMAGE,
    Neo4jContainerError,
    wants_container,
)

ROOT = Path(__file__).resolve().parents[2]
#: A cheap test of this file, run in a child pytest to watch the session fixture act.
PROBE = f"{Path(__file__).relative_to(ROOT)}::test_probe"


def test_probe() -> None:
    assert TEST_NEO4J_ENV == "CONNECTOMEDB_TEST_NEO4J"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({TEST_NEO4J_ENV: ""}, False),
        ({TEST_NEO4J_ENV: "  "}, False),
        ({TEST_NEO4J_ENV: "testcontainers"}, True),
        ({TEST_NEO4J_ENV: " testcontainers\n"}, True),
        ({"CONNECTOMEDB_NEO4J_URI": "bolt://elsewhere:7687"}, False),
    ],
)
def test_only_testcontainers_asks_for_a_container(environ: dict[str, str], expected: bool) -> None:
    assert wants_container(environ) is expected


@pytest.mark.parametrize("value", ["1", "true", "docker", "Testcontainers", "neo4j:5.26"])
def test_any_other_value_is_refused(value: str) -> None:
    with pytest.raises(Neo4jContainerError, match="'testcontainers'") as e:
        wants_container({TEST_NEO4J_ENV: value})
    assert repr(value) in str(e.value)


def test_container_is_the_neo4j_of_the_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"] == TEST_NEO4J_IMAGE
    assert "apoc" in json.loads(TEST_NEO4J_CONF["NEO4J_PLUGINS"])
    for key, value in TEST_NEO4J_CONF.items():
        assert str(neo4j["environment"][key]) == value, key


def _child_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest on PROBE with a Docker engine that cannot answer: DOCKER_HOST names a socket
    that does not exist, and HOME an empty folder (no ~/.testcontainers.properties)."""
    child = {
        k: v
        for k, v in os.environ.items()
        if k not in (TEST_NEO4J_ENV, "TC_HOST", "TESTCONTAINERS_HOST_OVERRIDE", "DOCKER_CONTEXT")
    }
    child |= {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock", "HOME": str(tmp_path)}
    child |= env
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", PROBE],
        cwd=ROOT,
        env=child,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_asking_for_a_container_without_docker_stops_the_run(tmp_path: Path) -> None:
    proc = _child_pytest(tmp_path, **{TEST_NEO4J_ENV: "testcontainers"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert f"{TEST_NEO4J_ENV}=testcontainers, but Docker does not answer" in out
    assert "passed" not in out  # the probe never ran


def test_without_the_variable_the_same_run_passes(tmp_path: Path) -> None:
    """The control of the test above: only the variable makes the difference."""
    proc = _child_pytest(tmp_path)
    assert proc.returncode == pytest.ExitCode.OK, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
