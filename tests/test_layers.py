"""The package's layers (DESIGN.md section 2): every import, at module level or inside a
function, goes to the same layer or one below, and no modules import each other in a
cycle. Read from the source with ``ast``, so nothing is imported to check it."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "connectomedb"

#: lowest first; a module belongs to the longest prefix listed. ``jobs.contract`` is the
#: shape every kind is written against, so it sits with the graph model at the bottom.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("connectomedb", "connectomedb.settings", "connectomedb.errors"),
    ("connectomedb.schema", "connectomedb.jobs.contract"),
    ("connectomedb.store", "connectomedb.localneo4j", "connectomedb.neo4jhome"),
    ("connectomedb.loaders", "connectomedb.export"),
    (
        "connectomedb.motifs",
        "connectomedb.analytics",
        "connectomedb.simulate",
        "connectomedb.neuroai",
    ),
    ("connectomedb.jobs",),
    ("connectomedb.workers",),
    ("connectomedb.service",),
    ("connectomedb.cli", "connectomedb.client"),
)


def layer_of(module: str) -> int:
    """The layer of the longest prefix that names ``module`` or a package above it (the
    root package names only its own ``__init__``: a new package needs its layer)."""
    best, level = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            inside = module.startswith(p + ".") and p != "connectomedb"
            if (module == p or inside) and len(p) > best:
                best, level = len(p), i
    if level < 0:
        raise ValueError(f"{module} is in no layer")
    return level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(name: str, is_package: bool, source: str, modules: set[str]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in ``source``
    (``from x import y`` counts ``x.y`` when that is a module, else ``x``)."""
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in modules else base)
    return {m for m in out if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {
        module_name(p): imports_in(module_name(p), p.name == "__init__.py", p.read_text(), modules)
        for p in paths
    }


def upward(graph: Mapping[str, Iterable[str]]) -> list[str]:
    return sorted(
        f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
        for a, targets in graph.items()
        for b in targets
        if layer_of(b) > layer_of(a)
    )


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer() -> None:
    for m in import_graph():
        layer_of(m)


def test_no_import_goes_up_a_layer() -> None:
    assert upward(import_graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_catch_an_upward_import_and_a_cycle() -> None:
    graph = {
        "connectomedb.store.a": {"connectomedb.service.b"},
        "connectomedb.service.b": {"connectomedb.store.a"},
        "connectomedb.schema.c": set(),
    }
    assert upward(graph) == [
        "connectomedb.store.a (layer 2) imports connectomedb.service.b (layer 7)"
    ]
    assert cycles(graph) == [["connectomedb.service.b", "connectomedb.store.a"]]
    assert layer_of("connectomedb.jobs.contract") == 1
    assert layer_of("connectomedb.jobs.registry") == 5
    with pytest.raises(ValueError):
        layer_of("elsewhere.module")
    with pytest.raises(ValueError, match="in no layer"):
        layer_of("connectomedb.nosuchpackage.rnn")  # a new package must be given its layer


def test_imports_are_resolved_to_modules() -> None:
    """Absolute, relative, module-level and lazy imports; ``from package import module``
    names the module, ``from module import name`` the module."""
    modules = {
        "connectomedb.store",
        "connectomedb.store.graph",
        "connectomedb.store.neurons",
        "connectomedb.errors",
        "connectomedb.service.app",
    }
    source = """
from connectomedb.store import graph
from .neurons import NeuronFilter
import connectomedb.errors

def later():
    from connectomedb.service.app import create_app
"""
    got = imports_in("connectomedb.store.motifs", False, source, modules)
    assert got == {
        "connectomedb.store.graph",
        "connectomedb.store.neurons",
        "connectomedb.errors",
        "connectomedb.service.app",
    }
