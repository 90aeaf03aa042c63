"""The dashboard's routes under /dashboard: server-rendered pages over the same reads,
analytics and read checks as the GraphQL API, with Plotly figures.

Who is asking comes from an HttpOnly cookie holding an API token (set by the login
form, scoped to /dashboard, SameSite=Strict) or an ``Authorization: Bearer`` header,
resolved by the API's own :meth:`AccessRepository.authenticate`; every dataset goes
through :meth:`AccessRepository.dataset` and every job or run through
:func:`readable_row`, so a dataset someone cannot read answers as a missing one."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache, partial
from typing import Annotated, Any, Final
from urllib.parse import parse_qs, urlparse

import plotly.offline
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from connectomedb.errors import BadInput, ConnectomeDBError, NotFound, Unauthenticated
from connectomedb.motifs.census import (
    CENSUS_SIZES,
    census_rows,
)
from connectomedb.motifs.named import RECIPROCITY_NULL
from connectomedb.motifs.nulls import NULL_MODELS
from connectomedb.schema.graph import LEVELS
from connectomedb.service.aggregates import Aggregates, census_result_from, statistics_from
from connectomedb.service.assets import package_folder
from connectomedb.service.dashboard import figures
from connectomedb.service.dashboard.pages import (
    PREFIX,
    Html,
    Versions,
    error_body,
    facts,
    figure,
    form,
    join,
    json_block,
    link,
    login_form,
    mapping_rows,
    number,
    number_input,
    page,
    select,
    table,
    tag,
    url,
)
from connectomedb.service.deps import SettingsDep, StoreDep, authenticate, bearer_token
from connectomedb.service.errors import HTTP_STATUS
from connectomedb.service.permissions import readable_row
from connectomedb.service.types.datasets import Dataset
from connectomedb.settings import Settings
from connectomedb.store.access import AccessRepository, DatasetAccess, Principal
from connectomedb.store.annotations import AnnotationRepository
from connectomedb.store.graphdb import Store
from connectomedb.store.jobs import JobRepository, ms_to_datetime
from connectomedb.store.neurons import NeuronRepository

log = logging.getLogger("connectomedb.dashboard")

#: the cookie that holds the API token
COOKIE: Final = "connectomedb_token"
#: HTTP status of each error code (as the API answers them)
STATUS: Final = HTTP_STATUS
#: pages with data are never cached (a page seen before logging out stays unseen after)
HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # plotly.js adds style elements and draws images from data: URLs
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
}
#: partners per direction on a neuron's page
PARTNERS: Final = 25
#: the dashboard's census: few samples by default so that the page answers quickly
CENSUS_SAMPLES: Final = 20
MAX_CENSUS_SAMPLES: Final = 500
#: jobs on the jobs page, spike trains in a raster, points in an embedding
JOBS: Final = 100
RASTER_TRAINS: Final = 200
MAX_POINTS: Final = 20_000
#: the largest login form body read
MAX_FORM_BYTES: Final = 8_192
LIVE: Final = ("queued", "running")


# -- static files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _assets() -> dict[str, Asset]:
    """The dashboard's script and style sheet and plotly.js (from the plotly wheel)."""
    folder = package_folder("connectomedb.service.dashboard", "static")
    found = {
        "dashboard.js": ((folder / "dashboard.js").read_bytes(), "text/javascript"),
        "dashboard.css": ((folder / "dashboard.css").read_bytes(), "text/css"),
        f"plotly-{plotly.offline.get_plotlyjs_version()}.min.js": (
            plotly.offline.get_plotlyjs().encode(),
            "text/javascript",
        ),
    }
    return {
        name: Asset(body, media, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        for name, (body, media) in found.items()
    }


@cache
def versions() -> Versions:
    own = _assets()["dashboard.js"].etag + _assets()["dashboard.css"].etag
    return Versions(
        plotly.offline.get_plotlyjs_version(), hashlib.sha256(own.encode()).hexdigest()[:12]
    )


# -- who is asking, and errors as pages ---------------------------------------------------


async def viewer(request: Request, store: StoreDep) -> Principal:
    """The caller: the cookie's token, else the Authorization header's, else anonymous."""
    token = request.cookies.get(COOKIE) or bearer_token(request)
    principal = await authenticate(request, store, token)
    request.state.dashboard_user = principal.user_id
    return principal


ViewerDep = Annotated[Principal, Depends(viewer)]


def render(
    request: Request,
    title: str,
    body: Any,
    *,
    plots: bool = False,
    heading: Any = None,
    status: int = 200,
) -> HTMLResponse:
    user = getattr(request.state, "dashboard_user", None)
    return HTMLResponse(
        page(title, body, user, versions(), plots=plots, heading=heading),
        status_code=status,
        headers=HEADERS,
    )


def login_page(request: Request, message: str | None, status: int = 200) -> HTMLResponse:
    nxt = request.query_params.get("next")
    if nxt is None and request.method == "GET" and request.url.path != url("login"):
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "Log in", login_form(message, safe_next(nxt)), status=status)


