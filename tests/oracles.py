"""Readers of the published source files inside the package wheels, independent of the
loaders: the known answers of the real-data tests come from here."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from functools import cache
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

D = "cect/data/"


@cache
def wheel_zip(settings_cache: Path, package: str) -> zipfile.ZipFile:
    from connectomedb.loaders.wheels import (
        CECT,
        CECT_VERSION,
        GRASPOLOGIC,
        GRASPOLOGIC_VERSION,
        WORMNEUROATLAS,
        WORMNEUROATLAS_VERSION,
        fetch_wheel,
    )

    version = {
        CECT: CECT_VERSION,
        GRASPOLOGIC: GRASPOLOGIC_VERSION,
        WORMNEUROATLAS: WORMNEUROATLAS_VERSION,
    }[package]
    return zipfile.ZipFile(fetch_wheel(package, version, settings_cache))


def member(zf: zipfile.ZipFile, name: str) -> io.BytesIO:
    return io.BytesIO(zf.read(name))


def norm(n: object) -> str:
    """Cell-name spellings differ between files (DA01 / DA1, dBWML1 / MDL01)."""
    s = str(n).strip()
    if re.fullmatch(r"(DA|DB|DD|AS|VA|VB|VC|VD)0\d", s):
        return s[:2] + s[3]
    m = re.fullmatch(r"([dv])BWM([LR])(\d+)", s)
    if m:
        return "M" + m[1].upper() + m[2] + m[3].zfill(2)
    m = re.fullmatch(r"BWM-([DV][LR])(\d\d)", s)
    if m:
        return "M" + m[1] + m[2]
    return {"LegacyBodyWallMuscles": "BWM", "NMJ": "BWM", "g1p": "g1P", "excgl": "exc_gl"}.get(s, s)


def neuron_names(cect: zipfile.ZipFile) -> set[str]:
    info = pd.read_csv(
        member(cect, D + "all_cell_info.csv"),
        header=None,
        skiprows=1,
        names=["cell", "type", "details", "lineage", "cls", "tissue"],
    )
    return set(info.loc[info.tissue.isna() | (info.type == "Male interneuron"), "cell"])


def cook_matrix(cect: zipfile.ZipFile, sheet: str) -> pd.DataFrame:
    df = pd.read_excel(
        member(cect, D + "SI 5 Connectome adjacency matrices, corrected July 2020.xlsx"),
        sheet_name=sheet,
        header=None,
    )
    cols = df.iloc[2, 3:]
    nc = int(cols.isna().values.argmax()) if cols.isna().any() else len(cols)
    rows = df.iloc[3:, 2]
    nr = int(rows.isna().values.argmax()) if rows.isna().any() else len(rows)
    m = df.iloc[3 : 3 + nr, 3 : 3 + nc].apply(pd.to_numeric).fillna(0).astype(int)
    m.index = [norm(x) for x in rows.iloc[:nr]]
    m.columns = [norm(x) for x in cols.iloc[:nc]]
    return m


@cache
def cook_graphs(cache_dir: str) -> tuple[nx.DiGraph, nx.Graph, frozenset[str]]:
    """Cook 2019 from the SI 5 sheets: (chemical DiGraph with synapse_count, gap-junction
    Graph with count, neuron names)."""
    cect = wheel_zip(Path(cache_dir), "cect")
    chem = cook_matrix(cect, "hermaphrodite chemical")
    chem = chem.T.groupby(level=0).sum().T.groupby(level=0).sum()  # same cell named twice
    gap = cook_matrix(cect, "hermaphrodite gap jn symmetric")
    gap = gap.T.groupby(level=0).sum().T.groupby(level=0).sum()
    g = nx.DiGraph()
    for pre, row in chem.iterrows():
        for post, n in row.items():
            if n > 0:
                g.add_edge(pre, post, synapse_count=int(n))
    gj = nx.Graph()
    for a, row in gap.iterrows():
        for b, n in row.items():
            if n > 0:
                gj.add_edge(a, b, count=int(n))
    return g, gj, frozenset(neuron_names(cect))


def edge_arrays(
    graph: nx.Graph, ids: list[str], attr: str, self_loops: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges of ``graph`` between ``ids`` as (source, target, ``attr``) arrays of
    indices into ``ids`` (an undirected graph gives each pair once)."""
    ix = {v: i for i, v in enumerate(ids)}
    e = [
        (ix[a], ix[b], d[attr])
        for a, b, d in graph.edges(data=True)
        if a in ix and b in ix and (self_loops or a != b)
    ]
    return (
        np.array([x[0] for x in e], dtype=np.int64),
        np.array([x[1] for x in e], dtype=np.int64),
        np.array([x[2] for x in e], dtype=float),
    )


