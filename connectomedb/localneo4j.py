"""The local Neo4j server: built from Maven Central jars, run from ``settings.home``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any, Protocol

from connectomedb.errors import ConfigError, ConnectomeDBError
from connectomedb.settings import Settings

#: Package data (``connectomedb/neo4jhome/``): the Maven pom that lays the home out and
#: the configuration files written into home/conf. Read through importlib.resources, so
#: they are found in an installed wheel as well as in a checkout.
NEO4J_HOME_FILES: Traversable = resources.files("connectomedb.neo4jhome")
POM: Traversable = NEO4J_HOME_FILES / "pom.xml"
CONF_TEMPLATE: Traversable = NEO4J_HOME_FILES / "neo4j.conf.template"
APOC_CONF: Traversable = NEO4J_HOME_FILES / "apoc.conf"

MIN_JAVA = 17
SUPPORTED_JAVA = (17, 21)
LAUNCHER = "org.neo4j.server.startup.Neo4jCommand"
ADMIN = "org.neo4j.server.startup.Neo4jAdminCommand"
SERVER_MAIN = "org.neo4j.server.CommunityEntryPoint"
PID_FILE = "connectomedb-neo4j.pid"
AUTH_FILES = ("auth.ini", "auth")
LOCK_PATTERNS = (
    "store_lock",
    "Lock file has been locked by another process",
    "FileLockException",
    "database_lock",
    "Neo4j is already running",
)
_BORING_LINE = re.compile(r"^\s*(at |\.\.\. \d+ more|Caused by: $|$)")


class Console(Protocol):
    """Anything with a rich-like ``print``."""

    def print(self, *objects: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Layout:
    """Paths of one local Neo4j home: the home and its folders, each named as Neo4j
    names it (``import_dir`` is ``import``)."""

    home: Path
    lib: Path = field(init=False)
    plugins: Path = field(init=False)
    conf: Path = field(init=False)
    data: Path = field(init=False)
    logs: Path = field(init=False)
    import_dir: Path = field(init=False)
    run: Path = field(init=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            if not f.init:
                name = "import" if f.name == "import_dir" else f.name
                object.__setattr__(self, f.name, self.home / name)

    @property
    def pid_file(self) -> Path:
        return self.run / PID_FILE

    @property
    def console_log(self) -> Path:
        return self.logs / "console.log"

    @property
    def auth_marker(self) -> Path | None:
        for name in AUTH_FILES:
            p = self.data / "dbms" / name
            if p.exists():
                return p
        return None


def layout(settings: Settings) -> Layout:
    """The home directory of the local server, made absolute."""
    return Layout(settings.home.expanduser().resolve())


def _say(console: Console | None, message: str) -> None:
    if console is not None:
        console.print(message, highlight=False)


# -- Java and Maven -------------------------------------------------------------


def parse_java_version(text: str) -> int | None:
    """Feature version from ``java -version`` output (``1.8.0_x`` gives 8, ``17.0.2`` gives 17)."""
    m = re.search(r'version "([^"]+)"', text)
    if m is None:
        m = re.search(r"^(?:openjdk|java)\s+(\d[\w.+-]*)", text, re.MULTILINE)
    if m is None:
        return None
    parts = re.findall(r"\d+", m.group(1))
    if not parts:
        return None
    major = int(parts[0])
    if major == 1 and len(parts) > 1:
        major = int(parts[1])
    return major


def find_java(settings: Settings) -> str:
    """Java executable: settings.java_home, else $JAVA_HOME, else ``java`` on PATH."""
    for label, home in (
        ("CONNECTOMEDB_JAVA_HOME", settings.java_home),
        ("JAVA_HOME", os.environ.get("JAVA_HOME") or None),
    ):
        if home is None:
            continue
        java = Path(home).expanduser() / "bin" / "java"
        if not java.is_file():
            raise ConfigError(f"{label}={home} has no bin/java")
        return str(java)
    found = shutil.which("java")
    if found is None:
        raise ConfigError(
            f"java not found: install a JDK {MIN_JAVA} or set CONNECTOMEDB_JAVA_HOME/JAVA_HOME"
        )
    return found


def java_version(java: str) -> int:
    """Feature version of the given java executable."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"cannot run {java} -version: {e}") from e
    version = parse_java_version(out.stderr + out.stdout)
    if version is None:
        raise ConfigError(f"cannot tell the version of {java}")
    return version


