"Property tests for schema inference and fingerprints (mlworkflow.data), plus loader round trips."
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlworkflow.data import (KINDS, ROLES, Schema, SchemaError, fingerprint, infer_schema, load_churn, read_data)
from mlworkflow.problem import churn_problem

WORDS = ["a", "b", "red", "blue", "x1", "Yes", "No", "long phrase here"]


@st.composite
def frames(draw):
    n = draw(st.integers(0, 60))
    ncol = draw(st.integers(1, 6))
    cols = {}
    for j in range(ncol):
        kind = draw(st.sampled_from(["int", "float", "str", "bool", "numtext", "date", "flag", "mixed"]))
        if kind == "int": v = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
        elif kind == "float":
            v = draw(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=n, max_size=n))
            v = [np.nan if x is None else x for x in v]
        elif kind == "str": v = draw(st.lists(st.one_of(st.none(), st.sampled_from(WORDS), st.text("abc xyz", max_size=8)), min_size=n, max_size=n))
        elif kind == "bool": v = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        elif kind == "flag": v = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
        elif kind == "numtext":
            v = [" " if x is None else f"{x:.2f}" for x in draw(st.lists(st.one_of(st.none(), st.floats(0, 1e4)), min_size=n, max_size=n))]
        elif kind == "date":
            v = [str(pd.Timestamp("2020-01-01") + pd.Timedelta(hours=h)) for h in draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n))]
        else: v = pd.Series(draw(st.lists(st.one_of(st.integers(0, 5), st.sampled_from(WORDS)), min_size=n, max_size=n)), dtype=object)
        cols[f"c{j}_{kind}"] = v
    return pd.DataFrame(cols)


common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(frames())
def test_every_column_gets_a_kind_and_role(df):
    s = infer_schema(df)
    assert list(s.columns) == [str(c) for c in df.columns]
    for spec in s.columns.values():
        assert spec.kind in KINDS and spec.role in ROLES


@common
@given(frames())
def test_schema_json_round_trip(df):
    s = infer_schema(df)
    assert Schema.from_dict(json.loads(json.dumps(s.to_dict()))) == s


@common
@given(frames())
def test_data_validates_against_its_own_schema(df):
    s = infer_schema(df)
    rep = s.validate(df, strict=True)
    assert rep.ok and rep.problems == [], str(rep)
    clean, _ = s.coerce(df)
    assert s.validate(clean, strict=True).ok


@common
@given(frames(), st.randoms())
def test_inference_ignores_row_order(df, rnd):
    idx = list(range(len(df)))
    rnd.shuffle(idx)
    assert infer_schema(df.iloc[idx]) == infer_schema(df)


@common
@given(frames())
def test_coerce_reports_every_change_and_is_idempotent(df):
    s = infer_schema(df)
    clean, changes = s.coerce(df)
    changed = [c for c in df.columns if str(clean[c].dtype) != str(df[c].dtype)]
    assert sorted(changed) == sorted(m.split(":")[0] for m in changes)
    assert s.coerce(clean)[1] == []
    assert len(clean) == len(df)          # nothing dropped


@common
@given(frames(), st.randoms())
def test_fingerprint_order_independent_option(df, rnd):
    idx = list(range(len(df)))
    rnd.shuffle(idx)
    shuffled = df.iloc[idx][list(df.columns)[::-1]]
    assert fingerprint(shuffled, order_independent=True) == fingerprint(df, order_independent=True)
    assert fingerprint(df) == fingerprint(df.copy())


def test_fingerprint_sees_last_row():
    df = load_churn()
    other = df.copy()
    other.loc[len(df) - 1, "MonthlyCharges"] += 0.01
    assert fingerprint(other) != fingerprint(df)


def test_churn_schema():
    df = load_churn()
    s = infer_schema(df, churn_problem())
    assert (s["customerID"].kind, s["customerID"].role) == ("identifier", "id")
    assert s["Churn"].role == "target" and s["SeniorCitizen"].kind == "boolean"
    clean, changes = s.coerce(df)
    assert changes == ["TotalCharges: text -> float64; 11 blank strings -> missing"]
    assert clean.TotalCharges.isna().sum() == 11


