"""The dashboard over real HTTP: the login cookie, and the same isolation as the API (a
dataset, job or run someone cannot read answers exactly as a missing one)."""

from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest

from connectomedb.service.dashboard.routes import COOKIE
from tests.world import World


def get(world: World, path: str, who: str | None = None, **kw: object) -> httpx.Response:
    cookies = {COOKIE: world.tokens[who]} if who else None
    return httpx.get(world.url + path, cookies=cookies, timeout=60, **kw)  # type: ignore[arg-type]


def main_text(r: httpx.Response) -> str:
    """The page's <main>, without tags."""
    m = re.search(r"<main>(.*)</main>", r.text, re.S)
    assert m, r.text[:500]
    return html.unescape(re.sub(r"<[^>]+>", " ", m.group(1)))


def pages(world: World, runs: dict[str, str]) -> list[str]:
    ds = world.cook
    return [
        f"/dashboard/datasets/{ds}",
        f"/dashboard/datasets/{ds}?level=type&metric=probability",
        f"/dashboard/datasets/{ds}/neurons/AVAL",
        f"/dashboard/datasets/{ds}/census?samples=2",
        f"/dashboard/jobs?dataset={ds}",
        *(f"/dashboard/runs/{r}" for r in runs.values()),
    ]


def test_readers_see_every_page(world: World, runs: dict[str, str]) -> None:
    for path in pages(world, runs):
        r = get(world, path, "victor")  # a viewer of lab A
        assert r.status_code == 200, (path, main_text(r))
        assert r.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in r.headers["content-security-policy"]
    listed = get(world, "/dashboard/datasets", "victor")
    assert f">{world.cook}</a>" in listed.text


@pytest.mark.parametrize("who", ["bob", None])
def test_outsiders_meet_the_missing_dataset_page(
    world: World, runs: dict[str, str], who: str | None
) -> None:
    """bob (lab B) and anonymous callers: not listed; every page of the dataset, its
    jobs and runs answers 404 with the text of one that does not exist."""
    listed = get(world, "/dashboard/datasets", who)
    assert listed.status_code == 200 and world.cook not in listed.text
    missing_ds = f"t_missing_{uuid.uuid4().hex[:8]}"
    missing_run = f"run_{uuid.uuid4().hex[:16]}"
    for path in pages(world, runs):
        r = get(world, path, who)
        assert r.status_code == 404, path
        assert world.cook not in main_text(r).replace(f"dataset {world.cook!r}", "")
        if "/runs/" in path:
            run = path.rsplit("/", 1)[1]
            twin = get(world, f"/dashboard/runs/{missing_run}", who)
            assert main_text(r).replace(run, "X") == main_text(twin).replace(missing_run, "X")
        else:
            twin = get(world, path.replace(world.cook, missing_ds), who)
            assert twin.status_code == 404
            assert main_text(r).replace(world.cook, "X") == main_text(twin).replace(missing_ds, "X")
    sim = runs["simulate"]
    assert get(world, f"/dashboard/runs/{sim}/files/rate-0.png", who).status_code == 404
    job = httpx.get(f"{world.url}/dashboard/runs/{sim}", cookies={COOKIE: world.tokens["alice"]})
    job_id = re.search(r"job</th><td>([^<]+)</td>", job.text)
    assert job_id, job.text[:300]
    state = get(world, f"/dashboard/api/jobs/{job_id.group(1)}", who)
    assert state.status_code == 404
    assert state.text != get(world, f"/dashboard/api/jobs/{job_id.group(1)}", "alice").text


def test_run_files_and_job_state_for_readers(world: World, runs: dict[str, str]) -> None:
    png = get(world, f"/dashboard/runs/{runs['simulate']}/files/raster-0.png", "carol")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    page = get(world, f"/dashboard/runs/{runs['probe']}", "carol").text
    job = re.search(r"job</th><td>([^<]+)</td>", page)
    assert job
    state = get(world, f"/dashboard/api/jobs/{job.group(1)}", "carol").json()
    assert state["status"] == "succeeded" and state["progress"] == 1.0
    assert state["run"] == runs["probe"]
    assert state["run_url"] == f"/dashboard/runs/{runs['probe']}"