def check_java(settings: Settings, console: Console | None = None) -> str:
    """The java executable to use; ConfigError unless it is Java 17 or newer."""
    java = find_java(settings)
    version = java_version(java)
    if version < MIN_JAVA:
        raise ConfigError(
            f"{java} is Java {version}; Neo4j 5.26 needs Java 17 or 21 (set CONNECTOMEDB_JAVA_HOME)"
        )
    if version not in SUPPORTED_JAVA:
        _say(
            console,
            f"warning: {java} is Java {version}; Neo4j 5.26 supports Java 17 and 21 "
            "(set CONNECTOMEDB_JAVA_HOME)",
        )
    return java


def pom_versions(pom: Traversable = POM) -> dict[str, str]:
    """``neo4j.version`` and ``apoc.version`` as the pom pins them."""
    try:
        text = pom.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {pom} (package data of connectomedb): {e}") from e
    out = {}
    for key in ("neo4j.version", "apoc.version"):
        m = re.search(rf"<{re.escape(key)}>([^<]+)</{re.escape(key)}>", text)
        if m is None:
            raise ConfigError(f"{pom} does not set <{key}>")
        out[key] = m.group(1).strip()
    return out


def is_built(settings: Settings) -> bool:
    """True when home/lib and home/plugins hold the jars of the versions the pom pins."""
    lay = layout(settings)
    v = pom_versions()
    return (lay.lib / f"neo4j-{v['neo4j.version']}.jar").is_file() and (
        lay.plugins / f"apoc-core-{v['apoc.version']}.jar"
    ).is_file()


def _last_meaningful_line(text: str, prefer: str | None = None) -> str:
    lines = [ln.strip() for ln in text.splitlines() if not _BORING_LINE.match(ln)]
    if prefer is not None:
        hits = [ln for ln in lines if prefer in ln]
        if hits:
            return hits[-1]
    return lines[-1] if lines else ""


