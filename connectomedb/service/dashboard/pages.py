"""The dashboard's HTML, written out by small functions: every value that comes from the
data or the request goes through :func:`esc` (html.escape); only :class:`Html` (markup
built here) is inserted as it is. Pages carry no inline script: figures travel as JSON
in ``<script type="application/json">`` and ``static/dashboard.js`` draws them."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote, urlencode

import plotly.graph_objects as go

from connectomedb.service.dashboard.figures import figure_json

PREFIX: Final = "/dashboard"
#: elements without an end tag
VOID: Final = frozenset({"input", "meta", "link", "br", "img"})
STATIC: Final = f"{PREFIX}/static"


class Html(str):
    """Markup built by this module: inserted as it is, never escaped again."""


def esc(value: Any) -> Html:
    """``value`` as text in HTML (quotes escaped too, so it may stand in attributes)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any]) -> Html:
    return Html("".join(esc(p) for p in parts))


def tag(name: str, /, *children: Any, **attrs: Any) -> Html:
    """``<name attrs>children</name>``; attribute names end in ``_`` where Python
    needs it (``class_``), a True value writes the bare attribute, None leaves it out."""
    parts = []
    for k, v in attrs.items():
        if v is None or v is False:
            continue
        k = k.rstrip("_").replace("_", "-")
        parts.append(f" {k}" if v is True else f' {k}="{esc(v)}"')
    if name in VOID:
        return Html(f"<{name}{''.join(parts)}>")
    return Html(f"<{name}{''.join(parts)}>{join(children)}</{name}>")


def url(*parts: str, **query: Any) -> str:
    """A dashboard address: path segments quoted, query values left out when None."""
    path = PREFIX + "".join("/" + quote(str(p), safe="") for p in parts)
    q = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urlencode(q) if q else "")


def link(text: Any, href: str) -> Html:
    return tag("a", text, href=href)


def number(v: Any, digits: int = 4) -> str:
    """Numbers for tables: ints as they are, floats to ``digits`` significant digits."""
    if v is None:
        return "n/a"
    if isinstance(v, int):  # bool too
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], **attrs: Any) -> Html:
    head = tag("thead", tag("tr", *(tag("th", h) for h in headers)))
    body = tag("tbody", *(tag("tr", *(tag("td", c) for c in row)) for row in rows))
    return tag("table", head, body, **attrs)


def facts(pairs: Iterable[tuple[str, Any]]) -> Html:
    """A two-column table of names and values."""
    return tag(
        "table",
        tag("tbody", *(tag("tr", tag("th", k), tag("td", v)) for k, v in pairs)),
        class_="facts",
    )


def figure(fig: go.Figure, name: str) -> Html:
    """A figure's place in the page and its JSON beside it."""
    data_id = f"figure-data-{name}"
    return join(
        [
            tag("div", class_="figure", id=f"figure-{name}", data_figure=data_id),
            Html(
                f'<script type="application/json" id="{esc(data_id)}">{figure_json(fig)}</script>'
            ),
        ]
    )


def json_block(value: Any) -> Html:
    """A JSON value pretty-printed (for parameters and metrics)."""
    return tag("pre", json.dumps(value, indent=2, sort_keys=True, default=str), class_="json")


def select(name: str, options: Sequence[str], chosen: str, label: str) -> Html:
    return tag(
        "label",
        label,
        " ",
        tag(
            "select",
            *(tag("option", o, value=o, selected=o == chosen) for o in options),
            name=name,
        ),
    )


def number_input(name: str, value: Any, label: str, **limits: Any) -> Html:
    return tag("label", label, " ", tag("input", type="number", name=name, value=value, **limits))


def form(action: str, *fields: Any, method: str = "get", button: str = "Show") -> Html:
    return tag(
        "form",
        *fields,
        tag("button", button, type="submit"),
        action=action,
        method=method,
        class_="controls",
    )


class Versions:
    """The versions in the static files' addresses (a new version, a new address)."""

    def __init__(self, plotly: str, assets: str) -> None:
        self.plotly = plotly
        self.assets = assets


def page(
    title: str,
    body: Any,
    user: str | None,
    versions: Versions,
    plots: bool = False,
    heading: Any = None,
) -> Html:
    """A whole page: navigation (who is signed in, log out), the heading and the body;
    plotly.js only on pages with figures."""
    who: Html
    if user is None:
        who = join(["not signed in (public data only) · ", link("Log in", url("login"))])
    else:
        who = join(
            [
                "signed in as ",
                tag("strong", user, class_="user"),
                " ",
                tag(
                    "form",
                    tag("button", "Log out", type="submit"),
                    action=url("logout"),
                    method="post",
                    class_="inline",
                ),
            ]
        )
    nav = tag(
        "nav",
        link("connectomedb", url("datasets")),
        link("Datasets", url("datasets")),
        link("Jobs", url("jobs")),
        link("GraphiQL", "/graphql"),
        tag("span", who, class_="who"),
    )
    scripts = []
    if plots:
        scripts.append(tag("script", src=f"{STATIC}/plotly-{versions.plotly}.min.js"))
    scripts.append(tag("script", src=f"{STATIC}/dashboard.js?v={versions.assets}", defer=True))
    head = join(
        [
            Html('<meta charset="utf-8">'),
            Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            tag("title", f"{title} · connectomedb"),
            Html('<link rel="icon" href="data:,">'),  # no request for /favicon.ico
            Html(
                f'<link rel="stylesheet" href="{esc(STATIC)}/dashboard.css?v={esc(versions.assets)}">'
            ),
            *scripts,
        ]
    )
    return Html(
        "<!doctype html>"
        + tag(
            "html",
            tag("head", head),
            tag("body", tag("header", nav), tag("main", tag("h1", heading or title), body)),
            lang="en",
        )
    )


def login_form(message: str | None, next_url: str | None) -> Html:
    return join(
        [
            tag("p", message, class_="error") if message else "",
            tag(
                "form",
                tag(
                    "label",
                    "API token ",
                    tag(
                        "input",
                        type="password",
                        name="token",
                        autocomplete="off",
                        required=True,
                        size=70,
                        placeholder="cdb_…",
                    ),
                ),
                tag("input", type="hidden", name="next", value=next_url) if next_url else "",
                tag("button", "Log in", type="submit"),
                action=url("login"),
                method="post",
                class_="login",
            ),
            tag(
                "p",
                "The same API tokens as the GraphQL API (connectomedb access token create). "
                "The token is kept in an HttpOnly cookie for this dashboard only.",
                class_="hint",
            ),
        ]
    )


def error_body(message: str) -> Html:
    return join(
        [tag("p", message, class_="error"), tag("p", link("Back to the datasets", url("datasets")))]
    )


def mapping_rows(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The scalar entries of a mapping, by name (for a run's metrics)."""
    return [
        (k, number(v))
        for k, v in sorted(values.items())
        if v is None or isinstance(v, str | int | float | bool)
    ]
