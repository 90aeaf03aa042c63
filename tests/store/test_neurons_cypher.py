"""Cypher text and parameters built by ``connectomedb.store.neurons`` (no database).

Every expected string here is written out by hand, so a change to a query shows up as a
diff in this file."""

from __future__ import annotations

import pytest

from connectomedb.errors import BadInput
from connectomedb.store.graph import graph_queries
from connectomedb.store.neurons import (
    NeuronFilter,
    connections_query,
    filter_conditions,
    gap_junctions_query,
    neurons_count,
    neurons_page,
    partners_query,
    paths_query,
    synapses_query,
    type_connectivity_queries,
)

# -- filter_conditions ------------------------------------------------------------------


def test_filter_conditions_none_is_empty() -> None:
    assert filter_conditions(None) == ([], {})


def test_filter_conditions_all_fields_unset_is_empty() -> None:
    assert filter_conditions(NeuronFilter()) == ([], {})


def test_filter_conditions_every_field_in_declaration_order() -> None:
    f = NeuronFilter(
        ids=("a", "b"),
        name="AVAL",
        name_starts_with="AV",
        type="AVA",
        cell_class="interneuron",
        superclass="central",
        side="left",
        neurotransmitter="acetylcholine",
        region="head",
        min_in_degree=1,
        max_in_degree=2,
        min_out_degree=3,
        max_out_degree=4,
    )
    conds, params = filter_conditions(f)
    assert conds == [
        "n.id IN $ids",
        "n.name = $name",
        "n.name STARTS WITH $name_starts_with",
        "n.type = $type",
        "n.`class` = $cell_class",
        "n.superclass = $superclass",
        "n.side = $side",
        "n.neurotransmitter = $neurotransmitter",
        "n.region = $region",
        "n.in_degree >= $min_in_degree",
        "n.in_degree <= $max_in_degree",
        "n.out_degree >= $min_out_degree",
        "n.out_degree <= $max_out_degree",
    ]
    assert params == {
        "ids": ["a", "b"],
        "name": "AVAL",
        "name_starts_with": "AV",
        "type": "AVA",
        "cell_class": "interneuron",
        "superclass": "central",
        "side": "left",
        "neurotransmitter": "acetylcholine",
        "region": "head",
        "min_in_degree": 1,
        "max_in_degree": 2,
        "min_out_degree": 3,
        "max_out_degree": 4,
    }


def test_filter_conditions_ids_tuple_becomes_list() -> None:
    _, params = filter_conditions(NeuronFilter(ids=("x",)))
    assert params == {"ids": ["x"]}
    assert type(params["ids"]) is list


def test_filter_conditions_empty_ids_still_filters() -> None:
    # An empty tuple is not None: it selects nothing rather than everything.
    assert filter_conditions(NeuronFilter(ids=())) == (["n.id IN $ids"], {"ids": []})


def test_filter_conditions_zero_degree_is_a_filter() -> None:
    assert filter_conditions(NeuronFilter(min_in_degree=0)) == (
        ["n.in_degree >= $min_in_degree"],
        {"min_in_degree": 0},
    )


def test_filter_conditions_other_variable() -> None:
    conds, params = filter_conditions(NeuronFilter(type="AVA", cell_class="motor"), var="m")
    assert conds == ["m.type = $type", "m.`class` = $cell_class"]
    assert params == {"type": "AVA", "cell_class": "motor"}


# -- neurons_page / neurons_count -------------------------------------------------------


def test_neurons_page_first_page_without_filter() -> None:
    text, params = neurons_page(None, 10, None)
    assert text == (
        "MATCH (n:Neuron) WHERE n.dataset = $dataset AND n.id IS NOT NULL\n"
        "WITH n ORDER BY n.dataset, n.id LIMIT $limit\n"
        "RETURN collect(n {.*}) AS rows"
    )
    assert params == {"limit": 11}


def test_neurons_page_after_cursor_with_filter() -> None:
    text, params = neurons_page(NeuronFilter(type="AVA", side="left"), 5, "AVAL")
    assert text == (
        "MATCH (n:Neuron) WHERE n.dataset = $dataset AND n.id > $after"
        " AND n.type = $type AND n.side = $side\n"
        "WITH n ORDER BY n.dataset, n.id LIMIT $limit\n"
        "RETURN collect(n {.*}) AS rows"
    )
    assert params == {"type": "AVA", "side": "left", "after": "AVAL", "limit": 6}


