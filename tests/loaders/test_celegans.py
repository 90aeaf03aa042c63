"""C. elegans sources on tiny hand-made cect files: rows, names, and located errors.

Each test builds a wheel holding only the members it needs, so the expected rows and
error locations are the cells written here, not values taken from the loaders.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.styles import PatternFill

from connectomedb.errors import LoaderError
from connectomedb.loaders.celegans import (
    CellCatalog,
    Cook2019HermSource,
    VarshneySource,
    White1986Source,
    WitvlietSource,
    canonical_name,
)
from connectomedb.loaders.registry import make_source
from connectomedb.settings import Settings

D = "cect/data/"
COOK = D + "SI 5 Connectome adjacency matrices, corrected July 2020.xlsx"
CHEM = COOK + ":hermaphrodite chemical"
GAP = COOK + ":hermaphrodite gap jn symmetric"
WITVLIET_1 = D + "witvliet_2020_1 L1.xlsx"
VARSHNEY = D + "NeuronConnectFormatted.xlsx"
WHITE = D + "aconnectome_white_1986_whole.csv"
CELL_INFO = D + "all_cell_info.csv"
ATLAS = D + "elife-95402-supp2-v1.xlsx"


def xlsx(sheets: dict[str, list[list[Any]]], fills: dict[str, list[str]] | None = None) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        for ref in (fills or {}).get(title, []):
            ws[ref].fill = PatternFill("solid", fgColor="FFFF00")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def wheel(path: Path, members: dict[str, bytes]) -> Path:
    """A wheel with these members and a RECORD that lists no hashes (none checked)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("cect-0.0.0.dist-info/RECORD", "")
    return path


def cook_sheets(gap_mirror: int = 2, outside: int | None = None) -> bytes:
    # Row 3 from column D: post labels; column C from row 4: pre labels.
    chem: list[list[Any]] = [
        ["caption"],
        [],
        [None, None, None, "AVAL", "AVAR", "dBWML1"],
        [None, None, "AVAL", None, 3, 1, outside],
        [None, None, "AVAR", 2, None, None],
    ]
    gap: list[list[Any]] = [
        ["caption"],
        [],
        [None, None, None, "AVAL", "AVAR"],
        [None, None, "AVAL", 1, 2],
        [None, None, "AVAR", gap_mirror, None],
    ]
    return xlsx({"hermaphrodite chemical": chem, "hermaphrodite gap jn symmetric": gap})


CELLS = [
    ["Cell name", "Type", "Name details", "Lineage", "Classification"],
    ["AVAL", "Layer 3 interneuron", "", "", ""],
    ["AVAR", "Layer 3 interneuron", "", "", ""],
    ["DA1", "Ventral cord motor neuron", "", "", ""],
    ["MDL01", "Main body muscle", "", "", "", "muscle"],
]


def cell_info(rows: list[list[str]]) -> bytes:
    return "".join(",".join(r) + "\n" for r in rows).encode()


def atlas(entry: str = "Glu*") -> bytes:
    rows: list[list[Any]] = [
        ["caption"],
        [],
        [],
        [None, "Class", "Neuron", "Neurotransmitter(s)", None, None, "cat-1 fill", "snf-3"],
        [None, "AVA", "AVAL", "ACh", None, None, None, None],
        [None, None, "AVAR", "ACh", entry, None, None, None],
        [None, "DA", "DA01", "ACh", "betaine (uptake)", None, None, "NEW"],
    ]
    return xlsx({"Supp File 2": rows}, fills={"Supp File 2": ["G7"]})


