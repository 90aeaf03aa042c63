"""A second local Neo4j, started and stopped for real on its own home and ports."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectomedb import localneo4j
from connectomedb.errors import ConfigError
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver


def _processes_under(home: Path) -> list[int]:
    """Live (non-zombie) processes whose command line mentions ``home``."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if str(home) in cmd and state != "Z":
            out.append(int(pid))
    return out


@pytest.fixture(scope="module")
def second(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings for a second server (:func:`localneo4j.side_settings`)."""
    s = localneo4j.side_settings(
        settings, tmp_path_factory.mktemp("neo4j-second"), pagecache="128m"
    )
    yield s
    localneo4j.stop(s)


def test_start_apoc_stop_leaves_nothing(second: Settings) -> None:
    localneo4j.start(second)
    d = make_driver(second)
    try:
        recs, _, _ = d.execute_query("RETURN apoc.version() AS v")
        assert recs[0]["v"].startswith("5.26")
        recs, _, _ = d.execute_query(
            "SHOW SETTINGS YIELD name, value WHERE name = 'server.bolt.listen_address' RETURN value"
        )
        assert recs[0]["value"] == f"127.0.0.1:{second.bolt_port}"
    finally:
        d.close()
    st = localneo4j.status(second)
    assert st["running"] and st["answering"]
    # a second instance on the same home (other ports) is refused: the store is locked
    other = second.model_copy(
        update={"bolt_port": localneo4j.free_port(), "http_port": localneo4j.free_port()}
    )
    with pytest.raises(ConfigError, match="locked"):
        localneo4j.start(other)
    localneo4j.stop(second)
    assert _processes_under(second.home) == []
    assert not localneo4j.status(second)["running"]


def test_port_taken_is_refused(second: Settings) -> None:
    with socket.socket() as s:
        # the previous test's server used this port; its closed connections may still be
        # in TIME_WAIT, which only a listener with SO_REUSEADDR may ignore
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", second.bolt_port))
        s.listen()
        with pytest.raises(ConfigError, match=f"port {second.bolt_port}"):
            localneo4j.start(second)
    assert _processes_under(second.home) == []
