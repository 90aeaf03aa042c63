"""``connectomedb neo4j``: status of the server the tests run against."""

from __future__ import annotations

from connectomedb.settings import Settings
from tests.cli.conftest import cli


def test_status_of_the_running_server(settings: Settings) -> None:
    res = cli("neo4j", "status")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert "answering: True" in lines
    assert f"uri: {settings.uri}" in lines