def safe_next(value: str | None) -> str | None:
    """A page to return to after logging in: only a path of this dashboard."""
    if not value:
        return None
    p = urlparse(value)
    if p.scheme or p.netloc or not p.path.startswith(PREFIX + "/") or "\\" in value:
        return None
    return value


class DashboardRoute(APIRoute):
    """Errors answer as pages: a token that does not authenticate, the login form (and
    the cookie is dropped); NOT_FOUND and the rest, an error page with the API's
    message and status; anything else, 'internal error' (logged)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated as e:
                r = login_page(request, str(e), status=401)
                r.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
                return r
            except ConnectomeDBError as e:
                if e.code not in STATUS:
                    log.error("internal error on %s", request.url.path, exc_info=e)
                    return render(request, "Error", error_body("internal error"), status=500)
                title = "Not found" if e.code == "NOT_FOUND" else "Error"
                return render(request, title, error_body(str(e)), status=STATUS[e.code])
            except RequestValidationError as e:
                where = "; ".join(
                    f"{'.'.join(map(str, x.get('loc', ())))}: {x.get('msg', '')}"
                    for x in e.errors()
                )
                return render(request, "Error", error_body(where or "bad request"), status=400)
            except Exception as e:  # answer with a page, whatever failed
                log.error("internal error on %s", request.url.path, exc_info=e)
                return render(request, "Error", error_body("internal error"), status=500)

        return handle


router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


@router.get("/static/{name}")
async def static(name: str, request: Request) -> Response:
    asset = _assets().get(name)
    if asset is None:
        raise NotFound(f"no file {name!r}")
    headers = {"ETag": asset.etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


# -- login --------------------------------------------------------------------------------


@router.get("")
@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse(url("datasets"), status_code=303)


@router.get("/login")
async def login_get(request: Request, who: ViewerDep) -> HTMLResponse:
    return login_page(request, None)


def _same_origin(request: Request) -> None:
    """Forms post from this server only: a browser names the page's origin (``null``
    from a sandboxed frame or a data: page, which is refused), or else its address in
    ``Referer``. A request with neither comes from no browser page and passes."""
    host = request.headers.get("host")
    origin = request.headers.get("origin")
    if origin is not None:
        if origin == "null" or urlparse(origin).netloc != host:
            raise BadInput("this form posts from the dashboard's own pages only")
        return
    referer = request.headers.get("referer")
    if referer is not None and urlparse(referer).netloc != host:
        raise BadInput("this form posts from the dashboard's own pages only")


@router.post("/login")
async def login_post(request: Request, store: StoreDep) -> Response:
    _same_origin(request)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadInput("the form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"))
    token = (fields.get("token") or [""])[0].strip()
    if not token:
        raise Unauthenticated("give an API token")
    await authenticate(request, store, token)  # Unauthenticated: the form again
    r = RedirectResponse(
        safe_next((fields.get("next") or [""])[0]) or url("datasets"), status_code=303
    )
    r.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return r


@router.post("/logout")
async def logout(request: Request) -> Response:
    _same_origin(request)
    r = RedirectResponse(url("login"), status_code=303)
    r.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return r


# -- datasets -----------------------------------------------------------------------------


def _level(value: str) -> str:
    if value not in LEVELS:
        raise BadInput(f"level must be one of {', '.join(LEVELS)}")
    return value


def _dataset_link(d: DatasetAccess | str) -> Html:
    ds = d if isinstance(d, str) else d.id
    return link(ds, url("datasets", ds))


@router.get("/datasets")
async def datasets(request: Request, store: StoreDep, who: ViewerDep) -> HTMLResponse:
    found = [Dataset.from_access(d, who) for d in await AccessRepository(store).datasets(who)]
    rows = [
        (
            _dataset_link(str(d.id)),
            d.name,
            d.species,
            d.version,
            d.visibility.value,
            d.status,
            d.neuron_count,
            d.connection_count,
            d.chemical_synapse_total,
        )
        for d in found
    ]
    headers = ("id", "name", "species", "version", "visibility", "status")
    body = (
        table((*headers, "neurons", "connections", "synapses"), rows, id="datasets")
        if rows
        else tag("p", "No dataset you can read.", class_="empty")
    )
    return render(request, "Datasets", body)


@router.get("/datasets/{ds}")
async def dataset_page(
    request: Request,
    ds: str,
    store: StoreDep,
    settings: SettingsDep,
    who: ViewerDep,
    level: str = "class",
    min_weight: Annotated[int, Query(ge=1)] = 1,
    metric: str = "synapses",
) -> HTMLResponse:
    _level(level)
    if metric not in figures.HEATMAP_METRICS:
        raise BadInput(f"metric must be one of {', '.join(figures.HEATMAP_METRICS)}")
    d = Dataset.from_access(await AccessRepository(store).dataset(who, ds), who)
    # the stored answers of networkStatistics(groupLevel:) and cellTypeConnectivity
    agg = Aggregates(store, settings, ds)
    value = await agg.network_statistics(None, min_weight, level)
    stats = statistics_from(value)
    entries = value["by_group"]
    types = await agg.cell_type_connectivity(level, min_weight)
    sizes = {k: v for k, v in types["sizes"]}
    hubs = await agg.hubs(min_weight, level)
    runs = await JobRepository(store).runs([ds], None, 0, 20)
    labels, z = figures.connectivity_matrix(sizes, types["pairs"], metric)
    controls = form(
        url("datasets", ds),
        select("level", LEVELS, level, "group level"),
        number_input("min_weight", min_weight, "min synapses", min=1),
        select("metric", figures.HEATMAP_METRICS, metric, "heatmap"),
    )
    body = join(
        [
            tag("p", d.description or d.name, class_="lead"),
            tag(
                "p",
                link("Motif census", url("datasets", ds, "census")),
                " · ",
                link("Jobs", url("jobs", dataset=ds)),
                class_="links",
            ),
            tag(
                "form",
                tag("label", "neuron id ", tag("input", name="id", required=True, size=12)),
                tag("button", "Open", type="submit"),
                action=url("datasets", ds, "neurons"),
                method="get",
                class_="controls",
            ),
            tag("h2", "Counts"),
            facts(
                [
                    ("neurons", d.neuron_count),
                    ("non-neuronal cells", d.non_neuronal_count),
                    ("connections", d.connection_count),
                    ("chemical synapses", d.chemical_synapse_total),
                    ("gap junction pairs", d.gap_junction_count),
                    ("gap junctions", d.gap_junction_total),
                    ("synapse nodes", d.synapse_count),
                    ("visibility", d.visibility.value),
                    ("citation", d.citation),
                    ("licence", d.license),
                ]
            ),
            controls,
            tag("h2", f"Network statistics (connections of at least {min_weight} synapses)"),
            facts(
                [
                    ("neurons", stats.neurons),
                    ("connections", stats.connections),
                    ("density", number(stats.density)),
                    ("reciprocal pairs", stats.reciprocal_pairs),
                    ("expected reciprocal pairs", number(stats.reciprocal_pairs_expected)),
                    ("reciprocity enrichment", number(stats.reciprocity_enrichment)),
                    ("null model", stats.null_model),
                    ("clustering coefficient", number(stats.clustering_coefficient)),
                    ("transitivity", number(stats.transitivity)),
                ]
            ),
            figure(
                figures.degree_distributions(
                    stats.in_degree_distribution, stats.out_degree_distribution
                ),
                "degrees",
            ),
            tag("h2", "Most connected neurons"),
            table(
                ("neuron", "in-degree", "out-degree", level),
                [
                    (
                        link(h["id"], url("datasets", ds, "neurons", h["id"])),
                        h["in_degree"],
                        h["out_degree"],
                        figures.group_label(h["group"]),
                    )
                    for h in hubs
                ],
            ),
            tag("h2", "Cell-type connectivity"),
            figure(figures.connectivity_heatmap(labels, z, metric, level), "connectivity"),
            tag("h2", "Reciprocity by group"),
            tag("p", f"Null model: {RECIPROCITY_NULL}", class_="hint"),
            figure(figures.reciprocity_bars(entries), "reciprocity"),
            tag("h2", "Model runs"),
            _runs_table(runs)
            if runs
            else tag("p", "No model runs on this dataset.", class_="empty"),
        ]
    )
    return render(request, d.name, body, plots=True, heading=join([d.name, " ", tag("small", ds)]))


def _when(ms: int | None) -> str:
    t = ms_to_datetime(ms)
    return t.isoformat(timespec="seconds") if t else ""


def _runs_table(runs: list[dict[str, Any]]) -> Html:
    return table(
        ("run", "kind", "created", "outputs", "seed", "code version"),
        [
            (
                link(r["id"], url("runs", r["id"])),
                r["kind"],
                _when(r.get("created_at")),
                r.get("outputs") or 0,
                r.get("seed"),
                r.get("code_version"),
            )
            for r in runs
        ],
        id="runs",
    )


# -- neurons ------------------------------------------------------------------------------


@router.get("/datasets/{ds}/neurons")
async def neuron_lookup(
    ds: str, store: StoreDep, who: ViewerDep, id: Annotated[str, Query(min_length=1)]
) -> RedirectResponse:
    await AccessRepository(store).dataset(who, ds)
    return RedirectResponse(url("datasets", ds, "neurons", id.strip()), status_code=303)


def _partner_rows(ds: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            link(r["cell"]["id"], url("datasets", ds, "neurons", r["cell"]["id"])),
            r["cell"].get("type"),
            r["cell"].get("class"),
            r["synapse_count"],
            r.get("nt_type"),
        )
        for r in rows
    ]


@router.get("/datasets/{ds}/neurons/{nid}")
async def neuron_page(
    request: Request,
    ds: str,
    nid: str,
    store: StoreDep,
    who: ViewerDep,
    min_weight: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    await AccessRepository(store).dataset(who, ds)
    repo = NeuronRepository(store, ds)
    cell = (await repo.cells([nid])).get(nid)
    if cell is None:
        raise NotFound(f"neuron {nid!r} not found in dataset {ds!r}")
    jobs = JobRepository(store)
    # as the Neuron type resolves upstream, downstream, gapJunctions, annotations,
    # predictions, embedding and anomalyScore
    up, down, gaps, notes = await asyncio.gather(
        repo.partners("upstream", [nid], min_weight, None, PARTNERS),
        repo.partners("downstream", [nid], min_weight, None, PARTNERS),
        repo.gap_junctions([nid], None, PARTNERS),
        AnnotationRepository(store, ds).of([nid], False),
    )
    pred, emb, anomaly = await asyncio.gather(
        *(jobs.neuron_outputs(ds, k, None, [nid]) for k in ("celltype_gnn", "embedding", "anomaly"))
    )
    upstream, downstream = up.get(nid, []), down.get(nid, [])
    shown = ("name", "kind", "type", "class", "superclass", "side", "region", "neurotransmitter")
    counts = ("in_degree", "out_degree", "pre_synapses", "post_synapses")
    partner_headers = ("partner", "type", "class", "synapses", "transmitter")
    p = pred.get(nid)
    e = emb.get(nid)
    a = anomaly.get(nid)
    outputs = [
        (
            "cell-type prediction",
            join([p["label"], f" (confidence {number(p['score'], 3)}, run ", _run(p["run"]), ")"])
            if p
            else "none (no celltype_gnn run)",
        ),
        (
            "embedding layout",
            join(
                [", ".join(number(x, 3) for x in e["layout"] or []), " (run ", _run(e["run"]), ")"]
            )
            if e
            else "none (no embedding run)",
        ),
        (
            "anomaly score",
            join([number(a["score"], 3), " (run ", _run(a["run"]), ")"])
            if a
            else "none (no anomaly run)",
        ),
    ]
    body = join(
        [
            tag("p", link(f"← {ds}", url("datasets", ds)), class_="links"),
            facts([(k, cell.get(k)) for k in shown] + [(k, cell.get(k) or 0) for k in counts]),
            form(
                url("datasets", ds, "neurons", nid),
                number_input("min_weight", min_weight, "min synapses", min=1),
            ),
            figure(figures.partner_bars(upstream, downstream), "partners"),
            tag("h2", f"Upstream partners (top {PARTNERS})"),
            table(partner_headers, _partner_rows(ds, upstream), id="upstream"),
            tag("h2", f"Downstream partners (top {PARTNERS})"),
            table(partner_headers, _partner_rows(ds, downstream), id="downstream"),
            tag("h2", "Gap junctions"),
            table(
                ("partner", "gap junctions"),
                [
                    (
                        link(r["cell"]["id"], url("datasets", ds, "neurons", r["cell"]["id"])),
                        r["count"],
                    )
                    for r in gaps.get(nid, [])
                ],
            ),
            tag("h2", "Annotations"),
            table(
                ("key", "value", "author", "when"),
                [
                    (n["key"], n["value"], n["author"], str(n["created_at"]))
                    for n in notes.get(nid, [])
                ],
                id="annotations",
            )
            if notes.get(nid)
            else tag("p", "No annotations.", class_="empty"),
            tag("h2", "Predictions and other model outputs (latest run of each kind)"),
            facts(outputs),
        ]
    )
    return render(
        request,
        f"{nid} in {ds}",
        body,
        plots=True,
        heading=join([cell.get("name") or nid, " ", tag("small", ds)]),
    )


def _run(run_id: str) -> Html:
    return link(run_id, url("runs", run_id))


# -- motif census -------------------------------------------------------------------------


@router.get("/datasets/{ds}/census")
async def census_page(
    request: Request,
    ds: str,
    store: StoreDep,
    settings: SettingsDep,
    who: ViewerDep,
    null_model: str = "degree_preserving",
    samples: Annotated[int, Query(ge=1, le=MAX_CENSUS_SAMPLES)] = CENSUS_SAMPLES,
    seed: int = 0,
    size: int = 3,
    min_weight: Annotated[int, Query(ge=1)] = 1,
    type_level: str = "class",
) -> HTMLResponse:
    """The motifCensus field's code path: the same subgraph read and census against
    the same null models, within the census time budget."""
    await AccessRepository(store).dataset(who, ds)
    _level(type_level)
    if null_model not in NULL_MODELS:
        raise BadInput(f"null model must be one of {', '.join(NULL_MODELS)}")
    if size not in CENSUS_SIZES:
        raise BadInput(f"size must be one of {', '.join(map(str, CENSUS_SIZES))}")
    if samples > settings.max_census_samples:
        raise BadInput(f"samples must be between 1 and {settings.max_census_samples}")
    sbm = null_model == "cell_type_sbm"
    started = time.monotonic()
    value = await Aggregates(store, settings, ds).census(
        None,
        min_weight,
        null_model=null_model,
        samples=samples,
        seed=seed,
        size=size,
        type_level=type_level if sbm else None,
        budget_s=settings.census_time_budget_s,
    )
    took = time.monotonic() - started
    r = census_result_from(value["result"])
    rows = census_rows(r)
    controls = form(
        url("datasets", ds, "census"),
        select("null_model", list(NULL_MODELS), null_model, "null model"),
        number_input("samples", samples, "samples", min=1, max=MAX_CENSUS_SAMPLES),
        number_input("seed", seed, "seed"),
        select("size", [str(s) for s in CENSUS_SIZES], str(size), "size"),
        number_input("min_weight", min_weight, "min synapses", min=1),
        select("type_level", LEVELS, type_level, "SBM level"),
    )
    body = join(
        [
            tag("p", link(f"← {ds}", url("datasets", ds)), class_="links"),
            controls,
            facts(
                [
                    ("neurons", value["neurons"]),
                    ("connections", value["connections"]),
                    ("null model", r.null_description),
                    ("samples", samples),
                    ("seed", seed),
                    ("seconds", f"{took:.1f}"),
                ]
            ),
            figure(figures.census_z_bars(rows, r.null_description), "census"),
            table(
                ("class", "edges", "observed", "null mean", "null std", "z", "p ≥", "p ≤"),
                [
                    (
                        c["name"],
                        " ".join(c["edges"]),
                        c["observed"],
                        number(c["null_mean"]),
                        number(c["null_std"]),
                        number(c["z"], 3),
                        number(c["p_greater"], 3),
                        number(c["p_less"], 3),
                    )
                    for c in rows
                ],
                id="census",
            ),
        ]
    )
    return render(request, f"Motif census of {ds}", body, plots=True)


# -- jobs ---------------------------------------------------------------------------------


def _job_state(j: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": j["id"],
        "status": j["status"],
        "progress": float(j.get("progress") or 0.0),
        "message": j.get("message") or "",
        "error": j.get("error"),
        "run": j.get("run_id"),
        "run_url": url("runs", j["run_id"]) if j.get("run_id") else None,
    }


@router.get("/jobs")
async def jobs_page(
    request: Request,
    store: StoreDep,
    who: ViewerDep,
    dataset: str | None = None,
    mine: bool = False,
) -> HTMLResponse:
    """Jobs on the datasets the caller reads (or on one), newest first; the page polls
    the state of the queued and running ones every second."""
    access = AccessRepository(store)
    if dataset is not None:
        readable = [(await access.dataset(who, dataset)).id]
    else:
        readable = [d.id for d in await access.datasets(who)]
    if mine and not who.user_id:
        readable = []  # nobody signed in has requested nothing
    by = who.user_id if mine else None
    repo = JobRepository(store)
    found = await repo.jobs(readable, None, None, 0, JOBS, requested_by=by) if readable else []
    rows = []
    for j in found:
        s = _job_state(j)
        live = s["status"] in LIVE
        rows.append(
            tag(
                "tr",
                tag("td", j["id"]),
                tag("td", j["kind"]),
                tag("td", _dataset_link(j["dataset"])),
                tag("td", s["status"], class_="status"),
                tag(
                    "td",
                    tag("progress", f"{s['progress']:.0%}", max="1", value=f"{s['progress']:.3f}"),
                    " ",
                    tag("span", f"{s['progress']:.0%}", class_="percent"),
                ),
                tag("td", s["error"] or s["message"], class_="message"),
                tag("td", _run(s["run"]) if s["run"] else "", class_="run"),
                tag("td", j.get("requested_by") or ""),
                tag("td", _when(j.get("created_at"))),
                data_job=j["id"],
                data_state=url("api", "jobs", j["id"]),
                data_live="1" if live else None,
            )
        )
    filters = join(
        [
            link("all jobs", url("jobs", dataset=dataset)),
            " · ",
            link("requested by me", url("jobs", dataset=dataset, mine=1)) if who.user_id else "",
        ]
    )
    headers = ("job", "kind", "dataset", "status", "progress", "message", "run")
    body = join(
        [
            tag("p", filters, class_="links"),
            tag(
                "table",
                tag("thead", tag("tr", *(tag("th", h) for h in (*headers, "by", "created")))),
                tag("tbody", *rows),
                id="jobs",
            )
            if rows
            else tag("p", "No jobs.", class_="empty"),
        ]
    )
    title = f"Jobs on {dataset}" if dataset else "Jobs"
    return render(request, title, body)


@router.get("/api/jobs/{job_id}")
async def job_state(job_id: str, store: StoreDep, who: ViewerDep) -> JSONResponse:
    """A job's status and progress, for the jobs page's poll (the job query's check)."""
    j = await readable_row(
        await JobRepository(store).job(job_id),
        partial(AccessRepository(store).dataset, who),
        f"job {job_id!r}",
    )
    return JSONResponse(_job_state(j), headers={"Cache-Control": "no-store"})


# -- model runs ---------------------------------------------------------------------------


async def _readable_run(store: Store, who: Principal, run_id: str) -> dict[str, Any]:
    return await readable_row(
        await JobRepository(store).run(run_id),
        partial(AccessRepository(store).dataset, who),
        f"model run {run_id!r}",
    )


def _loads(text: str | None) -> Any:
    """A run's params or metrics, stored as JSON text."""
    return json.loads(text) if text else None


def _metrics(run: dict[str, Any]) -> dict[str, Any]:
    m = _loads(run.get("metrics"))
    return m if isinstance(m, dict) else {}


@router.get("/runs/{run_id}/files/{name}")
async def run_file(
    run_id: str, name: str, store: StoreDep, settings: SettingsDep, who: ViewerDep
) -> FileResponse:
    from connectomedb.simulate.files import run_file as find

    run = await _readable_run(store, who, run_id)
    path, media = find(settings.artifacts, run["metrics"], name)
    return FileResponse(
        path, media_type=media, filename=name, headers={"Cache-Control": "no-store"}
    )


@router.get("/runs/{run_id}")
async def run_page(
    request: Request,
    run_id: str,
    store: StoreDep,
    settings: SettingsDep,
    who: ViewerDep,
    method: str | None = None,
    level: str = "class",
    condition: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Whatever a run's metrics and files hold, drawn by its kind; every PNG it wrote
    shown beside."""
    _level(level)
    run = await _readable_run(store, who, run_id)
    metrics = _metrics(run)
    kind = run["kind"]
    parts: list[Any] = []
    notes: list[str] = []
    if kind == "celltype_gnn":
        parts += _celltype(run_id, metrics, method, notes)
    elif kind == "embedding":
        parts += await _embedding(store, run, metrics, level, notes)
    elif kind == "simulate":
        parts += await _simulation(settings, metrics, condition, notes)
    elif kind == "structure_function":
        parts += _structure_function(metrics, notes)
    elif kind == "census" and metrics.get("classes"):
        parts.append(
            figure(figures.census_z_bars(metrics["classes"], metrics["null_description"]), "census")
        )
    elif kind == "anomaly" and metrics.get("top"):
        parts.append(figure(figures.anomaly_bars(metrics["top"]), "anomaly"))
    else:
        notes.append(f"{kind} runs have no figures of their own here: their metrics follow.")
    files = [str(f) for f in metrics.get("files") or []]
    images = [f for f in files if f.endswith(".png")]
    body = join(
        [
            tag("p", link(f"← {run['dataset']}", url("datasets", run["dataset"])), class_="links"),
            facts(
                [
                    ("kind", kind),
                    ("dataset", _dataset_link(run["dataset"])),
                    ("job", run.get("job")),
                    ("created", _when(run.get("created_at"))),
                    ("seed", run.get("seed")),
                    ("code version", run.get("code_version")),
                    ("outputs", run.get("outputs") or 0),
                ]
            ),
            *(tag("p", n, class_="note") for n in notes),
            *parts,
            tag("h2", "Files") if files else "",
            tag(
                "ul",
                *(tag("li", link(f, url("runs", run_id, "files", f))) for f in files),
                class_="files",
            )
            if files
            else "",
            *(
                tag(
                    "figure",
                    tag("img", src=url("runs", run_id, "files", f), alt=f),
                    tag("figcaption", f),
                    class_="png",
                )
                for f in images
            ),
            tag("h2", "Metrics"),
            facts(mapping_rows(metrics)),
            tag("details", tag("summary", "all metrics (JSON)"), json_block(metrics)),
            tag("h2", "Parameters"),
            json_block(_loads(run.get("params"))),
        ]
    )
    return render(request, f"{kind} run {run_id}", body, plots=bool(parts))


def _celltype(
    run_id: str, metrics: dict[str, Any], method: str | None, notes: list[str]
) -> list[Any]:
    scores: dict[str, Any] = metrics.get("scores") or {}
    labels = [str(x) for x in metrics.get("labels") or []]
    if not scores or not labels:
        notes.append("This run's metrics hold no scores to draw.")
        return []
    chosen = method or metrics.get("predictions_from") or next(iter(scores))
    if chosen not in scores:
        raise BadInput(f"method must be one of {', '.join(scores)}")
    s = scores[chosen]
    return [
        tag("h2", "Held-out scores per method"),
        table(
            ("method", "accuracy", "macro-F1", "confusion matrix"),
            [
                (
                    m + (" (predictions)" if m == metrics.get("predictions_from") else ""),
                    f"{number(v['accuracy_mean'], 3)} ± {number(v['accuracy_std'], 2)}",
                    f"{number(v['macro_f1_mean'], 3)} ± {number(v['macro_f1_std'], 2)}",
                    "shown" if m == chosen else link("show", url("runs", run_id, method=m)),
                )
                for m, v in scores.items()
            ],
            id="scores",
        ),
        tag("h2", f"Confusion matrix of {chosen}"),
        figure(figures.confusion_heatmap(labels, s["confusion"]), "confusion"),
    ]


async def _embedding(
    store: Store, run: dict[str, Any], metrics: dict[str, Any], level: str, notes: list[str]
) -> list[Any]:
    rows = await JobRepository(store).run_outputs(run["id"], 0, MAX_POINTS)
    rows = [r for r in rows if r.get("layout")]
    if not rows:
        notes.append("This run stored no 2-D layouts to draw.")
        return []
    if int(run.get("outputs") or 0) > len(rows):
        notes.append(f"The first {len(rows)} neurons by id are drawn.")
    cells = await NeuronRepository(store, run["dataset"]).cells([r["neuron"] for r in rows])
    points = [
        (
            r["neuron"],
            float(r["layout"][0]),
            float(r["layout"][1]),
            (cells.get(r["neuron"]) or {}).get(level),
        )
        for r in rows
    ]
    return [
        form("", select("level", LEVELS, level, "colour by")),
        figure(figures.embedding_scatter(points), "embedding"),
    ]


async def _simulation(
    settings: Settings, metrics: dict[str, Any], condition: int, notes: list[str]
) -> list[Any]:
    from connectomedb.simulate.files import spike_trains

    conds = metrics.get("conditions") or []
    out: list[Any] = []
    if conds and metrics.get("bin_ms"):
        out.append(
            figure(
                figures.population_rate(
                    float(metrics["bin_ms"]),
                    [(str(c["name"]), c["population_rate_hz"]) for c in conds],
                ),
                "rate",
            )
        )
    if len(conds) > 1:
        out.append(
            form(
                "",
                select(
                    "condition",
                    [str(i) for i in range(len(conds))],
                    str(condition),
                    "raster of condition",
                ),
            )
        )
    try:
        trains = await asyncio.to_thread(
            spike_trains, settings.artifacts, metrics, condition, 0, None, RASTER_TRAINS
        )
    except (NotFound, BadInput) as e:
        notes.append(f"No raster: {e}.")
        return out
    name = conds[condition]["name"] if condition < len(conds) else str(condition)
    shown = (
        f"the {len(trains)} most active neurons"
        if len(trains) == RASTER_TRAINS
        else f"the {len(trains)} neurons that fired"
    )
    out.append(
        figure(
            figures.spike_raster(
                [(nid, t.tolist()) for nid, t in trains],
                f"Spike raster, {name}, trial 0 ({shown})",
                float(metrics["seconds"]) * 1000 if metrics.get("seconds") else None,
            ),
            "raster",
        )
    )
    return out


def _structure_function(metrics: dict[str, Any], notes: list[str]) -> list[Any]:
    out: list[Any] = []
    pw = metrics.get("pairwise")
    if pw:
        out += [
            tag("h2", "Function by wiring"),
            figure(figures.functional_by_wiring(pw), "functional"),
            figure(figures.odds_ratios(pw), "odds"),
        ]
    for i, (prop, ll) in enumerate(sorted((metrics.get("like_to_like") or {}).items())):
        out += [
            tag("h2", f"Like-to-like: {prop}"),
            figure(figures.like_to_like(ll, prop), f"ll{i}"),
        ]
    if not out:
        notes.append("This run's metrics hold neither pairwise nor like-to-like results.")
    for c in metrics.get("caveats") or []:
        notes.append(str(c))
    return out
