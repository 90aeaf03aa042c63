"""GraphiQL's page loads every file from this server, byte for byte the files whose
SHA-384 strawberry's page names (the browser checks the same integrity attributes)."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from connectomedb.service.graphiql import ASSETS_PATH, graphiql_html, offline_page
from tests.world import World

#: (address, integrity) of each script and style sheet of the page
_ASSET = re.compile(r'(?:src|href)="([^"]+)"\s+integrity="(sha384-[^"]+)"')


def test_the_page_points_only_at_this_server() -> None:
    page = graphiql_html()
    assert "unpkg.com" not in page and "https://" not in page.replace(
        "http://www.w3.org/2000/svg", ""
    )
    found = _ASSET.findall(page)
    assert len(found) == 7  # react, react-dom, js-cookie, graphiql js+css, explorer js+css
    assert all(a.startswith(ASSETS_PATH + "/") for a, _ in found)


def test_a_page_that_loads_from_elsewhere_is_refused() -> None:
    with pytest.raises(RuntimeError, match="from outside this server"):
        offline_page('<script src="https://cdn.example.org/react.js"></script>')
    with pytest.raises(RuntimeError, match="not in the package"):
        offline_page('<script src="https://unpkg.com/react@99.0.0/umd/react.js"></script>')


def test_every_file_is_served_with_its_integrity(world: World) -> None:
    page = httpx.get(world.url + "/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.text == graphiql_html()
    for address, integrity in _ASSET.findall(page.text):
        r = httpx.get(world.url + address)
        assert r.status_code == 200, address
        assert r.headers["cache-control"] == "public, max-age=86400"
        digest = base64.b64encode(hashlib.sha384(r.content).digest()).decode()
        assert f"sha384-{digest}" == integrity, address
