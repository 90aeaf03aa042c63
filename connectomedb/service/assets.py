"""Static files the service ships in the package (GraphiQL's and the dashboard's), served
with caching headers: their paths carry a version, so a browser may keep them."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Final

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

#: a day: long enough to load each page from the cache, short enough for a fixed file
MAX_AGE_S: Final = 86_400


def package_folder(package: str, *parts: str) -> Path:
    """A folder of package data (a real folder: the package installs unzipped)."""
    return Path(str(files(package).joinpath(*parts)))


class CachedStaticFiles(StaticFiles):
    """StaticFiles that also say how long a browser may keep a file (ETag and
    Last-Modified come from StaticFiles)."""

    def __init__(self, directory: Path, max_age: int = MAX_AGE_S) -> None:
        super().__init__(directory=directory, check_dir=True)
        self.max_age = max_age

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = f"public, max-age={self.max_age}"
        return response
