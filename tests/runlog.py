"""The log of a whole test run, and the secrets that must never appear in it.

``tests/conftest.py`` sends every log record of the test process (INFO and up, and the
package's own DEBUG) to one file for the session and notes each API token the process
creates; ``tests/test_logs_hold_no_secrets.py``, run after every other test, reads that
file and the test Neo4j's own logs."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

#: the environment variable naming the run's log file
RUN_LOG_ENV: Final = "CONNECTOMEDB_TEST_RUN_LOG"

#: every full API token, whoever made it
TOKEN_RE: Final = re.compile(r"cdb_[0-9a-f]{16}_[A-Za-z0-9_\-]{43}")

#: API tokens created in this process (their secrets count even without the prefix)
TOKENS: list[str] = []


def start(level: int = logging.INFO) -> Path:
    """Send the process's log records to a new file; returns its path."""
    path = Path(tempfile.mkdtemp(prefix="connectomedb-test-run-")) / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    logging.getLogger("connectomedb").setLevel(logging.DEBUG)
    os.environ[RUN_LOG_ENV] = str(path)
    return path


def note_tokens() -> None:
    """Remember each API token this process creates from now on."""
    from connectomedb.store import access

    make = access.new_token

    def noted() -> tuple[str, str, str]:
        tid, token, digest = make()
        TOKENS.append(token)
        return tid, token, digest

    access.new_token = noted


def leaks(files: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    """``file:line: what`` for each line holding a full API token or one of
    ``secrets``."""
    wanted = [s for s in secrets if s]
    found = []
    for f in files:
        with f.open(encoding="utf-8", errors="replace") as lines:
            for n, line in enumerate(lines, 1):
                if m := TOKEN_RE.search(line):
                    found.append(f"{f}:{n}: an API token ({m[0][:20]}...)")
                for s in wanted:
                    if s in line:
                        found.append(f"{f}:{n}: a secret ({s[:4]}...)")
    return found


def token_secrets(tokens: Iterable[str]) -> list[str]:
    """The secret part of each token (what follows ``cdb_<id>_``)."""
    return [t.split("_", 2)[2] for t in tokens]