def test_neurons_page_empty_after_is_a_cursor() -> None:
    text, params = neurons_page(None, 0, "")
    assert "n.id > $after" in text
    assert "n.id IS NOT NULL" not in text
    assert params == {"after": "", "limit": 1}


def test_neurons_count_without_filter() -> None:
    text, params = neurons_count(None)
    assert text == (
        "MATCH (n:Neuron) WHERE n.dataset = $dataset AND n.id IS NOT NULL\nRETURN count(n) AS total"
    )
    assert params == {}


def test_neurons_count_with_filter() -> None:
    text, params = neurons_count(NeuronFilter(ids=("a",), min_out_degree=2))
    assert text == (
        "MATCH (n:Neuron) WHERE n.dataset = $dataset AND n.id IS NOT NULL"
        " AND n.id IN $ids AND n.out_degree >= $min_out_degree\n"
        "RETURN count(n) AS total"
    )
    assert params == {"ids": ["a"], "min_out_degree": 2}


# -- connections_query --------------------------------------------------------------------

_PAGE = "WITH a, b, r ORDER BY a.dataset, a.id, b.id LIMIT $limit\n"
_ROWS = _PAGE + (
    "RETURN collect({pre: a.id, post: b.id, synapse_count: r.synapse_count, weight: r.weight,"
    " psd_area_total: r.psd_area_total, nt_type: r.nt_type, neuropils: r.neuropils}) AS rows"
)
_COLUMNS = _PAGE + (
    "RETURN collect(a.id) AS pre, collect(b.id) AS post, collect(r.synapse_count) AS synapse_count"
)
_AFTER = "(a.id > $after_pre OR (a.id = $after_pre AND b.id > $after_post))"


@pytest.mark.parametrize(("columns", "tail"), [(False, _ROWS), (True, _COLUMNS)])
def test_connections_query_pre_and_post(columns: bool, tail: str) -> None:
    assert connections_query(True, True, columns) == (
        "MATCH (a:Cell) WHERE a.dataset = $dataset AND a.id IN $pre\n"
        "MATCH (a)-[r:CONNECTS_TO]->(b)\n"
        f"WHERE r.synapse_count >= $min_weight AND b.id IN $post AND {_AFTER}\n" + tail
    )


@pytest.mark.parametrize(("columns", "tail"), [(False, _ROWS), (True, _COLUMNS)])
def test_connections_query_pre_only(columns: bool, tail: str) -> None:
    assert connections_query(True, False, columns) == (
        "MATCH (a:Cell) WHERE a.dataset = $dataset AND a.id IN $pre\n"
        "MATCH (a)-[r:CONNECTS_TO]->(b)\n"
        f"WHERE r.synapse_count >= $min_weight AND {_AFTER}\n" + tail
    )


@pytest.mark.parametrize(("columns", "tail"), [(False, _ROWS), (True, _COLUMNS)])
def test_connections_query_post_only(columns: bool, tail: str) -> None:
    assert connections_query(False, True, columns) == (
        "MATCH (b:Cell) WHERE b.dataset = $dataset AND b.id IN $post\n"
        "MATCH (a)-[r:CONNECTS_TO]->(b)\n"
        f"WHERE r.synapse_count >= $min_weight AND {_AFTER}\n" + tail
    )


@pytest.mark.parametrize(("columns", "tail"), [(False, _ROWS), (True, _COLUMNS)])
def test_connections_query_neither_side_seeks_the_first_cell(columns: bool, tail: str) -> None:
    # a.id >= $after_pre is the index seek; the OR finishes the pair comparison
    assert connections_query(False, False, columns) == (
        "MATCH (a:Cell) WHERE a.dataset = $dataset AND a.id >= $after_pre\n"
        "MATCH (a)-[r:CONNECTS_TO]->(b)\n"
        "WHERE r.synapse_count >= $min_weight AND (a.id > $after_pre OR b.id > $after_post)\n"
        + tail
    )


# -- paths_query ----------------------------------------------------------------------------


def _paths(bound: str) -> str:
    return (
        "\n"
        "MATCH (a:Cell {dataset: $dataset, id: $source})\n"
        "MATCH (b:Cell {dataset: $dataset, id: $target})\n"
        f"MATCH p = allShortestPaths((a)-[:CONNECTS_TO*1..{bound}]->(b))\n"
        "WHERE all(r IN relationships(p) WHERE r.synapse_count >= $min_weight)\n"
        "WITH p LIMIT $limit\n"
        "RETURN [n IN nodes(p) | n.id] AS cells, [r IN relationships(p) | r.synapse_count]"
        " AS counts\n"
    )


