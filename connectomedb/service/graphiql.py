"""GraphiQL without the internet: strawberry's GraphiQL page loads React, GraphiQL and
its explorer plugin from unpkg.com; the same files ship in this package
(``service/static/graphiql/<package>@<version>/<path>``, see its NOTICE.md) and the
page is rewritten to load them from this server."""

from __future__ import annotations

import re
from functools import cache
from typing import Final

from strawberry.fastapi import GraphQLRouter
from strawberry.http.ides import get_graphql_ide_html

from connectomedb.service.assets import CachedStaticFiles, package_folder

#: where the vendored files are served
ASSETS_PATH: Final = "/static/graphiql"
CDN: Final = "https://unpkg.com/"
#: an address in a src= or href= attribute
_ADDRESS: Final = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def assets() -> CachedStaticFiles:
    return CachedStaticFiles(package_folder("connectomedb.service", "static", "graphiql"))


def offline_page(html: str) -> str:
    """``html`` with every unpkg.com address pointing at :data:`ASSETS_PATH`.

    Raises:
        RuntimeError: the page still loads something from another host (a strawberry
            upgrade that uses another CDN), or a file it names is not shipped here.
    """
    page = html.replace(CDN, ASSETS_PATH + "/")
    folder = package_folder("connectomedb.service", "static", "graphiql")
    for address in _ADDRESS.findall(page):
        if address.startswith("data:"):
            continue
        if not address.startswith(ASSETS_PATH + "/"):
            raise RuntimeError(f"GraphiQL's page loads {address} from outside this server")
        if not (folder / address.removeprefix(ASSETS_PATH + "/")).is_file():
            raise RuntimeError(
                f"GraphiQL's page needs {address}, which is not in the package "
                "(see connectomedb/service/static/graphiql/NOTICE.md)"
            )
    return page


@cache
def graphiql_html() -> str:
    return offline_page(get_graphql_ide_html("graphiql"))


class OfflineGraphQLRouter(GraphQLRouter):
    """strawberry's router whose GraphiQL page loads its files from this server."""

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_html()
