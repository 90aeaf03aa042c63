"""FastAPI dependencies: the settings, one Store per request and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from connectomedb.errors import Unauthenticated
from connectomedb.service.ratelimit import FailedSignIns
from connectomedb.settings import Settings
from connectomedb.store.access import ANONYMOUS, AccessRepository, Principal
from connectomedb.store.graphdb import Store

#: Response header with the number of Neo4j queries a request ran (authentication included).
QUERY_COUNT_HEADER = "X-Neo4j-Queries"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def store_of(request: Request, settings: SettingsDep) -> Store:
    """One Store per request: it counts that request's queries."""
    return Store(
        request.app.state.driver,
        settings.neo4j_database,
        settings.query_timeout_s,
        settings.max_queries_per_request,
    )


StoreDep = Annotated[Store, Depends(store_of)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <API token>'")
    return token.strip()


def sign_ins_of(request: Request) -> FailedSignIns:
    """The app's count of failed sign-ins per client (made on first use)."""
    state = request.app.state
    limiter: FailedSignIns | None = getattr(state, "failed_sign_ins", None)
    if limiter is None:
        s: Settings = state.settings
        limiter = state.failed_sign_ins = FailedSignIns(
            s.max_failed_sign_ins, s.failed_sign_in_window_s
        )
    return limiter


async def authenticate(request: Request, store: Store, token: str | None) -> Principal:
    """The caller of ``token`` (anonymous when None). A client that has failed to sign
    in too often lately is refused (RATE_LIMITED) before the token is looked at; each
    failure counts against its address."""
    if token is None:
        return ANONYMOUS
    limiter = sign_ins_of(request)
    client = request.client.host if request.client else "unknown"
    counted = limiter.begin(client, token)
    ok: bool | None = None  # None: neither (the database did not answer, or the like)
    try:
        principal = await AccessRepository(store).authenticate(token)
        ok = True
        return principal
    except Unauthenticated:
        ok = False
        raise
    finally:
        limiter.end(client, token, counted, ok)


async def principal_of(request: Request, store: StoreDep) -> Principal:
    return await authenticate(request, store, bearer_token(request))


PrincipalDep = Annotated[Principal, Depends(principal_of)]