@pytest.mark.parametrize("hops", [1, 2, 3, 4, 5, 6])
def test_paths_query_inlines_a_valid_bound(hops: int) -> None:
    assert paths_query(hops) == _paths(str(hops))


def test_paths_query_three_hops_literal() -> None:
    assert "[:CONNECTS_TO*1..3]" in paths_query(3)


@pytest.mark.parametrize("bad", [0, -1, 7, 100, "3", "1..6]->(b)) RETURN 1 //", 3.0, None, False])
def test_paths_query_rejects_bad_bounds(bad: object) -> None:
    with pytest.raises(BadInput, match="maxHops must be between 1 and 6"):
        paths_query(bad)  # type: ignore[arg-type]


def test_paths_query_rejects_true() -> None:
    with pytest.raises(BadInput):
        paths_query(True)


# -- type_connectivity_queries --------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "prop"),
    [
        ("type", "type"),
        ("class", "class"),
        ("superclass", "superclass"),
        ("neurotransmitter", "neurotransmitter"),
        ("side", "side"),
        ("region", "region"),
    ],
)
def test_type_connectivity_queries_levels(level: str, prop: str) -> None:
    sizes, pairs = type_connectivity_queries(level)
    assert sizes == (
        "MATCH (n:Neuron) WHERE n.dataset = $dataset AND n.id IS NOT NULL\n"
        f"RETURN n.`{prop}` AS grp, count(*) AS size"
    )
    assert pairs == (
        "MATCH (a:Neuron) WHERE a.dataset = $dataset AND a.id IS NOT NULL\n"
        "MATCH (a)-[r:CONNECTS_TO]->(b:Neuron)\n"
        "WHERE r.synapse_count >= $min_weight\n"
        f"RETURN a.`{prop}` AS pre, b.`{prop}` AS post, sum(r.synapse_count) AS synapses,"
        " count(r) AS pairs"
    )


def test_type_connectivity_queries_class_is_backquoted() -> None:
    sizes, pairs = type_connectivity_queries("class")
    assert "n.`class` AS grp" in sizes
    assert "a.`class` AS pre, b.`class` AS post" in pairs


@pytest.mark.parametrize(
    "level", ["type`) RETURN 1 //", "Type", "TYPE", "", "name", "cell_class", " type"]
)
def test_type_connectivity_queries_unknown_level(level: str) -> None:
    with pytest.raises(
        BadInput,
        match="level must be one of type, class, superclass, neurotransmitter, side, region",
    ):
        type_connectivity_queries(level)


# -- partners_query, gap_junctions_query, synapses_query -------------------------------------


def _partners(pattern: str, seek: str = "") -> str:
    return (
        "\n"
        "UNWIND $ids AS nid\n"
        "MATCH (n:Cell {dataset: $dataset, id: nid})\n"
        "CALL (n) {\n"
        f"  MATCH {pattern}\n"
        f"  WHERE r.synapse_count >= $min_weight{seek}\n"
        "  WITH p, r ORDER BY r.synapse_count DESC, p.id\n"
        "  LIMIT $limit\n"
        "  RETURN collect({cell: p {.*}, synapse_count: r.synapse_count, weight: r.weight,\n"
        "                   psd_area_total: r.psd_area_total, nt_type: r.nt_type}) AS partners\n"
        "}\n"
        "RETURN nid, partners\n"
    )


_AFTER_PARTNER = (
    "\n    AND (r.synapse_count < $after_count"
    " OR (r.synapse_count = $after_count AND p.id > $after_id))"
)


def test_partners_query_upstream() -> None:
    assert partners_query("upstream") == _partners("(n)<-[r:CONNECTS_TO]-(p)")


def test_partners_query_downstream() -> None:
    assert partners_query("downstream") == _partners("(n)-[r:CONNECTS_TO]->(p)")


def test_partners_query_after_a_partner_seeks_past_its_key() -> None:
    assert partners_query("upstream", after=True) == _partners(
        "(n)<-[r:CONNECTS_TO]-(p)", _AFTER_PARTNER
    )
    assert partners_query("downstream", after=True) == _partners(
        "(n)-[r:CONNECTS_TO]->(p)", _AFTER_PARTNER
    )