def test_cook_rows_and_names(tmp_path: Path) -> None:
    src = Cook2019HermSource(
        wheel(
            tmp_path / "w.whl",
            {COOK: cook_sheets(), CELL_INFO: cell_info(CELLS), ATLAS: atlas()},
        )
    )
    conns = [(w, p) for w, p in src.connections()]
    assert conns == [
        ((CHEM, 4, "E"), {"pre": "AVAL", "post": "AVAR", "synapse_count": 3}),
        ((CHEM, 4, "F"), {"pre": "AVAL", "post": "MDL01", "synapse_count": 1}),
        ((CHEM, 5, "D"), {"pre": "AVAR", "post": "AVAL", "synapse_count": 2}),
    ]
    gaps = [(w, p) for w, p in src.gap_junctions()]
    assert gaps == [
        ((GAP, 4, "D"), {"a": "AVAL", "b": "AVAL", "count": 1}),
        ((GAP, 4, "E"), {"a": "AVAL", "b": "AVAR", "count": 2}),
    ]
    cells = {p["id"]: p for _, p in src.neurons()}
    assert list(cells) == ["AVAL", "AVAR", "MDL01"]
    assert cells["AVAR"] == {
        "id": "AVAR",
        "name": "AVAR",
        "kind": "neuron",
        "class": "interneuron",
        "type": "AVA",
        "side": "R",
        "neurotransmitter": "acetylcholine,glutamate",
    }
    assert cells["MDL01"]["kind"] == "muscle" and cells["MDL01"]["type"] == "BWM"


def test_cook_asymmetric_gap_junctions(tmp_path: Path) -> None:
    src = Cook2019HermSource(wheel(tmp_path / "w.whl", {COOK: cook_sheets(gap_mirror=3)}))
    with pytest.raises(LoaderError) as e:
        list(src.gap_junctions())
    assert (e.value.file, e.value.row, e.value.column) == (GAP, 4, "E")
    assert (
        e.value.message == "gap-junction matrix is not symmetric: AVAL-AVAR = 2 but AVAR-AVAL = 3"
    )


def test_cook_number_outside_the_matrix(tmp_path: Path) -> None:
    src = Cook2019HermSource(wheel(tmp_path / "w.whl", {COOK: cook_sheets(outside=7)}))
    with pytest.raises(LoaderError) as e:
        list(src.connections())
    assert (e.value.file, e.value.row, e.value.column) == (CHEM, 4, "G")
    assert e.value.message == "number 7 outside the labelled matrix"


def test_witvliet_unknown_synapse_type(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["pre", "post", "type", "synapses"],
        ["AVAL", "AVAR", "chemical", 2],
        ["BWM-DL01", "DA01", "electrical", 1],
        ["AVAL", "AVAR", "mystery", 1],
    ]
    src = WitvlietSource(wheel(tmp_path / "w.whl", {WITVLIET_1: xlsx({"s": rows})}), 1)
    with pytest.raises(LoaderError) as e:
        list(src.connections())
    assert (e.value.file, e.value.row, e.value.column) == (WITVLIET_1 + ":s", 4, "type")
    assert e.value.message == "unknown synapse type 'mystery'"


def test_witvliet_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["pre", "post", "type", "synapses"],
        ["AVAL", "AVAR", "chemical", 2],
        [None, None, None, None],
        ["BWM-DL01", "DA01", "electrical", 1],
        ["AVAL", "AVAR", "chemical", 3],
    ]
    src = WitvlietSource(wheel(tmp_path / "w.whl", {WITVLIET_1: xlsx({"s": rows})}), 1)
    assert [p for _, p in src.connections()] == [
        {"pre": "AVAL", "post": "AVAR", "synapse_count": 5}
    ]
    assert [(w.row, p) for w, p in src.gap_junctions()] == [
        (4, {"a": "MDL01", "b": "DA1", "count": 1})
    ]


def test_white_wrong_field_count(tmp_path: Path) -> None:
    text = "pre\tpost\ttype\tsynapses\nAVAL\tAVAR\tchemical\t2\nAVAL\tAVAR\t2\n"
    src = White1986Source(wheel(tmp_path / "w.whl", {WHITE: text.encode()}))
    with pytest.raises(LoaderError) as e:
        list(src.connections())
    assert (e.value.file, e.value.row, e.value.column) == (WHITE, 3, None)
    assert e.value.message == "expected 4 fields, got 3"


def varshney_rows(received: int = 2) -> bytes:
    rows: list[list[Any]] = [
        ["Neuron 1", "Neuron 2", "Type", "Nbr"],
        ["AVAL", "AVAR", "S", 2],
        ["AVAR", "AVAL", "R", received],
        ["DA01", "NMJ", "NMJ", 1],
        ["AVAL", "AVBL", "EJ", 1],
        ["AVBL", "AVAL", "EJ", 1],
    ]
    return xlsx({"Sheet": rows})


