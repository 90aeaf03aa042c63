"""Failed sign-ins, counted per client address: past ``max_failures`` within
``window_s`` seconds, that client is refused (RATE_LIMITED) before its token is looked at,
until its oldest failure in the window is ``window_s`` old. Guessing tokens then takes
longer than the tokens' lifetime; a client that signs in correctly is never counted.

A sign-in still being checked counts as a failure until it succeeds, unless its token
signed in here before: parallel guesses cannot slip past the limit while the first
ones are checked, and a client sending many requests at once with a good token is not
held up.

Each API process counts on its own (``serve --workers N`` allows N times as many
guesses); behind a reverse proxy, run uvicorn with ``--forwarded-allow-ips`` so that the
client's address, not the proxy's, is counted. Clients behind one NAT share a count."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Final

from connectomedb.errors import RateLimited

#: Clients (and known good tokens) remembered at most, the least recent forgotten
#: first, so that a flood of addresses cannot grow the tables without bound.
MAX_CLIENTS: Final = 100_000


def token_key(token: str) -> str:
    """What the table of good tokens keeps of a token (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


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
        self._pending: dict[str, int] = {}
        self._good: OrderedDict[str, None] = OrderedDict()

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
        """Raises RateLimited while ``client`` has failed (or has sign-ins of unknown
        tokens still being checked) too often within the window."""
        now = self.clock()
        q = self._recent(client, now)
        failed = len(q) if q is not None else 0
        if failed + self._pending.get(client, 0) >= self.max_failures:
            wait = q[0] + self.window_s - now if q else self.window_s
            raise RateLimited(
                f"too many failed sign-ins from this address; try again in {wait:.0f} s",
                retry_after_s=wait,
            )

    def begin(self, client: str, token: str) -> bool:
        """Before a sign-in: refused past the limit; returns whether the attempt is
        counted while it is checked (a token not known to be good)."""
        self.check(client)
        if token_key(token) in self._good:
            return False
        self._pending[client] = self._pending.get(client, 0) + 1
        return True

    def end(self, client: str, token: str, counted: bool, ok: bool | None) -> None:
        """After a sign-in begun with :meth:`begin`: ``ok`` True (signed in), False
        (refused: a failure) or None (not decided, e.g. the database did not answer)."""
        if counted:
            left = self._pending.get(client, 1) - 1
            if left > 0:
                self._pending[client] = left
            else:
                self._pending.pop(client, None)
        key = token_key(token)
        if ok:
            self._good[key] = None
            self._good.move_to_end(key)
            while len(self._good) > self.max_clients:
                self._good.popitem(last=False)
        elif ok is False:
            self._good.pop(key, None)
            self.failed(client)

    def failed(self, client: str) -> None:
        now = self.clock()
        q = self._recent(client, now)
        if q is None:
            q = self._failures[client] = deque()
        q.append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