def test_login_sets_a_strict_http_only_cookie_and_logout_clears_it(world: World) -> None:
    r = httpx.post(
        world.url + "/dashboard/login",
        data={"token": world.tokens["alice"], "next": "/dashboard/jobs"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/jobs"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={world.tokens['alice']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    out = httpx.post(world.url + "/dashboard/logout", cookies={COOKIE: world.tokens["alice"]})
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    assert f'{COOKIE}="";' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]


def test_login_refuses_bad_tokens_other_sites_and_foreign_returns(world: World) -> None:
    bad = httpx.post(world.url + "/dashboard/login", data={"token": "cdb_nope"})
    assert bad.status_code == 401  # and whoever was signed in is not any more
    assert bad.headers["set-cookie"].startswith(f'{COOKIE}="";')
    assert "malformed API token" in main_text(bad)
    foreign = httpx.post(
        world.url + "/dashboard/login",
        data={"token": world.tokens["alice"]},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 400 and "set-cookie" not in foreign.headers
    for headers in ({"Origin": "null"}, {"Referer": "http://evil.example/page"}):
        framed = httpx.post(
            world.url + "/dashboard/login", data={"token": world.tokens["alice"]}, headers=headers
        )
        assert framed.status_code == 400 and "set-cookie" not in framed.headers, headers
    own = httpx.post(
        world.url + "/dashboard/login",
        data={"token": world.tokens["alice"]},
        headers={"Referer": world.url + "/dashboard/login"},
    )
    assert own.status_code == 303 and COOKIE in own.headers["set-cookie"]
    away = httpx.post(
        world.url + "/dashboard/login",
        data={"token": world.tokens["alice"], "next": "https://evil.example/dashboard/x"},
    )
    assert away.status_code == 303 and away.headers["location"] == "/dashboard/datasets"


def test_a_cookie_that_no_longer_authenticates_asks_to_log_in_again(world: World) -> None:
    stale = "cdb_0123456789abcdef_" + "A" * 43
    r = httpx.get(world.url + "/dashboard/datasets", cookies={COOKIE: stale})
    assert r.status_code == 401
    assert "unknown or revoked API token" in main_text(r)
    assert 'name="next" value="/dashboard/datasets"' in r.text
    assert f'{COOKIE}="";' in r.headers["set-cookie"]


def test_a_bearer_header_works_as_the_cookie_does(world: World) -> None:
    r = httpx.get(
        f"{world.url}/dashboard/datasets/{world.cook}/neurons/AVAL",
        headers={"Authorization": f"Bearer {world.tokens['dave']}"},
    )
    assert r.status_code == 404  # dave is in lab B
    ok = httpx.get(
        f"{world.url}/dashboard/datasets/{world.cook}/neurons/AVAL",
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert ok.status_code == 200 and "AVAL" in main_text(ok)


def test_bad_parameters_answer_400_pages(world: World) -> None:
    for path in (
        f"/dashboard/datasets/{world.cook}?level=colour",
        f"/dashboard/datasets/{world.cook}?min_weight=0",
        f"/dashboard/datasets/{world.cook}/census?null_model=none",
        f"/dashboard/datasets/{world.cook}/census?samples=100000",
    ):
        r = get(world, path, "alice")
        assert r.status_code == 400, path
        assert r.headers["content-type"].startswith("text/html")


def test_static_files_are_cached(world: World) -> None:
    page = get(world, f"/dashboard/datasets/{world.cook}", "alice").text
    src = re.search(r'<script src="(/dashboard/static/plotly-[0-9.]+\.min\.js)">', page)
    assert src
    js = httpx.get(world.url + src.group(1))
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert js.headers["cache-control"] == "public, max-age=86400"
    again = httpx.get(world.url + src.group(1), headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_neuron_page_shows_annotations_and_the_latest_model_outputs(
    world: World, runs: dict[str, str]
) -> None:
    """As the Neuron type resolves them: current annotations, the latest celltype_gnn
    prediction, embedding layout and anomaly score (none run here)."""
    value = f"<b>note {uuid.uuid4().hex[:6]}</b>"
    world.client("carol")(
        'mutation($ds: ID!, $v: String!) { annotateNeuron(dataset: $ds, neuron: "AVAL", '
        'key: "dashboard_test", value: $v) { id } }',
        ds=world.cook,
        v=value,
    )
    got = world.client("carol")(
        'query($ds: ID!) { neuron(dataset: $ds, id: "AVAL") { predictions { run label } '
        "embedding { run layout } } }",
        ds=world.cook,
    )["neuron"]
    r = get(world, f"/dashboard/datasets/{world.cook}/neurons/AVAL", "victor")
    assert r.status_code == 200
    assert html.escape(value) in r.text and value not in r.text  # shown, escaped
    text = main_text(r)
    assert f"dashboard_test {value} {world.users['carol']}" in " ".join(text.split())
    pred = got["predictions"]
    assert pred["run"] == runs["celltype_gnn"]
    assert f"{pred['label']} (confidence" in text and runs["celltype_gnn"] in text
    assert got["embedding"]["run"] == runs["embedding"] and runs["embedding"] in text
    assert "none (no anomaly run)" in text
