"""The dashboard's HTML helpers: escaping, addresses and where a login may return to."""

from __future__ import annotations

from connectomedb.service.dashboard.pages import Html, esc, table, tag, url
from connectomedb.service.dashboard.routes import safe_next


def test_text_and_attributes_are_escaped_markup_is_not() -> None:
    assert esc('<b x="1">&') == "&lt;b x=&quot;1&quot;&gt;&amp;"
    assert esc(None) == ""
    assert esc(Html("<b>")) == "<b>"
    assert tag("a", "<i>", href='/x?a=1&b="2"') == (
        '<a href="/x?a=1&amp;b=&quot;2&quot;">&lt;i&gt;</a>'
    )


def test_tag_attributes() -> None:
    assert tag("option", "x", value="x", selected=True) == '<option value="x" selected>x</option>'
    assert tag("option", "x", selected=False, id=None) == "<option>x</option>"
    assert tag("td", class_="a", data_job="j1") == '<td class="a" data-job="j1"></td>'
    assert tag("input", name="id", required=True) == '<input name="id" required>'


def test_table_escapes_cells() -> None:
    assert table(["a"], [["<x>"]]) == (
        "<table><thead><tr><th>a</th></tr></thead>"
        "<tbody><tr><td>&lt;x&gt;</td></tr></tbody></table>"
    )


def test_url_quotes_each_segment() -> None:
    assert url("datasets", "a/b c", "neurons", "?x") == "/dashboard/datasets/a%2Fb%20c/neurons/%3Fx"
    assert url("jobs", dataset=None, mine=1) == "/dashboard/jobs?mine=1"


def test_login_returns_only_to_dashboard_pages() -> None:
    assert safe_next("/dashboard/jobs?mine=1") == "/dashboard/jobs?mine=1"
    for bad in (
        None,
        "",
        "https://evil.example/dashboard/x",
        "//evil.example/dashboard/x",
        "/graphql",
        "/dashboardx",
        "/dashboard/\\evil",
    ):
        assert safe_next(bad) is None, bad