def test_partners_query_unknown_direction_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        partners_query("sideways")  # type: ignore[arg-type]


def _gaps(where: str) -> str:
    return (
        "\n"
        "UNWIND $ids AS nid\n"
        "MATCH (n:Cell {dataset: $dataset, id: nid})\n"
        "CALL (n) {\n"
        f"  MATCH (n)-[g:GAP_JUNCTION]-(p){where}\n"
        "  WITH p, g ORDER BY g.count DESC, p.id\n"
        "  LIMIT $limit\n"
        "  RETURN collect({cell: p {.*}, count: g.count}) AS partners\n"
        "}\n"
        "RETURN nid, partners\n"
    )


def test_gap_junctions_query_first_page_and_after() -> None:
    assert gap_junctions_query() == _gaps("")
    assert gap_junctions_query(after=True) == _gaps(
        "\n  WHERE (g.count < $after_count OR (g.count = $after_count AND p.id > $after_id))"
    )


def _synapses(pattern: str, ends: str, seek: str = "") -> str:
    return (
        "\n"
        "UNWIND $ids AS nid\n"
        "MATCH (n:Cell {dataset: $dataset, id: nid})\n"
        "CALL (n) {\n"
        f"  MATCH {pattern}{seek}\n"
        "  WITH s, p ORDER BY s.id LIMIT $limit\n"
        f"  RETURN collect({{s: s {{.*}}, {ends}}}) AS synapses\n"
        "}\n"
        "RETURN nid, synapses\n"
    )


_DOWN_SYNAPSES = "(n)-[:PRESYNAPTIC]->(s:Synapse)-[:POSTSYNAPTIC]->(p)"
_UP_SYNAPSES = "(n)<-[:POSTSYNAPTIC]-(s:Synapse)<-[:PRESYNAPTIC]-(p)"


def test_synapses_query_both_directions() -> None:
    assert synapses_query("downstream") == _synapses(_DOWN_SYNAPSES, "pre: n.id, post: p.id")
    assert synapses_query("upstream") == _synapses(_UP_SYNAPSES, "pre: p.id, post: n.id")


def test_synapses_query_after_a_synapse() -> None:
    seek = "\n  WHERE s.id > $after_id"
    assert synapses_query("downstream", after=True) == _synapses(
        _DOWN_SYNAPSES, "pre: n.id, post: p.id", seek
    )
    assert synapses_query("upstream", after=True) == _synapses(
        _UP_SYNAPSES, "pre: p.id, post: n.id", seek
    )


# -- user values stay in parameters ---------------------------------------------------------

HOSTILE = "x' OR 1=1 //"
HOSTILE_ID = 'a"}) DETACH DELETE n //'


def _hostile_filter() -> NeuronFilter:
    return NeuronFilter(
        ids=(HOSTILE_ID,),
        name=HOSTILE,
        name_starts_with=HOSTILE,
        type=HOSTILE,
        cell_class=HOSTILE,
        superclass=HOSTILE,
        side=HOSTILE,
        neurotransmitter=HOSTILE,
        region=HOSTILE,
    )


def test_user_values_never_appear_in_query_text() -> None:
    f = _hostile_filter()
    built = [
        filter_conditions(f),
        neurons_page(f, 10, HOSTILE),
        neurons_count(f),
        graph_queries(f)[0::2],
        graph_queries(f)[1:],
    ]
    for text_or_conds, params in built:
        text = "\n".join(text_or_conds) if isinstance(text_or_conds, list) else text_or_conds
        assert HOSTILE not in text
        assert HOSTILE_ID not in text
        assert "1=1" not in text
        assert "DELETE" not in text
        assert HOSTILE in params.values()
        assert params["ids"] == [HOSTILE_ID]


def test_hostile_name_only_in_params() -> None:
    text, params = neurons_count(NeuronFilter(name=HOSTILE))
    assert text == (
        "MATCH (n:Neuron) WHERE n.dataset = $dataset AND n.id IS NOT NULL AND n.name = $name\n"
        "RETURN count(n) AS total"
    )
    assert params == {"name": HOSTILE}


def test_hostile_cursor_only_in_params() -> None:
    text, params = neurons_page(None, 1, HOSTILE)
    assert HOSTILE not in text
    assert params == {"after": HOSTILE, "limit": 2}
