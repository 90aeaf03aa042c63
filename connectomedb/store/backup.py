"""Backup and restore of the local store: Neo4j's own ``neo4j-admin database dump`` and
``load``, which Community edition allows with the server stopped.

A backup is one tar file (format ``connectomedb-backup-1``): ``manifest.json`` (format,
Neo4j version, time, the databases with their files, sizes and sha256, and the store's
node and relationship counts and datasets when the server was up to be asked), then the
dump of the data database and the dump of ``system``. The data database holds
everything connectomedb keeps (datasets, users, labs, API token hashes, jobs, runs);
``system`` holds Neo4j's own account (the ``neo4j`` user's password) and the database
list, so a restore loads it only when asked.

The server is stopped for the dump or load when this CLI started it (and started again
afterwards, also after a failure); a server that holds the store but was started some
other way is refused, found through the store lock it holds (Neo4j takes it with
``FileChannel.tryLock``, a POSIX record lock on Linux, which ``fcntl.lockf`` sees).

Nothing is left half-written: a backup is written under a temporary name and renamed
when complete; a restore checks the archive (manifest, checksums, ``load --info``)
before the server is touched, moves the current database aside, and moves it back if
the load fails.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from connectomedb import localneo4j
from connectomedb.errors import BadInput, ConfigError, ConnectomeDBError
from connectomedb.localneo4j import Console, Layout
from connectomedb.settings import Settings

FORMAT: Final = "connectomedb-backup-1"
MANIFEST: Final = "manifest.json"
SYSTEM: Final = "system"
#: The archive's two dumps: the data database's and ``system``'s.
DATA_DUMP: Final = "data.dump"
SYSTEM_DUMP: Final = "system.dump"
BACKUP_LOG: Final = "backup.log"

STORE_COUNTS: Final = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH (d:Dataset) RETURN collect(d.id) AS datasets }
RETURN nodes, relationships, datasets
"""


class BackupFailed(ConnectomeDBError):
    """``neo4j-admin`` could not dump or load a database."""

    code = "BACKUP_FAILED"


@dataclass(frozen=True)
class Restored:
    """What a restore did: the databases loaded, whether the server was started again,
    and the store's counts as the backup recorded them."""

    databases: tuple[str, ...]
    restarted: bool
    manifest: dict[str, Any]


def _say(console: Console | None, message: str) -> None:
    if console is not None:
        console.print(message, highlight=False)


def require_local(settings: Settings, what: str) -> None:
    """ConfigError for a server named by CONNECTOMEDB_NEO4J_URI: dump and load act on the
    files of a store, which only the local server's are."""
    if not settings.local:
        raise ConfigError(
            f"CONNECTOMEDB_NEO4J_URI is set ({settings.uri}): `connectomedb {what}` works on "
            "the local store only. For that server, run `neo4j-admin database dump` / `load` "
            "on its host with Neo4j stopped (or its own backup tools), or copy datasets one "
            "by one with `connectomedb export DATASET --format arrow` and "
            "`connectomedb load arrow --path FILE --id NEW`"
        )


def store_counts(settings: Settings) -> dict[str, Any]:
    """Nodes, relationships and dataset ids of the running local server's database."""
    from connectomedb.store.driver import make_driver

    # a driver of its own: one that ran queries before a load holds bookmarks the
    # loaded database never reaches
    with make_driver(settings) as d:
        recs, _, _ = d.execute_query(STORE_COUNTS, database_=settings.neo4j_database)
    r = recs[0]
    return {
        "nodes": int(r["nodes"]),
        "relationships": int(r["relationships"]),
        "datasets": sorted(r["datasets"]),
    }


# -- the server and its lock --------------------------------------------------------


def _locked_by_other(lay: Layout) -> bool:
    """Whether a process holds the store lock of the home's databases (Neo4j running)."""
    lock = lay.data / "databases" / "store_lock"
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)  # also releases the lock
    return False


def _ours_running(lay: Layout) -> bool:
    """Whether this CLI's server runs from ``lay``; ConfigError when another process
    holds the store."""
    if localneo4j._running(lay) is not None:
        return True
    if _locked_by_other(lay):
        raise ConfigError(
            f"the store in {lay.data} is in use by a Neo4j that `connectomedb neo4j start` "
            "did not start (it holds the store lock); stop that server first"
        )
    return False


@contextlib.contextmanager
def _server_stopped(settings: Settings, console: Console | None) -> Iterator[bool]:
    """The local server stopped for the block (True when it was running), started again
    afterwards, also when the block fails. A server this CLI did not start is refused."""
    lay = localneo4j.layout(settings)
    running = _ours_running(lay)
    if running:
        _say(console, "Stopping Neo4j for the dump or load (it is started again after)...")
        localneo4j.stop(settings)
    try:
        yield running
    finally:
        if running:
            localneo4j.start(settings, console=console)


