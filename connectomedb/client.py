"""A Python client for the connectomedb API, returning pandas DataFrames::

    from connectomedb.client import Client

    c = Client("http://127.0.0.1:8000")            # token from CONNECTOMEDB_TOKEN, if set
    neurons = c.fetch_neurons("cook2019_herm", cls="interneuron")
    edges = c.fetch_adjacencies("cook2019_herm", sources=["AVAL", "AVAR"], min_weight=3)
    g = c.to_networkx(neurons, edges)

Every method wraps one GraphQL query (or the export route) and pages by itself: lists
are read a page at a time with the server's cursors (keyset pages of 20 000 connections
as columns for ``fetch_adjacencies``), and long lists of named cells are split into
requests sent a few at once, so there is no batch size to tune. Errors are :class:`ClientError` with the
server's code (``NOT_FOUND``, ``FORBIDDEN``, ``BAD_INPUT``, ``TIMEOUT``, ...). Nothing
is printed except the progress bars asked for (``wait`` shows one by default).

The module needs httpx and pandas only; ``to_networkx`` imports networkx and ``to_pyg``
torch and torch_geometric when called.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

#: rows per request: the server's default page limit (``CONNECTOMEDB_MAX_PAGE_SIZE``)
PAGE = 1000
#: connections per ``adjacency`` request (the server allows up to its maxColumnRows)
COLUMN_ROWS = 20_000
#: requests in flight at once for whole-dataset reads
PARALLEL = 4
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")

NEURON_FIELDS = (
    "id name kind type class superclass side region neurotransmitter sign "
    "inDegree outDegree preSynapses postSynapses gapJunctionDegree"
)
CONNECTION_FIELDS = "pre post synapseCount weight psdAreaTotal ntType neuropils"
DATASET_FIELDS = (
    "id name species version source citation license description status visibility "
    "ownerLab sharedWith loadedAt neuronCount nonNeuronalCount connectionCount "
    "chemicalSynapseTotal gapJunctionCount gapJunctionTotal synapseCount"
)
JOB_FIELDS = (
    "id kind dataset status progress message attempts error queue createdAt startedAt "
    "finishedAt runId"
)
CENSUS_FIELDS = (
    "neurons connections size nullModel nullDescription samples seed minWeight typeLevel "
    "classes { name connected edges observed nullMean nullStd z pGreater pLess }"
)
STATISTICS_FIELDS = (
    "neurons connections autapses density reciprocalPairs reciprocalPairsExpected "
    "reciprocityEnrichment reciprocity meanConvergence meanDivergence "
    "clusteringCoefficient transitivity nullModel minWeight "
    "inDegreeDistribution { degree count } outDegreeDistribution { degree count }"
)
#: keyword -> NeuronFilterInput field (``cls`` stands for ``class``)
FILTERS = {
    "ids": "ids",
    "name": "name",
    "name_starts_with": "nameStartsWith",
    "type": "type",
    "cls": "class",
    "class_": "class",
    "superclass": "superclass",
    "side": "side",
    "neurotransmitter": "neurotransmitter",
    "region": "region",
    "min_in_degree": "minInDegree",
    "max_in_degree": "maxInDegree",
    "min_out_degree": "minOutDegree",
    "max_out_degree": "maxOutDegree",
}


class ClientError(Exception):
    """An error answered by the server (``code`` is its error code) or the transport
    (``code`` is ``UNAVAILABLE`` when the server cannot be reached)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class JobFailed(ClientError):
    """A job that ended FAILED or CANCELLED; ``job`` holds its last state."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job["status"], job.get("error") or job.get("message") or "")
        self.job = job


def snake(name: str) -> str:
    """camelCase -> snake_case (``inDegree`` -> ``in_degree``)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def neuron_filter(filters: dict[str, Any]) -> dict[str, Any] | None:
    """Keyword filters as a ``NeuronFilterInput``; an unknown keyword is refused here,
    with the names that are accepted."""
    out = {}
    for key, value in filters.items():
        if key not in FILTERS:
            raise ClientError(
                "BAD_INPUT", f"unknown filter {key!r}; filters: {', '.join(sorted(FILTERS))}"
            )
        if value is not None:
            out[FILTERS[key]] = list(value) if key == "ids" else value
    return out or None


def frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows of GraphQL objects as a DataFrame with snake_case columns, in ``columns``'
    order even when there are no rows."""
    df = pd.DataFrame(rows, columns=list(columns))
    return df.rename(columns={c: snake(c) for c in columns})


def chunks_by_degree(ids: Sequence[str], degrees: Sequence[int], limit: int) -> list[list[str]]:
    """Consecutive groups of ids whose degrees add up to at most ``limit`` (a neuron of a
    larger degree alone), and at most ``limit`` ids each: one request per group then
    returns at most one page, save for the hubs, whose requests page."""
    out: list[list[str]] = []
    group: list[str] = []
    total = 0
    for nid, d in zip(ids, degrees, strict=True):
        d = max(int(d), 0)
        if group and (total + d > limit or len(group) >= limit):
            out.append(group)
            group, total = [], 0
        group.append(nid)
        total += d
    if group:
        out.append(group)
    return out


class Client:
    """The API at ``url`` (e.g. ``http://127.0.0.1:8000``) with a bearer ``token``
    (default: the ``CONNECTOMEDB_TOKEN`` environment variable; none: public data only)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        token = token if token is not None else os.environ.get("CONNECTOMEDB_TOKEN") or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=PARALLEL * 2),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------
    def query(self, text: str, **variables: Any) -> dict[str, Any]:
        """The data of one GraphQL request; the first error raised as :class:`ClientError`."""
        try:
            r = self._http.post("/graphql", json={"query": text, "variables": variables})
        except httpx.HTTPError as e:
            raise ClientError("UNAVAILABLE", f"{self.url}: {e}") from e
        try:
            body = r.json()
        except ValueError:
            raise ClientError(
                "INTERNAL", f"HTTP {r.status_code}: {r.text[:200]}", r.status_code
            ) from None
        if body.get("errors"):
            first = body["errors"][0]
            code = (first.get("extensions") or {}).get("code", "INTERNAL")
            raise ClientError(code, first.get("message", ""), r.status_code)
        if r.status_code >= 400 or body.get("data") is None:
            raise ClientError("INTERNAL", f"HTTP {r.status_code}", r.status_code)
        return dict(body["data"])

    def _pages(
        self, text: str, path: Callable[[dict[str, Any]], dict[str, Any]], **variables: Any
    ) -> Iterator[dict[str, Any]]:
        """Every node of a cursor-paged list: ``path`` picks the connection object
        (``edges``, ``pageInfo``) out of each answer."""
        after = None
        while True:
            page = path(self.query(text, **variables, after=after))
            for e in page["edges"]:
                yield e["node"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    # -- datasets and neurons -----------------------------------------------------------
    def datasets(self) -> pd.DataFrame:
        """The datasets the token can read, one row each."""
        rows = self.query(f"{{ datasets {{ {DATASET_FIELDS} }} }}")["datasets"]
        return frame(rows, DATASET_FIELDS.split())

    def fetch_neurons(self, dataset: str, **filters: Any) -> pd.DataFrame:
        """The dataset's neurons (muscles, glia and other non-neuronal cells are left
        out, as in the ``neurons`` field) that pass the filters, in id order:
        ``ids``, ``name``, ``name_starts_with``, ``type``, ``cls`` (class), ``superclass``,
        ``side``, ``neurotransmitter``, ``region``, ``min_in_degree`` ... ``max_out_degree``."""
        text = (
            "query($d: ID!, $f: NeuronFilterInput, $first: Int!, $after: String) {"
            " neurons(dataset: $d, filter: $f, first: $first, after: $after) {"
            f" edges {{ node {{ {NEURON_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
        rows = list(
            self._pages(
                text, lambda d: d["neurons"], d=dataset, f=neuron_filter(filters), first=PAGE
            )
        )
        return frame(rows, NEURON_FIELDS.split())

    # -- connections --------------------------------------------------------------------
    def _requests(
        self,
        dataset: str,
        sources: Sequence[str] | None,
        targets: Sequence[str] | None,
        degree: Callable[[], tuple[list[str], list[int]]] | None = None,
    ) -> list[tuple[list[str] | None, list[str] | None]]:
        """(pre, post) id lists, one per request: the named ids in pieces of at most a
        page, split by presynaptic cell (postsynaptic when only targets are named).
        Without names, one open request, or, when ``degree`` gives (cells, number of
        connections of each), the cells grouped so that each request returns about a
        page."""
        by_pre = sources is not None or targets is None
        split = sources if by_pre else targets
        other = list(targets) if by_pre and targets is not None else None
        if (split is not None and not split) or (other is not None and not other):
            return []
        groups: list[list[str] | None]
        if split is not None:
            named = list(split)
            groups = [named[i : i + PAGE] for i in range(0, len(named), PAGE)]
        elif degree is not None:
            ids, counts = degree()
            groups = list(chunks_by_degree(ids, counts, PAGE))
        else:
            groups = [None]
        others: list[list[str] | None] = (
            [other[i : i + PAGE] for i in range(0, len(other), PAGE)] if other else [None]
        )
        return [(g, o) if by_pre else (o, g) for g in groups for o in others]

    def _parallel(self, tasks: list[Any], read: Callable[[Any], list[Any]]) -> list[Any]:
        """``read`` of every task, a few at once, results concatenated in task order."""
        with ThreadPoolExecutor(PARALLEL) as pool:
            return [r for part in pool.map(read, tasks) for r in part]

    def fetch_adjacencies(
        self,
        dataset: str,
        sources: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
        min_weight: int = 1,
    ) -> pd.DataFrame:
        """Chemical connections from ``sources`` to ``targets`` (either or both may be
        left out: every neuron) with at least ``min_weight`` synapses, as (pre, post,
        weight = synapse count), sorted by pre then post. Read as columns
        (``adjacency``, keyset pages of :data:`COLUMN_ROWS` connections)."""
        text = (
            "query($d: ID!, $pre: [ID!], $post: [ID!], $w: Int!, $first: Int!, $after: String) {"
            " adjacency(dataset: $d, pre: $pre, post: $post, minWeight: $w, first: $first,"
            " after: $after) { pre post synapseCount hasNextPage endCursor } }"
        )

        def read(task: tuple[list[str] | None, list[str] | None]) -> list[pd.DataFrame]:
            out, after = [], None
            while True:
                a = self.query(
                    text,
                    d=dataset,
                    pre=task[0],
                    post=task[1],
                    w=min_weight,
                    first=COLUMN_ROWS,
                    after=after,
                )["adjacency"]
                out.append(
                    pd.DataFrame({"pre": a["pre"], "post": a["post"], "weight": a["synapseCount"]})
                )
                if not a["hasNextPage"]:
                    return out
                after = a["endCursor"]

        parts = self._parallel(self._requests(dataset, sources, targets), read)
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        df = df.reindex(columns=["pre", "post", "weight"])
        df = df.astype({"pre": object, "post": object, "weight": "int64"})
        return df.sort_values(["pre", "post"], ignore_index=True, kind="stable")

    def fetch_connections(
        self,
        dataset: str,
        sources: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
        min_weight: int = 1,
    ) -> pd.DataFrame:
        """As :meth:`fetch_adjacencies`, with every field of a connection (synapse
        count, weight, PSD area, neurotransmitter type, neuropils), read a page of rows
        at a time (``connections``); a whole dataset's are requested in groups of
        presynaptic cells that each fit in a page, found from :meth:`fetch_adjacencies`."""
        text = (
            "query($d: ID!, $pre: [ID!], $post: [ID!], $w: Int!, $first: Int!, $after: String) {"
            " connections(dataset: $d, pre: $pre, post: $post, minWeight: $w, first: $first,"
            f" after: $after) {{ edges {{ node {{ {CONNECTION_FIELDS} }} }}"
            " pageInfo { hasNextPage endCursor } } }"
        )

        def read(task: tuple[list[str] | None, list[str] | None]) -> list[dict[str, Any]]:
            return list(
                self._pages(
                    text,
                    lambda d: d["connections"],
                    d=dataset,
                    pre=task[0],
                    post=task[1],
                    w=min_weight,
                    first=PAGE,
                )
            )

        def degree() -> tuple[list[str], list[int]]:
            """Every presynaptic cell and its number of connections (any kind of cell)."""
            counts = self.fetch_adjacencies(dataset, min_weight=min_weight)["pre"]
            per = counts.value_counts(sort=False).sort_index()
            return per.index.tolist(), per.tolist()

        tasks = self._requests(dataset, sources, targets, degree)
        rows = self._parallel(tasks, read)
        rows.sort(key=lambda r: (r["pre"], r["post"]))
        return frame(rows, CONNECTION_FIELDS.split())

    # -- motifs and statistics ----------------------------------------------------------
    def motif_search(
        self,
        dataset: str,
        motif: str,
        exclude_automorphisms: bool = False,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Matches of a DotMotif motif, one row per match and one column per variable
        (up to ``limit`` rows; all by default)."""
        text = (
            "query($d: ID!, $m: String!, $x: Boolean!, $first: Int!, $after: String) {"
            " motifSearch(dataset: $d, motif: $m, excludeAutomorphisms: $x, first: $first,"
            " after: $after) { variables matches { bindings { variable neuron } }"
            " pageInfo { hasNextPage endCursor } } }"
        )
        rows: list[dict[str, str]] = []
        variables: list[str] = []
        after = None
        while limit is None or len(rows) < limit:
            first = PAGE if limit is None else min(PAGE, limit - len(rows))
            r = self.query(
                text, d=dataset, m=motif, x=exclude_automorphisms, first=first, after=after
            )
            res = r["motifSearch"]
            variables = res["variables"]
            rows += [{b["variable"]: b["neuron"] for b in m["bindings"]} for m in res["matches"]]
            if not res["pageInfo"]["hasNextPage"]:
                break
            after = res["pageInfo"]["endCursor"]
        return pd.DataFrame(rows, columns=variables)

    def motif_count(self, dataset: str, motif: str, exclude_automorphisms: bool = False) -> int:
        """The number of matches of a motif (``countOnly``)."""
        text = (
            "query($d: ID!, $m: String!, $x: Boolean!) { motifSearch(dataset: $d, motif: $m,"
            " excludeAutomorphisms: $x, countOnly: true) { count } }"
        )
        return int(
            self.query(text, d=dataset, m=motif, x=exclude_automorphisms)["motifSearch"]["count"]
        )

    def motif_census(
        self,
        dataset: str,
        null_model: str = "DEGREE_PRESERVING",
        size: int = 3,
        samples: int = 100,
        seed: int = 0,
        min_weight: int = 1,
        type_level: str = "CLASS",
        **filters: Any,
    ) -> pd.DataFrame:
        """The census of triads (``size=3``) or connected 4-node classes against samples
        of a null model, one row per class; the census's neurons, connections, null
        model and its description are in ``.attrs``."""
        text = (
            "query($d: ID!, $n: NullModel!, $f: NeuronFilterInput, $w: Int!, $size: Int!,"
            " $samples: Int!, $seed: Int!, $level: Level!) { motifCensus(dataset: $d,"
            " nullModel: $n, filter: $f, minWeight: $w, size: $size, samples: $samples,"
            f" seed: $seed, typeLevel: $level) {{ {CENSUS_FIELDS} }} }}"
        )
        c = self.query(
            text,
            d=dataset,
            n=null_model,
            f=neuron_filter(filters),
            w=min_weight,
            size=size,
            samples=samples,
            seed=seed,
            level=type_level,
        )["motifCensus"]
        cols = ["name", "connected", "edges", "observed", "nullMean", "nullStd", "z"]
        df = frame(c.pop("classes"), [*cols, "pGreater", "pLess"])
        df.attrs.update({snake(k): v for k, v in c.items()})
        return df

    def network_statistics(
        self, dataset: str, min_weight: int = 1, **filters: Any
    ) -> dict[str, Any]:
        """Sparsity, degrees, reciprocity (with its enrichment over Erdős–Rényi),
        convergence, divergence and clustering of the selected neurons: a dict of
        numbers, with the degree distributions as DataFrames (degree, count)."""
        text = (
            "query($d: ID!, $f: NeuronFilterInput, $w: Int!) { networkStatistics(dataset: $d,"
            f" filter: $f, minWeight: $w) {{ {STATISTICS_FIELDS} }} }}"
        )
        s = self.query(text, d=dataset, f=neuron_filter(filters), w=min_weight)
        out = {snake(k): v for k, v in s["networkStatistics"].items()}
        for key in ("in_degree_distribution", "out_degree_distribution"):
            out[key] = pd.DataFrame(out[key], columns=["degree", "count"])
        return out

    # -- jobs ---------------------------------------------------------------------------
    def submit_job(
        self,
        dataset: str,
        kind: str,
        params: dict[str, Any] | None = None,
        max_attempts: int = 3,
        queue: str = "default",
    ) -> str:
        """Queue a job (editor role on the dataset); returns its id."""
        text = (
            "mutation($d: ID!, $k: JobKind!, $p: JSON, $a: Int!, $q: String!) {"
            " submitJob(dataset: $d, kind: $k, params: $p, maxAttempts: $a, queue: $q) { id } }"
        )
        r = self.query(text, d=dataset, k=kind.upper(), p=params, a=max_attempts, q=queue)
        return str(r["submitJob"]["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        """A job's state: status, progress (0 to 1), message, error, run id."""
        j = self.query(f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}", id=job_id)
        return {snake(k): v for k, v in j["job"].items()}

    def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        poll: float = 1.0,
        progress: bool = True,
    ) -> dict[str, Any]:
        """Poll a job until it ends, with a progress bar (``progress=False``: none).
        Returns the job of a SUCCEEDED run; raises :class:`JobFailed` for FAILED and
        CANCELLED, and ``ClientError("TIMEOUT")`` past ``timeout`` seconds."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        deadline = None if timeout is None else time.monotonic() + timeout
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),  # stdout stays the caller's
            disable=not progress,
            transient=False,
        )
        with bar:
            task = bar.add_task(f"job {job_id}", total=1.0)
            while True:
                j = self.job(job_id)
                bar.update(
                    task,
                    completed=j["progress"],
                    description=f"{j['kind'].lower()} {j['status'].lower()} {j['message'][:40]}",
                )
                if j["status"] in TERMINAL:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise ClientError(
                        "TIMEOUT", f"job {job_id} still {j['status']} after {timeout} s"
                    )
                time.sleep(poll)
        if j["status"] != "SUCCEEDED":
            raise JobFailed(j)
        return j

    def run_outputs(self, run: str) -> pd.DataFrame:
        """The per-neuron outputs of a model run (label, score, embedding vector, 2-D
        layout), one row per neuron; ``run`` is a run id or the id of the job that
        wrote it."""
        try:  # a job's id: its run
            run_id = self.job(run)["run_id"] or run
        except ClientError as e:
            if e.code != "NOT_FOUND":
                raise
            run_id = run
        text = (
            "query($id: ID!, $first: Int!, $after: String) { modelRun(id: $id) {"
            " outputs(first: $first, after: $after) { edges { node {"
            " neuron label score vector layout } } pageInfo { hasNextPage endCursor } } } }"
        )
        rows = list(self._pages(text, lambda d: d["modelRun"]["outputs"], id=run_id, first=PAGE))
        return frame(rows, ["neuron", "label", "score", "vector", "layout"])

    # -- bulk export --------------------------------------------------------------------
    def export(self, dataset: str, path: str | Path, format: str = "arrow", **params: Any) -> Path:
        """Stream a dataset's bulk export (``format``: arrow, neuprint, codex, graphml) to
        ``path``, written whole or not at all; ``params`` go to the export route
        (``synapses=True``, ``min_weight=3``, ``ids=[...]``, ``level="class"`` with
        ``values=[...]``, ``table="connections"`` for one bare Arrow stream)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        query = {"format": format, **{k: _param(v) for k, v in params.items() if v is not None}}
        try:
            with self._http.stream("GET", f"/export/datasets/{dataset}", params=query) as r:
                if r.status_code >= 400:
                    r.read()
                    raise _http_error(r)
                with tmp.open("wb") as out:
                    for block in r.iter_bytes(1 << 20):
                        out.write(block)
            tmp.replace(path)
        except httpx.HTTPError as e:
            raise ClientError("UNAVAILABLE", f"{self.url}: {e}") from e
        finally:
            tmp.unlink(missing_ok=True)
        return path

    # -- graphs -------------------------------------------------------------------------
    @staticmethod
    def to_networkx(neurons: pd.DataFrame, adjacencies: pd.DataFrame) -> Any:
        """A networkx ``DiGraph``: the neurons (rows of :meth:`fetch_neurons`, their
        columns as node attributes) and the connections (rows of
        :meth:`fetch_adjacencies` or :meth:`fetch_connections`, their columns as edge
        attributes) among them."""
        import networkx as nx

        g = nx.DiGraph()
        for row in neurons.to_dict("records"):
            nid = row.pop("id")
            g.add_node(nid, **{k: v for k, v in row.items() if not _missing(v)})
        known = set(g.nodes)
        for row in adjacencies.to_dict("records"):
            a, b = row.pop("pre"), row.pop("post")
            if a in known and b in known:
                g.add_edge(a, b, **{k: v for k, v in row.items() if not _missing(v)})
        return g

    @staticmethod
    def to_pyg(neurons: pd.DataFrame, adjacencies: pd.DataFrame, label: str | None = None) -> Any:
        """A torch_geometric ``Data``: node ``i`` is ``neurons``' i-th row (``node_ids``
        keeps the ids), ``edge_index`` the connections among them, ``edge_weight`` their
        weights (synapse counts), ``x`` the in/out degree and synapse totals, and with
        ``label`` (a column such as ``class``), ``y`` the label's index in the sorted
        ``label_names`` (-1 where missing)."""
        import torch
        from torch_geometric.data import Data

        ids = neurons["id"].tolist()
        index = {n: i for i, n in enumerate(ids)}
        pre = adjacencies["pre"].map(index)
        post = adjacencies["post"].map(index)
        keep = pre.notna() & post.notna()
        weight_col = "weight" if "weight" in adjacencies else "synapse_count"
        edge_index = torch.tensor(
            [pre[keep].astype("int64").tolist(), post[keep].astype("int64").tolist()],
            dtype=torch.long,
        ).reshape(2, -1)
        cols = ["in_degree", "out_degree", "pre_synapses", "post_synapses"]
        x = torch.tensor(neurons[cols].to_numpy(dtype="float32"))
        data = Data(
            x=x,
            edge_index=edge_index,
            edge_weight=torch.tensor(adjacencies.loc[keep, weight_col].to_numpy(dtype="float32")),
            num_nodes=len(ids),
        )
        data.node_ids = ids
        if label is not None:
            values = neurons[label].tolist()
            names = sorted({v for v in values if not _missing(v) and v != ""})
            pos = {v: i for i, v in enumerate(names)}
            data.y = torch.tensor([pos.get(v, -1) for v in values], dtype=torch.long)
            data.label_names = names
        return data


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _param(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return [str(x) for x in v]  # a repeated parameter
    return v


def _http_error(r: httpx.Response) -> ClientError:
    try:
        e = r.json()["errors"][0]
        return ClientError(e["extensions"]["code"], e["message"], r.status_code)
    except (ValueError, KeyError, IndexError, TypeError):
        return ClientError("INTERNAL", f"HTTP {r.status_code}: {r.text[:200]}", r.status_code)