def test_varshney_rows(tmp_path: Path) -> None:
    w = wheel(
        tmp_path / "w.whl",
        {VARSHNEY: varshney_rows(), CELL_INFO: cell_info(CELLS), ATLAS: atlas()},
    )
    src = VarshneySource(w)
    assert [p for _, p in src.connections()] == [
        {"pre": "AVAL", "post": "AVAR", "synapse_count": 2},
        {"pre": "DA1", "post": "BWM", "synapse_count": 1},
    ]
    assert [p for _, p in src.gap_junctions()] == [{"a": "AVAL", "b": "AVBL", "count": 1}]
    no_nmj = VarshneySource(w, include_nmj=False)
    assert [p["post"] for _, p in no_nmj.connections()] == ["AVAR"]
    assert no_nmj.fingerprint() != src.fingerprint()


def test_varshney_receive_rows_must_mirror(tmp_path: Path) -> None:
    src = VarshneySource(wheel(tmp_path / "w.whl", {VARSHNEY: varshney_rows(received=3)}))
    with pytest.raises(LoaderError) as e:
        list(src.connections())
    assert (e.value.file, e.value.row, e.value.column) == (VARSHNEY + ":Sheet", 3, "Nbr")
    assert e.value.message == "receive rows give AVAL -> AVAR = 3 but send rows give 2"


def test_catalog_unknown_cell_category(tmp_path: Path) -> None:
    rows = [*CELLS, ["XYZ", "Imaginary organ", "", "", ""]]
    w = wheel(tmp_path / "w.whl", {CELL_INFO: cell_info(rows), ATLAS: atlas()})
    with pytest.raises(LoaderError) as e:
        CellCatalog.from_wheel(w)
    assert (e.value.file, e.value.row, e.value.column) == (CELL_INFO, 6, "Type")


def test_catalog_unknown_transmitter(tmp_path: Path) -> None:
    w = wheel(tmp_path / "w.whl", {CELL_INFO: cell_info(CELLS), ATLAS: atlas("mystery")})
    with pytest.raises(LoaderError) as e:
        CellCatalog.from_wheel(w)
    assert (e.value.file, e.value.row, e.value.column) == (ATLAS + ":Supp File 2", 6, "E")
    assert e.value.message == "unknown neurotransmitter entry 'mystery'"


def test_catalog_betaine_needs_cat1_and_snf3(tmp_path: Path) -> None:
    w = wheel(tmp_path / "w.whl", {CELL_INFO: cell_info(CELLS), ATLAS: atlas()})
    cat = CellCatalog.from_wheel(w)
    assert cat.props("DA1")["neurotransmitter"] == "acetylcholine,betaine"
    assert cat.props("DA1")["type"] == "DA"
    assert cat.props("CANL") == {"id": "CANL", "name": "CANL", "kind": "other"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DA01", "DA1"),
        ("VC05", "VC5"),
        ("dBWML1", "MDL01"),
        ("vBWMR12", "MVR12"),
        ("BWM-DL01", "MDL01"),
        ("LegacyBodyWallMuscles", "BWM"),
        ("g1p", "g1P"),
        ("excgl", "exc_gl"),
        (" AVAL ", "AVAL"),
    ],
)
def test_canonical_name(raw: str, expected: str) -> None:
    assert canonical_name(raw) == expected


# Fingerprints of the pinned wheels' datasets. Loaded datasets carry them, and a load
# whose fingerprint differs is refused as "different input": they must not drift.
FINGERPRINTS = {
    "cook2019": "53bf31b7552b143f",
    "witvliet2021-1": "83d2b81717038979",
    "witvliet2021-2": "6d9de751d958ca3b",
    "witvliet2021-3": "e904bff3aec3bc7e",
    "witvliet2021-4": "bb01db9e6de3088e",
    "witvliet2021-5": "4767a8919a353d47",
    "witvliet2021-6": "cf8e282923bd3ab0",
    "witvliet2021-7": "582ee06d07f1a617",
    "witvliet2021-8": "8675c818016fd0f9",
    "varshney2011": "0e14f996f39af558",
    "white1986": "48f353e4e5ba1b5b",
    "larva-mb-left": "97418e9fe103bb3a",
    "larva-mb-right": "bc7ec74efca5f763",
}


def test_fingerprints_do_not_drift(settings: Settings) -> None:
    got = {name: make_source(name, settings.data_cache).fingerprint() for name in FINGERPRINTS}
    assert got == FINGERPRINTS
