"""Failed sign-ins, counted per client address: past ``max_failures`` within
``window_s`` seconds, that client is refused (RATE_LIMITED) before its token is looked at,
until its oldest failure in the window is ``window_s`` old. Guessing tokens then takes
longer than the tokens' lifetime; a client that signs in correctly is never counted.

Each API process counts on its own (``serve --workers N`` allows N times as many
guesses); behind a reverse proxy, run uvicorn with ``--forwarded-allow-ips`` so that the
client's address, not the proxy's, is counted."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Final

from connectomedb.errors import RateLimited

#: Clients remembered at most (the least recently failing are forgotten first), so that
#: a flood of addresses cannot grow the table without bound.
MAX_CLIENTS: Final = 100_000


class FailedSignIns:
    def __init__(
        self,
        max_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        q = self._failures.get(client)
        if q is None:
            return None
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[client]
            return None
        return q

    def check(self, client: str) -> None:
        """Raises RateLimited while ``client`` has failed too often within the window."""
        now = self.clock()
        q = self._recent(client, now)
        if q is not None and len(q) >= self.max_failures:
            wait = q[0] + self.window_s - now
            raise RateLimited(
                f"too many failed sign-ins from this address; try again in {wait:.0f} s",
                retry_after_s=wait,
            )

    def failed(self, client: str) -> None:
        now = self.clock()
        q = self._recent(client, now)
        if q is None:
            q = self._failures[client] = deque()
        q.append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
