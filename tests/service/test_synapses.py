"""Synapse nodes through the API, on a hand-made neuPrint bundle (expected values are
the CSV rows themselves; the loader names synapses without ids r<row>)."""

from __future__ import annotations

from pathlib import Path

import neo4j

from connectomedb.loaders.csvbundle import NeuprintBundle
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.access import SET_OWNER_IF_NONE
from tests.factories import DEFAULT_SYNAPSES, neuprint_bundle
from tests.world import World

SYN = """query($ds: ID!, $n: ID!, $d: PartnerDirection!, $after: String) {
  neuron(dataset: $ds, id: $n) { synapses(direction: $d, first: 2, after: $after) {
    edges { node { id pre post x y z confidence } } pageInfo { hasNextPage endCursor } } } }"""


def test_synapses_of_a_neuron_page_by_page(
    world: World, driver: neo4j.Driver, settings: Settings, dataset_id: str, tmp_path: Path
) -> None:
    src = NeuprintBundle(neuprint_bundle(tmp_path / "b", synapses=DEFAULT_SYNAPSES), dataset_id)
    DatasetWriter(driver, settings.neo4j_database).load(src)
    driver.execute_query(SET_OWNER_IF_NONE, lab=world.lab_a, dataset=dataset_id)
    c = world.client("victor")

    def walk(neuron: str, direction: str) -> list[tuple]:
        out, after = [], None
        while True:
            page = c(SYN, ds=dataset_id, n=neuron, d=direction, after=after)["neuron"]["synapses"]
            out += [tuple(e["node"].values()) for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    # rows 2-7 of synapses.csv: (pre, post, x, y, z, confidence)
    want = [
        (f"r{i + 2}", str(r[0]), str(r[1]), *map(float, r[2:6]))
        for i, r in enumerate(DEFAULT_SYNAPSES)
    ]
    assert walk("201", "UPSTREAM") == [w for w in want if w[2] == "201"]
    assert walk("301", "DOWNSTREAM") == [w for w in want if w[1] == "301"]
    assert walk("101", "DOWNSTREAM") == [w for w in want if w[1] == "101"]
    # the outsider still cannot see them
    code, _ = world.client("bob").error(SYN, ds=dataset_id, n="201", d="UPSTREAM")
    assert code == "NOT_FOUND"
