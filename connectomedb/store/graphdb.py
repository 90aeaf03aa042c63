"""The async gateway every API and worker query goes through: one place that sets the
transaction timeout, counts queries and turns driver errors into ours."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

import neo4j
from neo4j.exceptions import ClientError, Neo4jError, ServiceUnavailable, SessionExpired

from connectomedb.errors import BadInput, Timeout, Unavailable
from connectomedb.settings import Settings

log = logging.getLogger(__name__)

#: Neo4j status codes of a transaction stopped by its time limit.
_TIMEOUT_CODES = frozenset(
    {
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
        "Neo.TransientError.Transaction.TransactionTimedOut",
        "Neo.TransientError.Transaction.TransactionTimedOutClientConfiguration",
    }
)


_STOPPED_CODES = frozenset(
    {
        "Neo.ClientError.Transaction.Terminated",
        "Neo.TransientError.Transaction.Terminated",
        "Neo.ClientError.Transaction.LockClientStopped",
        "Neo.TransientError.Transaction.LockClientStopped",
    }
)


#: Connecting, and retrying a transaction that failed for want of a server, each take at
#: most this long (or a quarter of the query time limit, when shorter, but never less
#: than ``MIN_CONNECT_S``): while the database is down a request answers UNAVAILABLE
#: within its time limit instead of hanging on the driver's defaults (30 s to connect,
#: 30 s of retries, 60 s for a connection from the pool).
DOWN_S: Final = 5.0

#: A connection to a live server on a busy machine can take a good part of a second; a
#: shorter connect timeout would call such a server down.
MIN_CONNECT_S: Final = 1.0

#: How long past its own time limit a query may go unanswered before the API gives up
#: on it (at least): the server stops a query past its limit at its next check, which can
#: come late on a busy machine. What is left is a server that accepts connections but
#: does not answer (one still starting up), which no driver timeout covers.
LATE_S: Final = 5.0


def down_s(query_timeout_s: float) -> float:
    """How long connecting, and retrying for want of a server, may each take for queries
    limited to ``query_timeout_s``."""
    return max(MIN_CONNECT_S, min(DOWN_S, query_timeout_s / 4))


def hard_limit_s(query_timeout_s: float) -> float:
    """How long the API waits for one query (or transaction) at most, all told."""
    return query_timeout_s + max(LATE_S, down_s(query_timeout_s))


def make_async_driver(settings: Settings) -> neo4j.AsyncDriver:
    down = down_s(settings.query_timeout_s)
    return neo4j.AsyncGraphDatabase.driver(
        settings.uri,
        auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value()),
        max_connection_lifetime=3600,
        max_connection_pool_size=64,
        notifications_min_severity="OFF",  # "unknown property" hints on a fresh graph are noise
        connection_timeout=down,
        max_transaction_retry_time=down,
        connection_acquisition_timeout=max(settings.query_timeout_s, 2 * down),
    )


_DOWN: Final = "the database cannot be reached now (down or restarting); try again shortly"


def _unanswered(name: str, limit_s: float) -> Unavailable:
    log.warning("query %s: no answer from the database within %.1f s", name, limit_s)
    return Unavailable(
        f"the database did not answer within {limit_s:g} s (it may be restarting); "
        "try again shortly"
    )


#: the cheapest query there is: does the database answer?
PING: Final = "RETURN 1 AS ok"


class Store:
    """Runs parameterised queries for one request (or one job); ``queries`` counts them.

    Args:
        driver: the shared async driver.
        database: Neo4j database name.
        timeout_s: transaction timeout; a query past it raises :class:`Timeout`.
    """

    def __init__(
        self,
        driver: neo4j.AsyncDriver,
        database: str,
        timeout_s: float,
        max_queries: int | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout_s = timeout_s
        self.max_queries = max_queries
        self.queries = 0
        self.hard_limit_s = hard_limit_s(timeout_s)

    def _count(self) -> None:
        self.queries += 1
        if self.max_queries is not None and self.queries > self.max_queries:
            raise BadInput(
                f"this request needs more than {self.max_queries} database queries; "
                "split it into smaller requests"
            )

    async def read(self, name: str, text: str, /, **params: Any) -> list[dict[str, Any]]:
        return await self._run(name, text, params, neo4j.RoutingControl.READ)

    async def ping(self) -> None:
        """Raises unless the database answers a query."""
        await self.read("health", PING)

    async def write(self, name: str, text: str, /, **params: Any) -> list[dict[str, Any]]:
        return await self._run(name, text, params, neo4j.RoutingControl.WRITE)

    async def write_tx(self, name: str, steps: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Run several statements in one write transaction (retried as a whole);
        returns each statement's records as dicts."""
        return await self._tx(name, steps, write=True)

    async def read_tx(self, name: str, steps: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Run several reads in one transaction (one snapshot of the graph); returns each
        statement's records as dicts."""
        return await self._tx(name, steps, write=False)

    async def _tx(
        self, name: str, steps: list[tuple[str, dict[str, Any]]], write: bool
    ) -> list[Any]:
        self._count()
        started = time.monotonic()

        async def work(tx: neo4j.AsyncManagedTransaction) -> list[Any]:
            out = []
            for text, params in steps:
                res = await tx.run(text, params)
                out.append([dict(r) for r in await res.fetch(1_000_000)])
            return out

        unit = neo4j.unit_of_work(timeout=self.timeout_s)(work)
        try:
            # the bookmarks of execute_query: a read after this transaction, routed to a
            # secondary of a cluster, waits until that server holds it
            async with (
                asyncio.timeout(self.hard_limit_s),
                self.driver.session(
                    database=self.database,
                    bookmark_manager=self.driver.execute_query_bookmark_manager,
                ) as s,
            ):
                run = s.execute_write if write else s.execute_read
                return await run(unit)  # type: ignore[arg-type]
        except TimeoutError as e:
            raise _unanswered(name, self.hard_limit_s) from e
        except Neo4jError as e:
            raise self._translate(name, list(steps[0][1]), e, started) from e
        except (ServiceUnavailable, SessionExpired) as e:
            log.warning("query %s: the database cannot be reached (%s)", name, e)
            raise Unavailable(_DOWN) from e

    async def _run(
        self, name: str, text: str, params: dict[str, Any], routing: neo4j.RoutingControl
    ) -> list[dict[str, Any]]:
        self._count()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.hard_limit_s):
                records, _, _ = await self.driver.execute_query(
                    neo4j.Query(text, timeout=self.timeout_s),  # type: ignore[arg-type]
                    params,
                    routing_=routing,
                    database_=self.database,
                )
        except TimeoutError as e:
            raise _unanswered(name, self.hard_limit_s) from e
        except Neo4jError as e:
            raise self._translate(name, list(params), e, started) from e
        except (ServiceUnavailable, SessionExpired) as e:
            log.warning("query %s: the database cannot be reached (%s)", name, e)
            raise Unavailable(_DOWN) from e
        # Every query here returns plain values and maps (``n {.*}``), never nodes, so the
        # record's own values need no further conversion (Record.data() walks them all).
        return [dict(r) for r in records]

    def _translate(
        self, name: str, param_names: list[str], e: Neo4jError, started: float
    ) -> Exception:
        # A transaction stopped while it waits for a lock reports Terminated or
        # LockClientStopped; past its time limit that is a timeout all the same.
        late = time.monotonic() - started >= self.timeout_s
        if e.code in _TIMEOUT_CODES or (late and e.code in _STOPPED_CODES):
            log.warning("query %s timed out after %.1f s", name, self.timeout_s)
            return Timeout(
                f"the query ran past the {self.timeout_s:g} s limit; ask for less "
                "(a smaller page, fewer hops, a higher minWeight or a narrower filter)"
            )
        log.error("query %s failed (parameters: %s): %s %s", name, param_names, e.code, e.message)
        if isinstance(e, ClientError):
            return RuntimeError(f"query {name} was refused by the database: {e.code}")
        return e
