import math

import pytest

from connectomedb.errors import LoaderError
from connectomedb.loaders.base import Where, parse_count, parse_float

W = Where("f.csv", 7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3), (" 12 ", 12), ("4.0", 4), (5, 5), (2.0, 2), ("", 0), (None, 0), (math.nan, 0)],
)
def test_parse_count_accepts(value: object, expected: int) -> None:
    assert parse_count(value, W, "n") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "negative count '-1'"),
        ("x", "expected a non-negative integer, got 'x'"),
        ("1.5", "expected a non-negative integer, got '1.5'"),
        ("inf", "expected a non-negative integer, got 'inf'"),
    ],
)
def test_parse_count_rejects(value: object, message: str) -> None:
    with pytest.raises(LoaderError) as e:
        parse_count(value, W, "n")
    assert str(e.value) == f"f.csv, row 7, column 'n': {message}"


def test_parse_float() -> None:
    assert parse_float("1.25", W, "x") == 1.25
    assert parse_float("", W, "x") is None
    with pytest.raises(LoaderError, match="column 'x': missing value"):
        parse_float("", W, "x", optional=False)
    with pytest.raises(LoaderError, match="expected a finite number"):
        parse_float("nan", W, "x")
