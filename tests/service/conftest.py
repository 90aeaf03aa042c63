"""Fixtures of the hostile-input tests (test_fuzz, test_injection, test_isolation_schema):
the cast of users and datasets bench/fuzz.py prepares, and a live API of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import neo4j
import pytest

from connectomedb.settings import Settings
from tests.bench import load_bench
from tests.world import LiveServer


@pytest.fixture(scope="module")
def cast(driver: neo4j.Driver, settings: Settings) -> Iterator[Any]:
    """bench/fuzz.py's labs, users, tokens and datasets (one public, one private), made
    for the module and removed after it."""
    with load_bench("fuzz").prepared(driver, settings) as c:
        yield c


@pytest.fixture(scope="module")
def url(settings: Settings) -> Iterator[str]:
    """A live API of the module's own."""
    with LiveServer(settings) as u:
        yield u
