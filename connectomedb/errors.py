"""Error hierarchy: one root, specific subclasses, each with a client-safe code."""

from __future__ import annotations


class ConnectomeDBError(Exception):
    """Root of every error this package raises on purpose."""

    code = "INTERNAL"


class NotFound(ConnectomeDBError):
    code = "NOT_FOUND"


class Forbidden(ConnectomeDBError):
    code = "FORBIDDEN"


class BadInput(ConnectomeDBError):
    code = "BAD_INPUT"


class Unauthenticated(ConnectomeDBError):
    """A credential was sent but is malformed, unknown or revoked, or one is required."""

    code = "UNAUTHENTICATED"


class Timeout(ConnectomeDBError):
    """A database query ran past its time limit."""

    code = "TIMEOUT"


class TooExpensive(ConnectomeDBError):
    """A request whose estimated cost is past the limits: refused before it runs, with
    the estimate and how to ask for less."""

    code = "TOO_EXPENSIVE"


class Unavailable(ConnectomeDBError):
    """The database cannot be reached now (down, restarting, or the network between):
    worth trying again shortly, unlike a :class:`ConfigError`."""

    code = "UNAVAILABLE"


class RateLimited(ConnectomeDBError):
    """Too many failed sign-ins from one client: refused, before the token is looked at,
    for ``retry_after_s`` seconds."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConfigError(ConnectomeDBError):
    """The environment is not set up as needed (Java, Maven, ports, settings)."""

    code = "CONFIG"


class LoaderError(BadInput):
    """Bad input to a loader, located by file, row (1-based, header is row 1) and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