def ensure_built(settings: Settings, console: Console | None = None) -> Path:
    """Lay out Neo4j and APOC jars under settings.home with Maven unless already there."""
    lay = layout(settings)
    if is_built(settings):
        return lay.home
    if _running(lay) is not None:
        raise ConfigError(f"Neo4j is running from {lay.home}; stop it before rebuilding")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ConfigError(f"mvn not found: Maven is needed once to lay out Neo4j under {lay.home}")
    for stale in (lay.lib, lay.plugins):
        if stale.exists():
            shutil.rmtree(stale)
    lay.home.mkdir(parents=True, exist_ok=True)
    v = pom_versions()
    _say(
        console,
        f"Laying out Neo4j {v['neo4j.version']} and APOC {v['apoc.version']} under "
        f"{lay.home} (Maven, first time only)...",
    )
    env = dict(os.environ)
    java = find_java(settings)
    env.setdefault("JAVA_HOME", str(Path(java).resolve().parents[1]))
    started = time.monotonic()
    # as_file: Maven needs a real file (a zipped install gets a temporary copy); it writes
    # nothing next to the pom, only under -Dneo4j.home and ~/.m2.
    with resources.as_file(POM) as pom:
        cmd = [mvn, "-q", "-B", "-f", str(pom), f"-Dneo4j.home={lay.home}", "package"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0 or not is_built(settings):
        line = _last_meaningful_line(proc.stdout + proc.stderr, prefer="[ERROR]")
        raise ConfigError(f"building Neo4j with Maven failed: {line or 'no output'}")
    _say(console, f"Neo4j laid out in {time.monotonic() - started:.0f}s")
    return lay.home


# -- configuration ----------------------------------------------------------------


def render_conf(settings: Settings, template: str | None = None) -> str:
    """neo4j.conf for these settings."""
    lay = layout(settings)
    text = template if template is not None else CONF_TEMPLATE.read_text(encoding="utf-8")
    return Template(text).substitute(
        bolt_port=settings.bolt_port,
        http_port=settings.http_port,
        heap_size=settings.heap_size,
        pagecache_size=settings.pagecache_size,
        data_dir=lay.data,
        logs_dir=lay.logs,
        import_dir=lay.import_dir,
        run_dir=lay.run,
        plugins_dir=lay.plugins,
    )


def write_conf(settings: Settings) -> Path:
    """Write home/conf/neo4j.conf (and apoc.conf) and create the directories it names."""
    lay = layout(settings)
    for d in (lay.conf, lay.data, lay.logs, lay.import_dir, lay.run, lay.plugins):
        d.mkdir(parents=True, exist_ok=True)
    conf = lay.conf / "neo4j.conf"
    conf.write_text(render_conf(settings), encoding="utf-8")
    if APOC_CONF.is_file():
        (lay.conf / "apoc.conf").write_bytes(APOC_CONF.read_bytes())
    return conf


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing can bind host:port (another listener holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the system's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def side_settings(
    base: Settings, home: Path, heap: str = "512m", pagecache: str = "512m"
) -> Settings:
    """Settings for another local server under ``home`` on free ports (a drill, a bulk
    load into a store of its own), beside the one of ``base``; its jars are links to
    ``base``'s home's when that one is built (no rebuild), else Maven lays them out
    on its first start."""
    main = base.model_copy(update={"neo4j_uri": None})
    if is_built(main):
        main_home = layout(main).home.resolve()
        for d in ("lib", "plugins"):
            (home / d).symlink_to(main_home / d)
    return base.model_copy(
        update={
            "home": home,
            "bolt_port": free_port(),
            "http_port": free_port(),
            "neo4j_uri": None,
            "heap_size": heap,
            "pagecache_size": pagecache,
        }
    )


def _env(lay: Layout) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_OPTS", "HEAP_SIZE")}
    env["NEO4J_HOME"] = str(lay.home)
    env["NEO4J_CONF"] = str(lay.conf)
    return env


def _java_cmd(java: str, lay: Layout, main: str, *args: str) -> list[str]:
    return [java, "-cp", f"{lay.lib}/*", f"-Dbasedir={lay.home}", main, *args]


def set_initial_password(settings: Settings, java: str) -> bool:
    """Set the neo4j user's password before the first start; False when already done."""
    lay = layout(settings)
    if lay.auth_marker is not None:
        return False
    pw = settings.neo4j_password.get_secret_value()
    proc = subprocess.run(
        _java_cmd(java, lay, ADMIN, "dbms", "set-initial-password", pw),
        capture_output=True,
        text=True,
        env=_env(lay),
        cwd=lay.home,
        check=False,
    )
    if proc.returncode != 0 or lay.auth_marker is None:
        line = _last_meaningful_line(proc.stdout + proc.stderr)
        raise ConfigError(f"setting the initial Neo4j password failed: {line or 'no output'}")
    return True


# -- processes --------------------------------------------------------------------


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _group_members(pgid: int) -> list[int] | None:
    """Live processes of a process group, or None where /proc is unavailable."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _is_ours(pid: int, lay: Layout) -> bool:
    cmd = _cmdline(pid)
    if cmd is None:
        return True
    return (LAUNCHER in cmd or SERVER_MAIN in cmd) and str(lay.home) in cmd


def _group_alive(pgid: int, lay: Layout) -> bool:
    _reap(pgid)
    members = _group_members(pgid)
    if members is None:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return any(_is_ours(p, lay) for p in members)


def _read_pid_file(lay: Layout) -> dict[str, Any] | None:
    try:
        data = json.loads(lay.pid_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return None
    return data


def _running(lay: Layout) -> dict[str, Any] | None:
    """The pid file's record when its process group is alive; removes a stale pid file."""
    info = _read_pid_file(lay)
    if info is None:
        if lay.pid_file.exists():
            lay.pid_file.unlink(missing_ok=True)
        return None
    if _group_alive(info["pid"], lay):
        return info
    lay.pid_file.unlink(missing_ok=True)
    return None


def _clear_stale_server_pid(lay: Layout) -> None:
    """Remove Neo4j's own run/neo4j.pid when it names no live Neo4j server (after a kill -9)."""
    f = lay.run / "neo4j.pid"
    try:
        pid = int(f.read_text().strip())
    except (OSError, ValueError):
        return
    if not Path("/proc/self").exists():
        return
    cmd = _cmdline(pid)
    if cmd is None or SERVER_MAIN not in cmd:
        f.unlink(missing_ok=True)


def _auth(settings: Settings) -> tuple[str, str]:
    return settings.neo4j_user, settings.neo4j_password.get_secret_value()


def _probe(uri: str, auth: tuple[str, str], with_version: bool = False) -> tuple[bool, str | None]:
    """(answering, version) for a Bolt URI; AuthError propagates."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    try:
        with GraphDatabase.driver(uri, auth=auth, connection_timeout=5.0) as driver:
            driver.verify_connectivity()
            if not with_version:
                return True, None
            records, _, _ = driver.execute_query(
                "CALL dbms.components() YIELD versions RETURN versions[0] AS v",
                database_="system",
            )
            return True, (records[0]["v"] if records else None)
    except AuthError:
        raise
    except (DriverError, Neo4jError, OSError):
        return False, None


def _tail(path: Path, max_bytes: int = 65536) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _failure_message(lay: Layout) -> str:
    text = _tail(lay.console_log)
    if any(p in text for p in LOCK_PATTERNS):
        return (
            f"the data directory {lay.data} is locked by another Neo4j process; stop that one first"
        )
    line = _last_meaningful_line(_tail(lay.console_log), prefer="ERROR")
    return f"Neo4j exited during start-up: {line or 'no output'} (see {lay.console_log})"


# -- public API ---------------------------------------------------------------------


def status(settings: Settings) -> dict[str, Any]:
    """running, pid, uri, answering and version of the local server."""
    lay = layout(settings)
    info = _running(lay)
    port = info.get("bolt_port", settings.bolt_port) if info else settings.bolt_port
    uri = f"bolt://127.0.0.1:{port}"
    answering, version = False, None
    if info is not None:
        from neo4j.exceptions import AuthError

        try:
            answering, version = _probe(uri, _auth(settings), with_version=True)
        except AuthError:
            answering = False
    return {
        "running": info is not None,
        "pid": info["pid"] if info else None,
        "uri": uri,
        "answering": answering,
        "version": version,
        "home": str(lay.home),
    }


def _kill_group(pgid: int, lay: Layout) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _group_alive(pgid, lay) and time.monotonic() < deadline:
        time.sleep(0.1)


def _wait_until_answering(
    settings: Settings,
    lay: Layout,
    pid: int,
    uri: str,
    proc: subprocess.Popen[bytes] | None,
) -> None:
    from neo4j.exceptions import AuthError

    deadline = time.monotonic() + settings.start_timeout_s
    while True:
        exited = proc is not None and proc.poll() is not None
        if exited or not _group_alive(pid, lay):
            _kill_group(pid, lay)
            lay.pid_file.unlink(missing_ok=True)
            raise ConfigError(_failure_message(lay))
        try:
            answering, _ = _probe(uri, _auth(settings))
        except AuthError as e:
            if proc is not None:
                stop(settings)
            raise ConfigError(
                f"Neo4j at {uri} rejected user {settings.neo4j_user!r}: the password is set "
                f"only before the first start, and {lay.data} was first started with another"
            ) from e
        if answering:
            return
        if time.monotonic() >= deadline:
            if proc is not None:
                stop(settings)
            raise ConfigError(
                f"Neo4j did not answer on {uri} within {settings.start_timeout_s:.0f}s "
                f"(see {lay.console_log})"
            )
        time.sleep(0.5)


def start(settings: Settings, console: Console | None = None) -> dict[str, Any]:
    """Build if needed, start the local server in the background, wait until Bolt answers."""
    if not settings.local:
        raise ConfigError(f"CONNECTOMEDB_NEO4J_URI is set ({settings.uri}); nothing to start")
    lay = layout(settings)
    info = _running(lay)
    if info is not None:
        ports = (info.get("bolt_port"), info.get("http_port"))
        if ports != (settings.bolt_port, settings.http_port):
            raise ConfigError(
                f"the data directory {lay.data} is locked by a running Neo4j "
                f"(pid {info['pid']}, bolt port {ports[0]}); stop it first"
            )
        uri = f"bolt://127.0.0.1:{settings.bolt_port}"
        _wait_until_answering(settings, lay, info["pid"], uri, None)
        _say(console, f"Neo4j is already running (pid {info['pid']}) on {uri}")
        return status(settings)

    java = check_java(settings, console)
    ensure_built(settings, console)
    for name, port in (("bolt", settings.bolt_port), ("http", settings.http_port)):
        if port_in_use(port):
            raise ConfigError(f"port {port} ({name}) on 127.0.0.1 is already in use")
    write_conf(settings)
    _clear_stale_server_pid(lay)
    if set_initial_password(settings, java):
        _say(console, f"Initial password set for user {settings.neo4j_user!r}")

    uri = f"bolt://127.0.0.1:{settings.bolt_port}"
    _say(console, f"Starting Neo4j from {lay.home} on {uri}...")
    started = time.monotonic()
    if lay.console_log.exists():
        lay.console_log.replace(lay.console_log.with_name(lay.console_log.name + ".1"))
    with lay.console_log.open("wb") as log:
        proc = subprocess.Popen(
            _java_cmd(java, lay, LAUNCHER, "console"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(lay),
            cwd=lay.home,
            start_new_session=True,
        )
    lay.pid_file.write_text(
        json.dumps(
            {
                "pid": proc.pid,
                "bolt_port": settings.bolt_port,
                "http_port": settings.http_port,
                "java": java,
                "started_at": time.time(),
            }
        )
    )
    try:
        _wait_until_answering(settings, lay, proc.pid, uri, proc)
    except KeyboardInterrupt:
        stop(settings)
        raise
    _say(console, f"Neo4j is up on {uri} (pid {proc.pid}, {time.monotonic() - started:.1f}s)")
    return status(settings)


def stop(settings: Settings, timeout: float = 60, console: Console | None = None) -> bool:
    """SIGTERM the server's process group, SIGKILL after timeout; False when none was running."""
    lay = layout(settings)
    info = _running(lay)
    if info is None:
        _say(console, "Neo4j is not running")
        return False
    pgid = info["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _group_alive(pgid, lay) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(pgid, lay):
        _say(console, f"Neo4j did not stop within {timeout:g}s; killing it")
        _kill_group(pgid, lay)
        if _group_alive(pgid, lay):
            raise ConfigError(f"Neo4j process group {pgid} survived SIGKILL")
    lay.pid_file.unlink(missing_ok=True)
    _say(console, f"Neo4j stopped (pid {pgid})")
    return True


# -- offline import (neo4j-admin database import full) ---------------------------------

#: Between the elements of an array value in import CSVs: the ASCII unit separator, a
#: character no name or label in a connectome holds (the default ``;`` may).
ARRAY_DELIMITER = "\x1f"
IMPORT_LOG = "import.log"
_STAGE = re.compile(r"^(.*?), started \d{4}-\d{2}-\d{2} ")
#: text the importer prints without a line break before the first stage's name
_STAGE_PREFIX = re.compile(r"^WARNING: .*\d(?:[KMGT]i)?B(?=[A-Z])")
_INPUT_ERROR = re.compile(r"^\s*original error: (.+)$", re.MULTILINE)
_INPUT_SOURCE = re.compile(r"source:([^,\]]+)")
_INPUT_FIELD = re.compile(r"^\s*in field: (\S+?)(?::\d+)?$", re.MULTILINE)
_EXCEPTION = re.compile(r"^(?:Caused by: )?(?:[\w$]+\.)+[\w$]*(?:Exception|Error): (.+)$")


class ImportFailed(ConnectomeDBError):
    """``neo4j-admin database import`` exited with an error; ``line`` is the importer's
    own account of it."""

    code = "IMPORT_FAILED"

    def __init__(self, message: str, line: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ImportFiles:
    """One ``--nodes`` or ``--relationships`` group: its labels (a relationship group has
    one, its type) and its files, the header file first."""

    labels: tuple[str, ...]
    files: tuple[Path, ...]

    def arg(self) -> str:
        for f in self.files:
            if "," in str(f):
                raise ConfigError(f"neo4j-admin import cannot read {f}: its path holds a comma")
        return ":".join(self.labels) + "=" + ",".join(str(f) for f in self.files)


def import_args(
    database: str,
    nodes: list[ImportFiles],
    relationships: list[ImportFiles],
    *,
    report_file: Path,
    max_off_heap: str,
    multiline: bool = False,
) -> list[str]:
    """The arguments after ``Neo4jAdminCommand`` of a full import that overwrites
    ``database``. Node ids are integers (each file names its id space); any bad entry
    stops the import (``--bad-tolerance=0``); ``--verbose`` makes the importer print the
    row and field it failed on."""
    if not nodes:
        raise ValueError("an import needs at least one group of node files")
    return [
        "database",
        "import",
        "full",
        database,  # before the repeatable options, which would take it for a file
        "--overwrite-destination=true",
        "--id-type=integer",
        f"--array-delimiter=U+{ord(ARRAY_DELIMITER):04X}",
        "--bad-tolerance=0",
        f"--multiline-fields={'true' if multiline else 'false'}",
        f"--max-off-heap-memory={max_off_heap}",
        f"--report-file={report_file}",
        "--verbose",
        *(f"--nodes={g.arg()}" for g in nodes),
        *(f"--relationships={g.arg()}" for g in relationships),
    ]


def import_stage(line: str) -> str | None:
    """The stage an importer output line starts (``Nodes``, ``Relationship linking``...),
    or None."""
    m = _STAGE.match(_STAGE_PREFIX.sub("", line.strip()))
    return m.group(1) if m else None


def import_error_line(output: str) -> str:
    """The importer's own account of why it failed: for bad input, its ``original error``
    with the file and field it was reading; else the innermost exception's message; else
    the last line that says anything."""
    m = _INPUT_ERROR.search(output)
    if m is not None:
        where = []
        src = _INPUT_SOURCE.search(output, 0, m.start())
        if src is not None:
            where.append(Path(src.group(1)).name)
        field = _INPUT_FIELD.search(output, 0, m.start())
        if field is not None:
            where.append(f"field {field.group(1)}")
        return m.group(1).strip() + (f" ({', '.join(where)})" if where else "")
    causes = [m.group(1).strip() for ln in output.splitlines() if (m := _EXCEPTION.match(ln))]
    if causes:
        return causes[-1]
    return _last_meaningful_line(output, prefer="IMPORT FAILED")


def import_full(
    settings: Settings,
    nodes: list[ImportFiles],
    relationships: list[ImportFiles],
    *,
    report_file: Path,
    multiline: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> None:
    """Replace the database ``settings.neo4j_database`` of the stopped local server with the
    given CSV files through ``neo4j-admin database import full``.

    The importer's output goes to ``logs/import.log``; ``on_stage(name)`` hears each stage
    it starts. Off-heap memory is capped at the page cache size: the server is down, so
    that much is free. Raises ImportFailed with the importer's own error line.
    """
    lay = layout(settings)
    if _running(lay) is not None:
        raise ConfigError(f"Neo4j is running from {lay.home}; stop it before an import")
    java = check_java(settings)
    write_conf(settings)  # the importer's heap is the server's (server.memory.heap.*)
    args = import_args(
        settings.neo4j_database,
        nodes,
        relationships,
        report_file=report_file,
        max_off_heap=settings.pagecache_size,
        multiline=multiline,
    )
    log_path = lay.logs / IMPORT_LOG
    with log_path.open("w", encoding="utf-8") as log:
        # its own session: the launcher starts the importer in a second JVM, and an
        # interrupt must stop both
        proc = subprocess.Popen(
            _java_cmd(java, lay, ADMIN, *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_env(lay),
            cwd=lay.home,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # universal newlines: each \r-redrawn bar is a line
                log.write(line)
                if on_stage is not None and (stage := import_stage(line)) is not None:
                    on_stage(stage)
            rc = proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if rc != 0:
        line = import_error_line(_tail(log_path, 1 << 20)) or f"exit status {rc}"
        raise ImportFailed(f"neo4j-admin import failed: {line} (see {log_path})", line)


def empty_database(settings: Settings, workdir: Path) -> None:
    """Make ``settings.neo4j_database`` of the stopped local server an empty store again
    (an import of nothing: what a failed import leaves is not fit to start)."""
    header = workdir / "empty.header.csv"
    header.write_text(":ID(Empty)\n", encoding="utf-8")
    data = workdir / "empty.csv"
    data.write_text("", encoding="utf-8")
    import_full(
        settings,
        [ImportFiles(("Empty",), (header, data))],
        [],
        report_file=workdir / "empty.report",
    )