# -- 4-node subgraphs by brute force -------------------------------------------------
_PERMS = np.array(list(itertools.permutations(range(4))), dtype=np.int64)  # (24, 4)
_PAIRS = [(i, j) for i in range(4) for j in range(4) if i != j]  # 12 ordered pairs


def quad_codes(adj: np.ndarray) -> np.ndarray:
    """Brute force: for adjacency blocks (k, 4, 4), the smallest 12-bit code over all 24
    relabellings, so two blocks share a code exactly when they are isomorphic."""
    best = np.full(adj.shape[0], 1 << 13, dtype=np.int64)
    for p in _PERMS:
        code = np.zeros(adj.shape[0], dtype=np.int64)
        for bit, (i, j) in enumerate(_PAIRS):
            code |= adj[:, p[i], p[j]].astype(np.int64) << bit
        best = np.minimum(best, code)
    return best


def weakly_connected_quads(adj: np.ndarray) -> np.ndarray:
    u = (adj | adj.transpose(0, 2, 1)).astype(np.int64)
    reach = u + np.eye(4, dtype=np.int64)
    for _ in range(3):
        reach = np.minimum(reach @ reach, 1)
    return reach.reshape(len(adj), -1).all(axis=1)


def quad_census_brute_force(n: int, pre: np.ndarray, post: np.ndarray) -> dict[int, int]:
    """Connected induced 4-node subgraphs of every 4-subset, counted by canonical code."""
    a = np.zeros((n, n), dtype=bool)
    a[pre, post] = True
    np.fill_diagonal(a, False)
    quads = np.array(list(itertools.combinations(range(n), 4)), dtype=np.int64)
    adj = a[quads[:, :, None], quads[:, None, :]]  # (k, 4, 4)
    keep = weakly_connected_quads(adj)
    codes, counts = np.unique(quad_codes(adj[keep]), return_counts=True)
    return dict(zip(codes.tolist(), counts.tolist(), strict=True))


# -- the signal propagation atlas ------------------------------------------------------
FUNATLAS = "wormneuroatlas/data/funatlas.h5"


@cache
def funatlas(cache_dir: str, strain: str) -> pd.DataFrame:
    """The atlas's measured ordered pairs of one strain read with h5py: one row per
    (stimulated j, responder i != j) with occ1[i, j] > 0, and dFF, q, q_eq, occ1."""
    import h5py

    zf = wheel_zip(Path(cache_dir), "wormneuroatlas")
    with h5py.File(member(zf, FUNATLAS), "r") as f:
        names = [n.decode() for n in f["neuron_ids"][:]]
        g = f[strain]
        cols = {k: g[k][:] for k in ("dFF", "q", "q_eq", "occ1")}
    i, j = np.nonzero(cols["occ1"] > 0)
    keep = i != j
    i, j = i[keep], j[keep]
    return pd.DataFrame(
        {
            "stimulated": [names[x] for x in j],
            "responder": [names[x] for x in i],
            **{k: v[i, j] for k, v in cols.items()},
        }
    )
