"""The parsed and validated documents are reused across requests (a limiter that builds
a new rule class per request would silently turn the validation cache off)."""

from __future__ import annotations

import asyncio

from strawberry.extensions.validation_cache import _get_validate_cache

from connectomedb.service.schema import build_schema


def test_validation_is_cached_across_requests() -> None:
    schema = build_schema()
    cache = _get_validate_cache(512)
    query = '{ dataset(id: "x") { id name } }'
    asyncio.run(schema.execute(query))  # resolvers fail without a context; validation ran
    before = cache.cache_info()
    for _ in range(3):
        asyncio.run(schema.execute(query))
    after = cache.cache_info()
    assert after.hits - before.hits == 3
    assert after.misses == before.misses