def _admin(settings: Settings, java: str, log: Path, *args: str) -> tuple[int, str]:
    """Run ``neo4j-admin ARGS`` against the local home; its exit status and output (also
    appended to ``log``)."""
    lay = localneo4j.layout(settings)
    # its own session: the launcher runs the command in a second JVM, and an interrupt
    # must stop both
    proc = subprocess.Popen(
        localneo4j._java_cmd(java, lay, localneo4j.ADMIN, *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=localneo4j._env(lay),
        cwd=lay.home,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    with log.open("a", encoding="utf-8") as f:
        f.write(f"$ neo4j-admin {' '.join(args)}\n{out}\n")
    return proc.returncode, out


def _admin_error(out: str) -> str:
    """The line of neo4j-admin's output that says why it failed."""
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("Failed to ", "Unknown ")) or "ERROR" in ln:
            return ln.split("] ", 1)[-1]
    return lines[-1] if lines else "no output"


# -- archive ------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_name(now: float | None = None) -> str:
    """``connectomedb-backup-YYYYmmdd-HHMMSS.tar`` (UTC)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"connectomedb-backup-{stamp}.tar"


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a backup archive, checked: BadInput naming what is wrong."""
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if not path.is_file():
        raise BadInput(f"{path}: not a file (give the backup's .tar file)")
    if not tarfile.is_tarfile(path):
        raise BadInput(f"{path}: not a connectomedb backup (not a tar archive)")
    try:
        with tarfile.open(path) as tar:
            try:
                member = tar.getmember(MANIFEST)
            except KeyError:
                raise BadInput(f"{path}: not a connectomedb backup (no {MANIFEST})") from None
            f = tar.extractfile(member)
            if f is None:
                raise BadInput(f"{path}: {MANIFEST} is not a file")
            m = json.loads(f.read().decode("utf-8"))
            names = set(tar.getnames())
    except (tarfile.TarError, OSError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"{path}: unreadable backup: {e}") from e
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        got = m.get("format") if isinstance(m, dict) else None
        raise BadInput(f"{path}: format is {got!r}; this version reads {FORMAT!r}")
    dbs = m.get("databases")
    if not isinstance(dbs, dict) or "data" not in dbs:
        raise BadInput(f"{path}: {MANIFEST} lists no data database")
    for key, db in dbs.items():
        if not isinstance(db, dict) or db.get("file") not in names:
            raise BadInput(f"{path}: the dump of the {key} database is missing")
    return m


def backup(settings: Settings, out: Path, console: Console | None = None) -> Path:
    """Dump the local store's data database and ``system`` into one archive at ``out``
    (a directory gets :func:`default_name`); the path written.

    The server is stopped for the dump if this CLI started it, and started again.
    """
    require_local(settings, "backup")
    lay = localneo4j.layout(settings)
    db = settings.neo4j_database
    if not (lay.data / "databases" / db).is_dir():
        raise ConfigError(f"no database {db!r} in {lay.data}: nothing to back up")
    running = _ours_running(lay)
    out = out.expanduser()
    target = out / default_name() if out.is_dir() else out
    if target.exists():
        raise BadInput(f"{target} already exists; give another name or a directory")
    if not target.parent.is_dir():
        raise BadInput(f"{target.parent}: no such directory")
    java = localneo4j.check_java(settings, console)
    localneo4j.write_conf(settings)
    counts = store_counts(settings) if running else None
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        dumps = work / "dumps"
        dumps.mkdir()
        log = lay.logs / BACKUP_LOG
        log.unlink(missing_ok=True)
        with _server_stopped(settings, console):
            _say(console, f"Dumping {db!r} and {SYSTEM!r}...")
            rc, text = _admin(settings, java, log, "database", "dump", "*", f"--to-path={dumps}")
        made = {p.name for p in dumps.iterdir()}
        if rc != 0 or not {f"{db}.dump", f"{SYSTEM}.dump"} <= made:
            raise BackupFailed(f"neo4j-admin dump failed: {_admin_error(text)} (see {log})")
        files = {"data": (db, dumps / f"{db}.dump", DATA_DUMP)}
        files["system"] = (SYSTEM, dumps / f"{SYSTEM}.dump", SYSTEM_DUMP)
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "neo4j": localneo4j.pom_versions()["neo4j.version"],
            "databases": {
                key: {"name": name, "file": arc, "bytes": p.stat().st_size, "sha256": _sha256(p)}
                for key, (name, p, arc) in files.items()
            },
            "store": counts,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial = work / "backup.tar"
        with tarfile.open(partial, "w") as tar:  # the dumps are compressed already
            tar.add(work / MANIFEST, MANIFEST)
            for _, p, arc in files.values():
                tar.add(p, arc)
        os.replace(partial, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


# -- restore ------------------------------------------------------------------------


def _extract(path: Path, manifest: dict[str, Any], key: str, dest: Path) -> None:
    """The dump of database ``key`` into ``dest``, its size and checksum checked."""
    entry = manifest["databases"][key]
    h = hashlib.sha256()
    size = 0
    with tarfile.open(path) as tar:
        src = tar.extractfile(entry["file"])
        if src is None:
            raise BadInput(f"{path}: {entry['file']} is not a file")
        with src, dest.open("wb") as f:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
                f.write(chunk)
    if size != entry.get("bytes") or h.hexdigest() != entry.get("sha256"):
        raise BadInput(f"{path}: the dump of the {key} database is damaged (checksum differs)")


def _store_dirs(lay: Layout, name: str) -> list[Path]:
    return [lay.data / "databases" / name, lay.data / "transactions" / name]


def _holds_data(settings: Settings, lay: Layout, running: bool) -> str | None:
    """Why the store counts as not empty (None when it is empty)."""
    if running:
        n = store_counts(settings)["nodes"]
        return f"the database {settings.neo4j_database!r} holds {n:,} nodes" if n else None
    db = lay.data / "databases" / settings.neo4j_database
    if db.is_dir() and any(db.iterdir()):
        return (
            f"a database {settings.neo4j_database!r} exists in {lay.data} "
            "(the server is stopped, so it was not read)"
        )
    return None


def restore(
    settings: Settings,
    path: Path,
    *,
    force: bool = False,
    system: bool = False,
    console: Console | None = None,
) -> Restored:
    """Load a backup into the local store: the data database, and ``system`` too when
    ``system`` (Neo4j's own account as it was then). Refuses a store with data unless
    ``force``. The server is stopped for the load if this CLI started it, and started
    again."""
    require_local(settings, "restore")
    path = path.expanduser()
    manifest = read_manifest(path)
    if system and "system" not in manifest["databases"]:
        raise BadInput(f"{path}: holds no dump of the system database")
    lay = localneo4j.layout(settings)
    # refused before anything is unpacked
    why = _holds_data(settings, lay, _ours_running(lay))
    if why is not None and not force:
        raise BadInput(f"{why}; `connectomedb restore --force` replaces it with the backup")
    java = localneo4j.check_java(settings, console)
    localneo4j.ensure_built(settings, console)
    localneo4j.write_conf(settings)
    db = settings.neo4j_database
    names = {"data": db, **({"system": SYSTEM} if system else {})}
    log = lay.logs / BACKUP_LOG
    log.unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=lay.home))
    done = False
    try:
        dumps = work / "dumps"
        dumps.mkdir()
        for key, name in names.items():
            _extract(path, manifest, key, dumps / f"{name}.dump")
        rc, text = _admin(
            settings, java, log, "database", "load", "--info", "*", f"--from-path={dumps}"
        )
        if rc != 0:
            raise BadInput(f"{path}: not a loadable Neo4j dump: {_admin_error(text)}")

        with _server_stopped(settings, console) as restarted:
            _say(console, f"Loading {', '.join(repr(n) for n in names.values())}...")
            _load(settings, java, log, work, dumps, list(names.values()))
        done = True
        return Restored(tuple(names.values()), restarted, manifest)
    finally:
        # after a failure whose previous databases could not be moved back, they stay
        # in work/aside (the error names it)
        if done or not any(p.is_file() for p in (work / "aside").rglob("*")):
            shutil.rmtree(work, ignore_errors=True)


def _load(
    settings: Settings, java: str, log: Path, work: Path, dumps: Path, names: list[str]
) -> None:
    """``neo4j-admin database load`` of every dump in ``dumps`` with the current databases
    moved aside first and moved back if the load fails."""
    lay = localneo4j.layout(settings)
    aside = work / "aside"
    moved: list[tuple[Path, Path]] = []
    for name in names:
        for d in _store_dirs(lay, name):
            if d.exists():
                to = aside / d.parent.name / name
                to.parent.mkdir(parents=True, exist_ok=True)
                d.rename(to)
                moved.append((to, d))
    try:
        rc, text = _admin(
            settings,
            java,
            log,
            "database",
            "load",
            "*",
            f"--from-path={dumps}",
            "--overwrite-destination=true",
        )
        if rc != 0:
            raise BackupFailed(f"neo4j-admin load failed: {_admin_error(text)} (see {log})")
    except BaseException as e:
        try:
            for name in names:
                for d in _store_dirs(lay, name):
                    shutil.rmtree(d, ignore_errors=True)
            for to, d in moved:
                to.rename(d)
        except OSError as back:
            raise BackupFailed(
                f"{e}; moving the previous databases back failed ({back}): they are in {aside}"
            ) from e
        raise
