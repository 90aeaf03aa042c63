"""``connectomedb backup`` and ``restore`` on a Neo4j of this module's own (the shared test
server is never stopped): a store with two synthetic datasets (one with synapses, one
with its stored statistics), a lab, a user and API tokens, backed up, changed, restored
(in place, and into a home that never held a store), and found as it was, node for
node; the refusals (a store with data, a damaged dump, a server this CLI did not start)
leave the store as it was; a load that fails puts the previous database back.

The tests run in order on one server: each leaves the store as the backup holds it."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from connectomedb import localneo4j
from connectomedb.cli import app
from connectomedb.errors import Unauthenticated
from connectomedb.settings import Settings
from connectomedb.store import backup
from connectomedb.store.access import AccessRepository
from connectomedb.store.driver import make_driver
from connectomedb.store.fingerprint import FULL, dataset_fingerprint
from connectomedb.store.graphdb import Store, make_async_driver
from tests.loaders.test_bulk import dump

TOKEN = re.compile(r"API token \(shown once, keep it secret\): (cdb_([0-9a-f]{16})_\S+)")
SYNTHETIC = "syn_backup"
SMALL = "small_backup"
USER = "t_backup_user"


def run(server: Settings, *args: str) -> Result:
    """``connectomedb ARGS`` against ``server``."""
    env = {
        "COLUMNS": "200",
        "CONNECTOMEDB_NEO4J_URI": None,
        "CONNECTOMEDB_HOME": str(server.home),
        "CONNECTOMEDB_BOLT_PORT": str(server.bolt_port),
        "CONNECTOMEDB_HTTP_PORT": str(server.http_port),
        "CONNECTOMEDB_HEAP_SIZE": server.heap_size,
        "CONNECTOMEDB_PAGECACHE_SIZE": server.pagecache_size,
        "CONNECTOMEDB_NEO4J_USER": server.neo4j_user,
        "CONNECTOMEDB_NEO4J_PASSWORD": server.neo4j_password.get_secret_value(),
        "CONNECTOMEDB_NEO4J_DATABASE": server.neo4j_database,
        "CONNECTOMEDB_DATA_CACHE": str(server.data_cache),
    }
    return CliRunner().invoke(app, list(args), env=env)


def ok(server: Settings, *args: str) -> Result:
    res = run(server, *args)
    assert res.exit_code == 0, res.output
    return res


def fingerprint(server: Settings, ds: str) -> str:
    async def go() -> str:
        d = make_async_driver(server)
        try:
            return await dataset_fingerprint(Store(d, server.neo4j_database, 60), ds, FULL)
        finally:
            await d.close()

    return asyncio.run(go())


def who(server: Settings, token: str) -> str:
    """The user a token signs in as (Unauthenticated when it does not)."""

    async def go() -> str:
        d = make_async_driver(server)
        try:
            repo = AccessRepository(Store(d, server.neo4j_database, 60))
            return (await repo.authenticate(token)).user_id or ""
        finally:
            await d.close()

    return asyncio.run(go())


def pid(server: Settings) -> int | None:
    return localneo4j.status(server)["pid"]


@dataclass
class Before:
    """The store as it was backed up."""

    server: Settings
    tokens: list[str]
    fingerprints: dict[str, str]
    store: dict[str, Any]


def check_as_before(b: Before) -> None:
    """Every node, relationship, index and fingerprint as before, and the tokens sign in."""
    assert {ds: fingerprint(b.server, ds) for ds in b.fingerprints} == b.fingerprints
    assert dump(b.server) == b.store
    assert [who(b.server, t) for t in b.tokens] == [USER, USER]


@pytest.fixture(scope="module")
def before(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Before]:
    """A second Neo4j holding two synthetic datasets and a lab member with two API
    tokens."""
    s = localneo4j.side_settings(settings, tmp_path_factory.mktemp("neo4j-backup"))
    try:
        localneo4j.start(s)
        ok(
            s,
            *("load", "synthetic", "--neurons", "150", "--connections", "900", "--synapses"),
            *("--seed", "3", "--id", SYNTHETIC, "--no-warm"),
        )
        ok(s, "load", "synthetic", "--neurons", "40", "--connections", "100", "--id", SMALL)
        tokens = [TOKEN.search(ok(s, "user", "create", USER, "--lab", "t_backup_lab").stdout)]
        tokens.append(TOKEN.search(ok(s, "token", "create", USER).stdout))
        assert all(tokens)
        yield Before(
            s,
            [m[1] for m in tokens if m],
            {ds: fingerprint(s, ds) for ds in (SMALL, SYNTHETIC)},
            dump(s),
        )
    finally:
        localneo4j.stop(s)


@pytest.fixture(scope="module")
def archive(before: Before, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``connectomedb backup --out DIR`` of the running server."""
    out = tmp_path_factory.mktemp("backups")
    started = pid(before.server)
    res = ok(before.server, "backup", "--out", str(out))
    [path] = list(out.iterdir())  # nothing else: the temporary files are gone
    assert re.fullmatch(r"connectomedb-backup-\d{8}-\d{6}\.tar", path.name)
    assert res.stdout.splitlines()[-2].startswith(f"wrote {path} (")
    # stopped for the dump and started again
    assert localneo4j.status(before.server)["answering"]
    assert pid(before.server) != started
    return path


