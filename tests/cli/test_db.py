"""``connectomedb db init`` on a database that already has the schema."""

from __future__ import annotations

import re

from connectomedb.schema.graph import expected_names
from tests.cli.conftest import cli


def test_init_is_idempotent(driver: object) -> None:  # the fixture has run init_schema
    res = cli("db", "init")
    assert res.exit_code == 0, res.output
    m = re.fullmatch(
        r"schema ready: (\d+) constraints and indexes, (\d+) created now", res.stdout.strip()
    )
    assert m is not None, res.stdout
    assert (int(m[1]), int(m[2])) == (len(expected_names()), 0)