def test_validation_messages():
    df = load_churn()
    s = infer_schema(df, churn_problem())
    bad = df.head(20).drop(columns="tenure").assign(extra=1)
    bad.loc[0, "Contract"] = "Forever"
    bad.loc[1, "TotalCharges"] = "n/a"
    rep = s.validate(bad)
    msgs = [p.message for p in rep.problems]
    assert "column 'tenure' is missing (expected numeric, role feature)" in msgs
    assert "column 'extra' is not in the schema" in msgs
    assert any("'Contract': 1 values in categories not seen before: ['Forever']" in m for m in msgs)
    assert any("'TotalCharges': expected numbers, 1 values are not (e.g. ['n/a'])" in m for m in msgs)
    assert rep.bad_rows == 2
    with pytest.raises(SchemaError, match="column 'tenure' is missing"): rep.raise_if_failed()


def test_loaders_round_trip(tmp_path):
    df = load_churn()  # includes the blank TotalCharges, so every reader keeps it as text
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet")
    with sqlite3.connect(tmp_path / "d.db") as con: df.to_sql("t", con, index=False)
    for got in (read_data(tmp_path / "d.csv"), read_data(tmp_path / "d.parquet"), read_data(tmp_path / "d.db"),
                read_data(f"sqlite:///{tmp_path / 'd.db'}", table="t")):
        pd.testing.assert_frame_equal(got, df, check_dtype=False)
    with pytest.raises(ValueError, match="table 'x' not found"): read_data(tmp_path / "d.db", table="x")
    with pytest.raises(ValueError, match="apply to databases"): read_data(tmp_path / "d.csv", table="t")
    with pytest.raises(FileNotFoundError, match="nope.csv"): read_data(tmp_path / "nope.csv")


@common
@given(frames())
def test_a_column_is_inferred_alone_as_in_its_frame(df):
    # the text samples of all columns are looked at together; no column may change another's spec
    s = infer_schema(df)
    for c in df.columns: assert infer_schema(df[[c]])[c] == s[c]


def _spec(values, dtype="str", **kw):
    return infer_schema(pd.DataFrame({"c": pd.Series(values, dtype=dtype)}), **kw)["c"]


@pytest.mark.parametrize("dtype", ["str", "object", "string"])
def test_inference_edge_cases(dtype):
    n = 3000
    nums = _spec([" "] + [f"{i / 7:.2f}" for i in range(n)], dtype)               # first value blank: the full look decides
    assert (nums.kind, nums.dtype, nums.missing, nums.note) == ("numeric", "float64", 1, "numbers stored as text; 1 blank strings -> missing")
    assert (_spec([" ", ""] * 20, dtype).kind, _spec([" ", ""] * 20, dtype).note) == ("categorical", "")   # blanks only: no numbers
    assert _spec(["1", "x"] * 20, dtype).kind == "categorical"
    dates = _spec([str(pd.Timestamp("2021-01-01") + pd.Timedelta(hours=h)) for h in range(n)], dtype)
    assert (dates.kind, dates.note) == ("datetime", "dates stored as text")
    assert _spec([f"ID{i:05d}" for i in range(n)], dtype).kind == "identifier"    # unique one-word text, beyond the 2000 sampled
    assert _spec([f"ID{i:05d}" for i in range(n - 1)] + ["ID00000"], dtype).kind == "high_cardinality"
    assert _spec([f"word {i} and more" for i in range(n)], dtype).kind == "text"
    assert _spec([f"label{i % 50}" for i in range(n)], dtype).categories == sorted(f"label{i}" for i in range(50))
    assert _spec([f"label{i % 51}" for i in range(n)], dtype).kind == "high_cardinality"
    assert _spec([None] * 30, dtype).kind == "constant"
    assert _spec([], dtype).kind == "constant"


def test_numeric_range_keeps_types_and_signed_zero():
    df = pd.DataFrame({"f": [-0.0, 0.0, 2.5, np.nan], "i": [3, -2, 7, 5], "big": [2**62 + 1, 0, 5, 9]})
    s = infer_schema(df)
    assert (s["f"].min, s["f"].max, s["f"].missing) == (df.f.min(), 2.5, 1) and str(s["f"].min) == str(df.f.min())
    assert (s["i"].min, s["i"].max) == (-2, 7) and type(s["i"].min) is int
    assert s["big"].max == 2**62 + 1