def test_backup_holds_both_databases_and_the_store_counts(before: Before, archive: Path) -> None:
    m = backup.read_manifest(archive)
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["manifest.json", "data.dump", "system.dump"]
        for key, db in m["databases"].items():
            f = tar.extractfile(db["file"])
            assert f is not None
            assert hashlib.sha256(f.read()).hexdigest() == db["sha256"]
            assert db["name"] == {"data": "neo4j", "system": "system"}[key]
    labels, types = before.store["labels"], before.store["types"]
    assert m["format"] == "connectomedb-backup-1"
    assert m["store"] == {
        "nodes": len(before.store["nodes"]),
        "relationships": sum(types.values()),
        "datasets": [SMALL, SYNTHETIC],
    }
    assert labels["Neuron"] == 40 + 150 and labels["Synapse"] > 900
    check_as_before(before)  # the dump changed nothing


def test_restore_refuses_a_store_with_data_without_force(before: Before, archive: Path) -> None:
    started = pid(before.server)
    res = run(before.server, "restore", str(archive))
    assert res.exit_code == 1
    n = len(before.store["nodes"])
    assert res.stderr.strip() == (
        f"error: the database 'neo4j' holds {n:,} nodes; "
        "`connectomedb restore --force` replaces it with the backup"
    )
    assert pid(before.server) == started  # not stopped


def test_a_damaged_archive_is_refused_before_the_server_is_touched(
    before: Before, archive: Path, tmp_path: Path
) -> None:
    m = backup.read_manifest(archive)
    garbage = b"not a dump " * 1000

    def with_data_dump(name: str, manifest: dict[str, Any]) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w") as tar:
            for member, data in (
                ("manifest.json", json.dumps(manifest).encode()),
                ("data.dump", garbage),
            ):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    started = pid(before.server)
    entry = {"name": "neo4j", "file": "data.dump", "bytes": len(garbage)}
    wrong_sum = with_data_dump(
        "sum.tar", {**m, "databases": {"data": {**entry, "sha256": "0" * 64}}}
    )
    res = run(before.server, "restore", str(wrong_sum), "--force")
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        f"error: {wrong_sum}: the dump of the data database is damaged (checksum differs)"
    )
    sha = hashlib.sha256(garbage).hexdigest()
    not_dump = with_data_dump("garbage.tar", {**m, "databases": {"data": {**entry, "sha256": sha}}})
    res = run(before.server, "restore", str(not_dump), "--force")
    assert res.exit_code == 1
    # Neo4j's own words: the file is not a zstd (nor gzip) dump
    assert res.stderr.startswith(
        f"error: {not_dump}: not a loadable Neo4j dump: Failed to get metadata for archive "
    )
    assert "Unknown frame descriptor" in res.stderr
    assert pid(before.server) == started
    assert localneo4j.status(before.server)["answering"]


def test_a_server_this_cli_did_not_start_is_refused(before: Before, archive: Path) -> None:
    """Without its pid file, the running server is one that `neo4j start` did not start:
    its store lock says it runs, and neither command touches it."""
    lay = localneo4j.layout(before.server)
    kept = lay.pid_file.read_bytes()
    lay.pid_file.unlink()
    try:
        for args in (
            ("backup", "--out", str(archive.parent)),
            ("restore", str(archive), "--force"),
        ):
            res = run(before.server, *args)
            assert res.exit_code == 1, res.output
            assert res.stderr.strip() == (
                f"error: the store in {lay.data} is in use by a Neo4j that `connectomedb "
                "neo4j start` did not start (it holds the store lock); stop that server first"
            )
    finally:
        lay.pid_file.write_bytes(kept)
    assert localneo4j.status(before.server)["answering"]
    assert len(list(archive.parent.iterdir())) == 1


