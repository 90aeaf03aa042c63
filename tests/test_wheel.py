"""The wheel, installed into a fresh venv outside the checkout, runs the README's commands:
``neo4j start`` (Maven lays the home out from the packaged pom), ``db init``,
``load cook2019``, ``serve`` answering over HTTP, and ``neo4j stop``.

A second Neo4j runs on free ports with its own home and little memory, so the server
the other tests use is left alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from connectomedb import localneo4j
from connectomedb.settings import Settings
from tests.oracles import cook_matrix, wheel_zip

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# Not copied into the build tree: virtual environments, Neo4j homes, build outputs, caches.
BUILD_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    ".neo4j*",
    ".env",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*_cache",
)
TAIL_CHARS = 4000


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def _run(
    cmd: Sequence[str | Path], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a step; on failure, fail the test with the command, its exit status and output."""
    args = [str(c) for c in cmd]
    shown = " ".join(args)
    try:
        proc = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        pytest.fail(
            f"`{shown}` ran past {timeout:.0f}s\n--- stdout\n{_tail(out or '')}\n"
            f"--- stderr\n{_tail(err or '')}",
            pytrace=False,
        )
    if proc.returncode != 0:
        pytest.fail(
            f"`{shown}` exited {proc.returncode}\n--- stdout\n{_tail(proc.stdout)}\n"
            f"--- stderr\n{_tail(proc.stderr)}",
            pytrace=False,
        )
    return proc


def _free_ports(n: int) -> list[int]:
    """n distinct ports nothing listens on (all bound at once, then released)."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def _clean_env(**settings: object) -> dict[str, str]:
    """The environment without this checkout's venv or settings, plus ``CONNECTOMEDB_*``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CONNECTOMEDB_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update({f"CONNECTOMEDB_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def _wait_for_health(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"`connectomedb serve` exited {proc.returncode} during start-up\n"
                f"--- output\n{_tail(log.read_text(errors='replace'))}",
                pytrace=False,
            )
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            pytest.fail(
                f"{url} did not answer 200 within {timeout:.0f}s\n"
                f"--- output\n{_tail(log.read_text(errors='replace'))}",
                pytrace=False,
            )
        time.sleep(0.5)


def _stop(cli: Path, work: Path, env: dict[str, str], home: Path) -> str | None:
    """``connectomedb neo4j stop``; the error to report, or None. Whatever the installed CLI
    did, the second server is not left running."""
    try:
        proc = subprocess.run(
            [str(cli), "neo4j", "stop"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        error = (
            None
            if proc.returncode == 0
            else f"`connectomedb neo4j stop` exited {proc.returncode}\n"
            f"--- stderr\n{_tail(proc.stderr)}"
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        error = f"`connectomedb neo4j stop` failed: {e}"
    if error is not None:
        localneo4j.stop(Settings(home=home, neo4j_uri=None))
    return error


def test_wheel_runs_outside_the_checkout(tmp_path: Path, settings: Settings) -> None:
    started = time.monotonic()
    if shutil.which("java") is None and os.environ.get("JAVA_HOME") is None:
        pytest.fail("java not found: the installed package starts Neo4j with Java 17 or 21")
    if shutil.which("mvn") is None:
        pytest.fail("mvn not found: the installed package lays Neo4j out with Maven")

    # Build from a copy of the checkout: `pip wheel .` in place would leave build/ and
    # egg-info behind, and files deleted from the source would survive in build/lib.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=BUILD_IGNORE, symlinks=True)
    dist = tmp_path / "dist"
    pip_env = _clean_env()
    _run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", dist],
        cwd=src,
        env=pip_env,
        timeout=600,
    )
    wheels = sorted(dist.glob("connectomedb-*.whl"))
    assert len(wheels) == 1, f"expected one connectomedb wheel in {dist}, found {wheels}"

    venv = tmp_path / "venv"
    work = tmp_path / "work"  # cwd of every command: no checkout, no .env
    work.mkdir()
    _run([sys.executable, "-m", "venv", venv], cwd=work, env=pip_env, timeout=300)
    python, cli = venv / "bin" / "python", venv / "bin" / "connectomedb"
    _run([python, "-m", "pip", "install", wheels[0]], cwd=work, env=pip_env, timeout=900)

    where = _run(
        [
            python,
            "-c",
            "import importlib.util, connectomedb, connectomedb.localneo4j as l; "
            "print(connectomedb.__file__); print(l.POM); print(importlib.util.find_spec('torch'))",
        ],
        cwd=work,
        env=pip_env,
        timeout=120,
    ).stdout.splitlines()
    package, pom, torch = Path(where[0]), Path(where[1]), where[2]
    assert package.is_relative_to(venv), f"connectomedb imported from {package}, not {venv}"
    assert not package.resolve().is_relative_to(ROOT)
    assert pom.is_relative_to(venv) and pom.is_file(), f"the pom is read from {pom}"
    assert torch == "None", "torch (the analytics extra) was installed with the base package"

    bolt, http, api = _free_ports(3)
    home = tmp_path / "neo4j"
    env = _clean_env(
        home=home,
        bolt_port=bolt,
        http_port=http,
        heap_size="512m",
        pagecache_size="128m",
        neo4j_password="wheel-test-password",
        # the cect wheel the other tests use; downloaded into it when absent
        data_cache=settings.data_cache,
    )
    serve_log = tmp_path / "serve.log"
    serve: subprocess.Popen[bytes] | None = None
    try:
        _run([cli, "neo4j", "start"], cwd=work, env=env, timeout=900)
        _run([cli, "db", "init"], cwd=work, env=env, timeout=300)
        _run([cli, "load", "cook2019", "--public"], cwd=work, env=env, timeout=600)
        with serve_log.open("wb") as log:
            serve = subprocess.Popen(
                [str(cli), "serve", "--port", str(api)],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{api}"
        _wait_for_health(f"{base}/health", serve, serve_log, timeout=120)
        resp = httpx.post(
            f"{base}/graphql",
            json={
                "query": "{ datasets { id status neuronCount nonNeuronalCount connectionCount } }"
            },
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert "errors" not in body, body
        found = {d["id"]: d for d in body["data"]["datasets"]}
        assert set(found) == {"cook2019_herm"}, found
        cook = found["cook2019_herm"]
        chem = cook_matrix(wheel_zip(settings.data_cache, "cect"), "hermaphrodite chemical")
        assert cook["status"] == "ready"
        assert cook["neuronCount"] == 302  # the hermaphrodite's neurons (White et al. 1986)
        assert cook["nonNeuronalCount"] == 171  # muscles and other cells of the SI 5 sheet
        assert cook["connectionCount"] == int((chem.values > 0).sum())
    finally:
        if serve is not None:
            serve.terminate()
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        stop_error = _stop(cli, work, env, home)
        if stop_error is not None:
            print(stop_error)  # shown with the failure that is already on its way, if any
    if stop_error is not None:
        pytest.fail(stop_error, pytrace=False)
    assert not localneo4j.status(Settings(home=home, bolt_port=bolt))["running"]
    # about 700 MB; pytest keeps the temporary directories of its last runs
    shutil.rmtree(venv)
    shutil.rmtree(home)
    print(f"wheel test: {time.monotonic() - started:.0f}s")
