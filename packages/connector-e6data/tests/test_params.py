"""Client-side parameter quoting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from awsdb_e6data import ProgrammingError
from awsdb_e6data._params import quote, substitute


def test_standard_and_hive_quoting() -> None:
    assert quote("o'neil") == "'o''neil'"
    assert quote("o'neil", "hive") == "'o\\'neil'"
    assert quote("a\\b\n", "hive") == "'a\\\\b\\n'"
    assert quote(None) == "NULL" and quote(True) == "TRUE" and quote(3) == "3"
    assert quote(Decimal("1.50")) == "1.50" and quote(Decimal("1E+3")) == "1000"
    assert quote(b"\x00\xff") == "from_hex('00ff')"
    assert quote(dt.date(2024, 1, 2)) == "DATE '2024-01-02'"
    assert quote(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)).startswith("TIMESTAMPTZ '")
    assert quote(float("nan")) == "CAST('nan' AS DOUBLE)"
    assert quote([1, "a"]) == "(1, 'a')"


def test_substitute() -> None:
    assert substitute("select %(a)s, %%", {"a": "x"}) == "select 'x', %"
    assert substitute("select %s", ("x",)) == "select 'x'"
    assert substitute("select 5 % 2", None) == "select 5 % 2"
    with pytest.raises(ProgrammingError):
        substitute("select %(missing)s", {"a": 1})
    with pytest.raises(ProgrammingError):
        quote(object())
    with pytest.raises(ProgrammingError):
        quote("nul\x00")
