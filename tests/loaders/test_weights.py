"""A weight matrix as a dataset: connections and signs as written out by hand, both
orientations, the CSV form, located errors, and the stored graph's reciprocity against
networkx's."""

from __future__ import annotations

from pathlib import Path

import neo4j
import networkx as nx
import numpy as np
import pytest

from connectomedb.analytics.statistics import network_statistics
from connectomedb.errors import LoaderError
from connectomedb.loaders.weights import WeightMatrixSource
from connectomedb.settings import Settings
from connectomedb.store.graph import read_graph
from tests.cli.conftest import cli

# W[post, pre] (PyTorch's weight_hh): 1 -> 0 (0.5), 0 -> 1 (-1.0), 2 -> 1 (0.2)
W = np.array([[0.0, 0.5, 0.0], [-1.0, 0.0, 0.2], [0.0, 0.0, 0.0]])
EDGES = [("a", "b", -1.0), ("b", "a", 0.5), ("c", "b", 0.2)]


def _npz(path: Path, w: np.ndarray = W, **extra: np.ndarray) -> Path:
    np.savez(path, weights=w, **extra)
    return path


def _edges(src: WeightMatrixSource) -> list[tuple[str, str, float]]:
    return sorted((p["pre"], p["post"], p["weight"]) for _, p in src.connections())


def test_npz_connections_signs_and_labels(tmp_path: Path) -> None:
    path = _npz(tmp_path / "w.npz", ids=np.array(["a", "b", "c"]), labels=np.array(["e", "i", "e"]))
    src = WeightMatrixSource(path, "t_w")
    assert _edges(src) == EDGES
    assert all(p["synapse_count"] == 1 for _, p in src.connections())
    cells = {p["id"]: p for _, p in src.neurons()}
    assert {k: v["sign"] for k, v in cells.items()} == {"a": -1, "b": 1, "c": 1}
    assert cells["b"]["type"] == cells["b"]["class"] == "i"
    # the other orientation reads the transpose; a threshold drops the small weight
    t = WeightMatrixSource(
        _npz(tmp_path / "t.npz", W.T, ids=np.array(["a", "b", "c"])), "t", orientation="pre_post"
    )
    assert _edges(t) == EDGES
    small = WeightMatrixSource(path, "t", threshold=0.3)
    assert _edges(small) == EDGES[:2]
    assert {p["id"]: p["sign"] for _, p in small.neurons()}["c"] == 0  # no outgoing weight


def test_csv_form(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("unit,label,a,b,c\na,e,0,0.5,\nb,i,-1,0,0.2\nc,e,0,0,0\n")
    src = WeightMatrixSource(path, "t_w")
    assert _edges(src) == EDGES
    assert [p["type"] for _, p in src.neurons()] == ["e", "i", "e"]
    npy = tmp_path / "w.npy"
    np.save(npy, W)
    assert _edges(WeightMatrixSource(npy, "t")) == [
        ("u0", "u1", -1.0),
        ("u1", "u0", 0.5),
        ("u2", "u1", 0.2),
    ]


@pytest.mark.parametrize(
    ("text", "row", "column", "message"),
    [
        ("unit,a,b\na,0,x\nb,0,0\n", 2, "b", "expected a number"),
        ("unit,a,b\nb,0,1\na,0,0\n", 2, "unit", "order"),
        ("unit,a,a\na,0,1\na,0,0\n", None, "header[1]", "twice"),
        ("unit,a,b\na,0,1\n", None, None, "expected 2 rows"),
        ("unit,a,b\na,0,1,3\nb,0,0\n", 2, None, "expected 3 values"),
        ("unit,a,b\na,0,nan\nb,0,0\n", 2, "[0, 1]", "finite"),
    ],
)
def test_bad_csv_is_located(
    tmp_path: Path, text: str, row: int | None, column: str | None, message: str
) -> None:
    path = tmp_path / "w.csv"
    path.write_text(text)
    with pytest.raises(LoaderError) as e:
        list(WeightMatrixSource(path, "t").connections())
    assert (e.value.file, e.value.row, e.value.column) == (str(path), row, column)
    assert message in e.value.message


def test_bad_arrays(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="square"):
        list(WeightMatrixSource(_npz(tmp_path / "a.npz", np.ones((2, 3))), "t").neurons())
    with pytest.raises(LoaderError, match="'labels' must hold 3 names"):
        list(WeightMatrixSource(_npz(tmp_path / "b.npz", labels=np.array(["x"])), "t").neurons())
    np.savez(tmp_path / "c.npz", other=W)
    with pytest.raises(LoaderError, match="no array 'weights'"):
        list(WeightMatrixSource(tmp_path / "c.npz", "t").neurons())


def test_stored_matrix_has_networkx_reciprocity(
    tmp_path: Path, driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    """A sparse random matrix with extra reciprocal pairs, loaded through the CLI: the
    stored graph is the matrix, and the service's reciprocity equals networkx's."""
    rng = np.random.default_rng(4)
    n = 200
    mask = rng.random((n, n)) < 0.03
    mask |= mask.T & (rng.random((n, n)) < 0.5)  # plant reciprocal pairs
    np.fill_diagonal(mask, False)
    w = np.where(mask, rng.normal(size=(n, n)), 0.0)
    path = _npz(tmp_path / "rnn.npz", w)
    res = cli("load", "weights", "--path", str(path), "--id", dataset_id)
    assert res.exit_code == 0, res.output
    g = read_graph(driver, settings.neo4j_database, dataset_id)
    at = {u: i for i, u in enumerate(f"u{k}" for k in range(n))}
    got = {(g.ids[a], g.ids[b]) for a, b in zip(g.pre.tolist(), g.post.tolist(), strict=True)}
    post, pre = np.nonzero(mask)  # W[post, pre]
    assert got == {(f"u{a}", f"u{b}") for a, b in zip(pre.tolist(), post.tolist(), strict=True)}
    assert len(at) == g.n == n
    ours = network_statistics(g.n, g.pre, g.post).reciprocity
    theirs = nx.reciprocity(nx.DiGraph(list(got)))
    assert ours == pytest.approx(theirs, rel=1e-12)