def test_restore_brings_back_every_node_relationship_and_token(
    before: Before, archive: Path
) -> None:
    s = before.server
    ok(s, "dataset", "delete", SYNTHETIC)
    ok(s, "token", "revoke", before.tokens[0].split("_")[1])
    with make_driver(s) as d:
        d.execute_query("MATCH (n:Cell {dataset: $ds}) WITH n LIMIT 1 DETACH DELETE n", ds=SMALL)
        d.execute_query("CREATE (:Stray {n: 1})")
    with pytest.raises(Unauthenticated):
        who(s, before.tokens[0])
    assert fingerprint(s, SMALL) != before.fingerprints[SMALL]

    started = pid(s)
    res = ok(s, "restore", str(archive), "--force")
    assert res.stdout.splitlines()[-1] == (
        f"{len(before.store['nodes']):,} nodes, "
        f"{sum(before.store['types'].values()):,} relationships, 2 datasets"
    )
    assert pid(s) not in (started, None)
    check_as_before(before)
    assert not list(s.home.glob(".restore-*"))


def test_a_failed_load_puts_the_previous_database_back(
    before: Before, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the server stopped: neo4j-admin's load fails after it began writing; the
    database that was there comes back, file for file."""
    s = before.server
    localneo4j.stop(s)
    lay = localneo4j.layout(s)

    def files() -> dict[str, str]:
        return {
            str(p.relative_to(lay.data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for d in backup._store_dirs(lay, "neo4j")
            for p in sorted(d.rglob("*"))
            if p.is_file()
        }

    was = files()

    def failing(settings: Settings, java: str, log: Path, *args: str) -> tuple[int, str]:
        if "--info" in args:
            return 0, "Format: Neo4j ZSTD Dump."
        for d in backup._store_dirs(lay, "neo4j"):  # half a database, then the failure
            d.mkdir(parents=True)
            (d / "neostore").write_bytes(b"half")
        return 1, "2026-01-01 ERROR [o.n.c.d.LoadCommand] Failed to load database 'neo4j': No space"

    monkeypatch.setattr(backup, "_admin", failing)
    res = run(s, "restore", str(archive), "--force")
    assert res.exit_code == 1
    assert res.stderr.startswith(
        "error: neo4j-admin load failed: Failed to load database 'neo4j': No space (see "
    )
    assert files() == was
    assert not list(s.home.glob(".restore-*"))


def test_restore_onto_a_new_machine_with_the_system_database(
    before: Before, archive: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    s = before.server
    localneo4j.stop(s)
    res = run(s, "restore", str(archive), "--system")
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        f"error: a database 'neo4j' exists in {localneo4j.layout(s).data} (the server is "
        "stopped, so it was not read); `connectomedb restore --force` replaces it with the "
        "backup"
    )
    # a home that never held a store: nothing to replace, so no --force
    fresh = localneo4j.side_settings(s, tmp_path_factory.mktemp("neo4j-fresh"))
    try:
        res = ok(fresh, "restore", str(archive), "--system")
        lines = res.stdout.splitlines()
        assert lines[-2].startswith(f"restored neo4j, system from {archive} (backed up ")
        assert lines[-1] == "start it with `connectomedb neo4j start`"
        assert pid(fresh) is None
        localneo4j.start(fresh)  # the restored system database knows the same password
        check_as_before(replace(before, server=fresh))
    finally:
        localneo4j.stop(fresh)


def test_errors_name_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home", bolt_port=localneo4j.free_port())
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"\x00\x01garbage" * 300)
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        data = json.dumps({"format": "connectomedb-backup-9"}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    no_manifest = tmp_path / "plain.tar"
    with tarfile.open(no_manifest, "w") as tar:
        tar.add(garbage, "x")
    for path, message in (
        (tmp_path / "nope.tar", "no such file"),
        (tmp_path, "not a file (give the backup's .tar file)"),
        (garbage, "not a connectomedb backup (not a tar archive)"),
        (no_manifest, "not a connectomedb backup (no manifest.json)"),
        (other, "format is 'connectomedb-backup-9'; this version reads 'connectomedb-backup-1'"),
    ):
        res = run(s, "restore", str(path))
        assert res.exit_code == 1
        assert res.stderr.strip() == f"error: {path}: {message}"
    res = run(s, "backup", "--out", str(tmp_path))
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        f"error: no database 'neo4j' in {s.home.resolve()}/data: nothing to back up"
    )
    assert not (s.home / "data").exists()


def test_a_remote_server_is_refused_with_what_to_use(tmp_path: Path) -> None:
    env = {"COLUMNS": "200", "CONNECTOMEDB_NEO4J_URI": "bolt://db.example:7687"}
    for args in (("backup", "--out", str(tmp_path)), ("restore", str(tmp_path / "b.tar"))):
        res = CliRunner().invoke(app, list(args), env=env)
        assert res.exit_code == 1
        assert res.stderr.startswith(
            "error: CONNECTOMEDB_NEO4J_URI is set (bolt://db.example:7687): "
            f"`connectomedb {args[0]}` works on the local store only. For that server, run "
            "`neo4j-admin database dump` / `load` on its host"
        )
        assert "`connectomedb export DATASET --format arrow`" in res.stderr
    assert list(tmp_path.iterdir()) == []
