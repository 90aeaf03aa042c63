"""What every command group shares: settings, the driver, error reporting, consoles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from connectomedb.errors import ConnectomeDBError

if TYPE_CHECKING:
    import neo4j
    from rich.progress import Progress, TaskID

    from connectomedb.settings import Settings

console = Console()
err = Console(stderr=True)


def load_settings() -> Settings:
    """The settings, or one red line and exit code 2 when they are invalid."""
    from connectomedb.settings import Settings

    try:
        return Settings()
    except ValueError as e:
        err.print(f"[red]error:[/red] invalid settings: {e}")
        raise typer.Exit(2) from e


@contextmanager
def exit_on_error(lost: str = "") -> Iterator[None]:
    """Turn our errors, and a database lost on the way, into one red line and exit
    code 1. ``lost`` is added when the database goes away (what to do then)."""
    try:
        yield
    except ConnectomeDBError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from e
    except Exception as e:
        from neo4j.exceptions import ServiceUnavailable, SessionExpired

        if not isinstance(e, ServiceUnavailable | SessionExpired):
            raise
        err.print(
            f"[red]error:[/red] the database went away ({e}){'; ' + lost if lost else ''}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from e


@contextmanager
def connect(s: Settings | None = None) -> Iterator[tuple[Settings, neo4j.Driver]]:
    """Settings and a sync driver whose server has answered; closed on exit."""
    from connectomedb.store.driver import check_connectivity, make_driver

    s = s or load_settings()
    d = make_driver(s)
    try:
        with exit_on_error():
            check_connectivity(d)
        yield s, d
    finally:
        d.close()


def check_reachable(s: Settings | None = None) -> None:
    """Fail early, in one line, when Neo4j is not there."""
    with connect(s):
        pass


class RichProgress:
    """The loader's progress callbacks drawn as one rich bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task: TaskID | None = None

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.p.update(self.task, total=self.p.tasks[self.task].completed)
        self.task = self.p.add_task(name, total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.p.advance(self.task, n)
