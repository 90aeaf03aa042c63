"""Fast tests of the pure parts of connectomedb.localneo4j (no Neo4j is started)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from connectomedb import localneo4j
from connectomedb.errors import ConfigError
from connectomedb.settings import Settings


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(home=tmp_path / "neo4j", **kw)  # type: ignore[arg-type]


def _conf_values(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


def test_conf_has_ports_and_loopback_only(tmp_path: Path) -> None:
    s = _settings(tmp_path, bolt_port=17687, http_port=17474, heap_size="2g", pagecache_size="1g")
    conf = _conf_values(localneo4j.render_conf(s))
    assert conf["server.bolt.listen_address"] == ["127.0.0.1:17687"]
    assert conf["server.bolt.advertised_address"] == ["127.0.0.1:17687"]
    assert conf["server.http.listen_address"] == ["127.0.0.1:17474"]
    assert conf["server.default_listen_address"] == ["127.0.0.1"]
    assert conf["server.https.enabled"] == ["false"]
    assert conf["server.memory.heap.max_size"] == ["2g"]
    assert conf["server.memory.pagecache.size"] == ["1g"]
    for key, values in conf.items():
        if key.endswith("listen_address") or key.endswith("advertised_address"):
            assert all(v.startswith("127.0.0.1") for v in values), key
    assert "0.0.0.0" not in localneo4j.render_conf(s)


def test_conf_directories_inside_home(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    home = localneo4j.layout(s).home
    conf = _conf_values(localneo4j.render_conf(s))
    assert conf["server.directories.import"] == [str(home / "import")]
    for key in ("data", "logs", "run", "plugins"):
        assert conf[f"server.directories.{key}"] == [str(home / key)]
    assert conf["dbms.security.allow_csv_import_from_file_urls"] == ["true"]
    assert conf["dbms.security.procedures.unrestricted"] == ["apoc.*"]
    assert conf["dbms.usage_report.enabled"] == ["false"]
    assert "--add-opens=java.base/java.nio=ALL-UNNAMED" in conf["server.jvm.additional"]


def test_conf_template_has_no_unfilled_placeholders(tmp_path: Path) -> None:
    text = localneo4j.render_conf(_settings(tmp_path))
    assert "$" not in text


def test_write_conf_creates_layout(tmp_path: Path) -> None:
    s = _settings(tmp_path, bolt_port=17001)
    conf = localneo4j.write_conf(s)
    lay = localneo4j.layout(s)
    assert conf == lay.conf / "neo4j.conf"
    assert "127.0.0.1:17001" in conf.read_text()
    assert (lay.conf / "apoc.conf").is_file()
    for d in (lay.data, lay.logs, lay.import_dir, lay.run):
        assert d.is_dir()


def test_port_in_use_detects_a_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert localneo4j.port_in_use(port)
    assert not localneo4j.port_in_use(port)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "25" 2025-09-16 LTS', 25),
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ('openjdk version "22-ea" 2024-03-19', 22),
        ("openjdk 17.0.2 2022-01-18", 17),
        ("no java here", None),
    ],
)
def test_parse_java_version(text: str, expected: int | None) -> None:
    assert localneo4j.parse_java_version(text) == expected


def test_pom_pins_versions() -> None:
    v = localneo4j.pom_versions()
    assert v["neo4j.version"].startswith("5.26.")
    assert v["apoc.version"].startswith("5.26.")


def test_not_built_in_empty_home(tmp_path: Path) -> None:
    assert not localneo4j.is_built(_settings(tmp_path))


def test_java_home_without_java_is_a_config_error(tmp_path: Path) -> None:
    s = _settings(tmp_path, java_home=tmp_path / "nojdk")
    with pytest.raises(ConfigError, match="no bin/java"):
        localneo4j.find_java(s)


def test_old_java_is_refused(tmp_path: Path) -> None:
    jdk = tmp_path / "jdk11"
    (jdk / "bin").mkdir(parents=True)
    java = jdk / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    with pytest.raises(ConfigError, match="Java 11"):
        localneo4j.check_java(_settings(tmp_path, java_home=jdk))


def test_status_without_server(tmp_path: Path) -> None:
    st = localneo4j.status(_settings(tmp_path, bolt_port=17002))
    assert st["running"] is False
    assert st["pid"] is None
    assert st["answering"] is False
    assert st["uri"] == "bolt://127.0.0.1:17002"


def test_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    lay = localneo4j.layout(s)
    lay.run.mkdir(parents=True)
    lay.pid_file.write_text('{"pid": 999999999, "bolt_port": 7687, "http_port": 7474}')
    assert localneo4j.status(s)["running"] is False
    assert not lay.pid_file.exists()
    assert localneo4j.stop(s) is False


def test_start_refuses_external_uri(tmp_path: Path) -> None:
    s = _settings(tmp_path, neo4j_uri="bolt://db.example:7687")
    with pytest.raises(ConfigError, match="CONNECTOMEDB_NEO4J_URI"):
        localneo4j.start(s)
