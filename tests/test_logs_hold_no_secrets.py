"""No API token and no password in any log line of a whole test run: the test process's
log (every API server the tests run in-process logs there) and the test Neo4j's logs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from connectomedb.localneo4j import layout
from connectomedb.settings import Settings
from tests import runlog


def test_the_scan_finds_tokens_secrets_and_passwords(tmp_path: Path) -> None:
    token = "cdb_0123456789abcdef_" + "x" * 43
    log = tmp_path / "a.log"
    log.write_text(
        "fine\n"
        f"Authorization: Bearer {token}\n"
        "secret part alone: " + "y" * 43 + "\n"
        "password=hunter2-hunter2\n"
    )
    found = runlog.leaks([log], [*runlog.token_secrets(["cdb_0123456789abcdef_" + "y" * 43]),
                                 "hunter2-hunter2"])  # fmt: skip
    assert [f.split(": ", 1)[0] for f in found] == [f"{log}:2", f"{log}:3", f"{log}:4"]


def test_the_run_log_records_this_process(caplog: pytest.LogCaptureFixture) -> None:
    path = Path(os.environ[runlog.RUN_LOG_ENV])
    logging.getLogger("connectomedb.test").warning("run log probe")
    for h in logging.getLogger().handlers:
        h.flush()
    assert "run log probe" in path.read_text(encoding="utf-8")


@pytest.mark.last
def test_no_token_or_password_in_any_log_line_of_the_run(settings: Settings) -> None:
    for h in logging.getLogger().handlers:
        h.flush()
    files = [Path(os.environ[runlog.RUN_LOG_ENV])]
    if settings.neo4j_uri is None:  # the local server's own logs
        files += sorted(layout(settings).logs.glob("*.log"))
    secrets = [
        *runlog.TOKENS,
        *runlog.token_secrets(runlog.TOKENS),
        settings.neo4j_password.get_secret_value(),
    ]
    found = runlog.leaks(files, secrets)
    assert not found, "\n".join(found[:20])
