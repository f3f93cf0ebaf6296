"Tests for mlworkflow.eda: planted leaks are flagged, honest churn columns are not, every task type profiles, outputs serialise."
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlworkflow.data import load_churn
from mlworkflow.eda import Profile, profile
from mlworkflow.problem import Problem, churn_problem


@pytest.fixture(scope="module")
def churn():
    return load_churn()


def test_honest_churn_has_no_leakage_suspects(churn):
    p = profile(churn, churn_problem())
    assert p.leakage == []
    assert (p.association.strength < 0.8).all()
    assert not p.association.suspect.any()


def test_planted_leaks_are_flagged(churn):
    rng = np.random.default_rng(0)
    df = churn.sort_values("Churn", kind="stable").reset_index(drop=True)
    df["row_id"] = np.arange(len(df))                                   # an ID assigned in outcome order
    df["refund_score"] = (df.Churn == "Yes") + rng.normal(0, 0.3, len(df))  # a noisy copy of the target
    spec = Problem.from_dict(churn_problem().to_dict() | {"id_cols": ["customerID", "row_id"]})
    p = profile(df, spec)
    found = {(f.check, f.column) for f in p.leakage}
    assert found == {("near_perfect_feature", "refund_score"), ("id_predicts_target", "row_id")}
    assert all(f.evidence and f.action for f in p.leakage)


def test_string_id_sorted_by_target_is_flagged(churn):
    df = churn.sort_values("Churn", kind="stable").reset_index(drop=True)
    df["customerID"] = [f"C{i:06d}" for i in range(len(df))]
    p = profile(df, churn_problem())
    assert ("id_predicts_target", "customerID") in {(f.check, f.column) for f in p.leakage}


def test_unlabelled_id_used_as_feature_is_flagged(churn):
    df = churn.sort_values("Churn", kind="stable").reset_index(drop=True)
    df["seq"] = np.arange(len(df)) * 1.0     # not marked as an identifier: still a near-perfect feature
    p = profile(df, churn_problem())
    assert ("near_perfect_feature", "seq") in {(f.check, f.column) for f in p.leakage}


def test_post_outcome_columns(churn):
    rng = np.random.default_rng(1)
    days = pd.to_timedelta(rng.integers(0, 90, len(churn)), unit="D")
    df = churn.assign(cancelled=(pd.Timestamp("2024-06-01") + days).where(churn.Churn == "Yes"))
    p = profile(df, churn_problem(), cutoff="2024-01-01")
    checks = {f.check for f in p.leakage if f.column == "cancelled"}
    assert checks == {"presence_predicts_target", "after_cutoff"}


def test_duplicates_across_splits(churn):
    tr, te = churn.iloc[:4000], churn.iloc[3000:]
    p = profile(churn, churn_problem(), splits={"train": tr, "test": te})
    (f,) = p.leakage
    assert f.check == "duplicate_across_splits" and int(f.evidence.split()[0]) >= 1000


def test_regression_and_multiclass(churn):
    df = churn.assign(TotalCharges=pd.to_numeric(churn.TotalCharges, errors="coerce"))
    reg = Problem("charges", "regression", target="MonthlyCharges", id_cols=["customerID"])
    p = profile(df.assign(leak=df.MonthlyCharges * 2 + 1), reg)
    assert {(f.check, f.column) for f in p.leakage} == {("near_perfect_feature", "leak")}
    assert p.association.loc["leak", "measure"] == "r2"
    mc = Problem("contract", "multiclass", target="Contract", id_cols=["customerID"])
    p2 = profile(df, mc)
    assert set(p2.balance.index) == {"Month-to-month", "One year", "Two year"}
    assert p2.leakage == []


def test_quality_warnings():
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"y": rng.random(n) < 0.05, "const": 1, "x": rng.normal(size=n),
                       "mixed": pd.Series([1, "a"] * (n // 2), dtype=object),
                       "city": [f"c{i}" for i in rng.integers(0, 200, n)]})
    df.loc[:100, "x"] = np.nan
    df.loc[5, "x"] = 1e6
    df = pd.concat([df, df.head(10)], ignore_index=True)
    p = profile(df, Problem("toy", "binary", target="y", positive_label=True))
    checks = {(f.check, f.column) for f in p.warnings}
    for want in [("constant", "const"), ("missing", "x"), ("high_cardinality", "city"), ("mixed_types", "mixed"),
                 ("outliers", "x"), ("imbalance", "y"), ("duplicates", None)]:
        assert want in checks, want


def test_outputs_serialise(churn, tmp_path):
    p = profile(churn, churn_problem())
    d = json.loads(json.dumps(p.to_dict()))
    assert d["n_rows"] == 7043 and d["leakage"] == []
    html = p.save_html(tmp_path / "p.html").read_text()
    assert "<svg" in html and "<script" not in html and "data:image" not in html
    assert html.count("histogram of every row") == 4 and "most frequent values" in html
    assert "Leakage suspects" in p._repr_html_()
    for kind in ("hist", "box", "association", "corr", "balance"):
        disp = p.plot(kind)
        assert disp.figure_ is not None


def test_errors(churn):
    with pytest.raises(ValueError, match="target column 'Churn' not found"): profile(churn.drop(columns="Churn"), churn_problem())
    with pytest.raises(TypeError, match="needs a Problem spec"): profile(churn, "churn")
    with pytest.raises(ValueError, match="group column 'x' not in the data"): profile(churn, churn_problem(), groups="x")


@st.composite
def labelled_frames(draw):
    n = draw(st.integers(0, 80))
    y = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    cols = {"y": y}
    for j in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["num", "cat", "flag", "numtext"]))
        if kind == "num": v = [np.nan if x is None else x for x in draw(st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3)), min_size=n, max_size=n))]
        elif kind == "cat": v = draw(st.lists(st.one_of(st.none(), st.sampled_from(["p", "q", "r"])), min_size=n, max_size=n))
        elif kind == "flag": v = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
        else: v = [" " if x is None else str(x) for x in draw(st.lists(st.one_of(st.none(), st.integers(0, 99)), min_size=n, max_size=n))]
        cols[f"c{j}{kind}"] = v
    return pd.DataFrame(cols)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labelled_frames())
def test_profile_never_crashes_and_serialises(df):
    p = profile(df, Problem("t", "binary", target="y", positive_label="a"))
    assert isinstance(p, Profile) and p.n_rows == len(df)
    json.dumps(p.to_dict())
    p._repr_html_()


@st.composite
def numeric_columns(draw):
    n = draw(st.integers(1, 120))
    if draw(st.booleans()): v = draw(st.lists(st.one_of(st.none(), st.integers(-30, 30)), min_size=n, max_size=n))
    else: v = draw(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, 1.5])), min_size=n, max_size=n))
    x = np.array([np.nan if u is None else u for u in v], dtype=float)
    insample = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return x, insample


@settings(max_examples=150, deadline=None)
@given(numeric_columns(), st.booleans())
def test_numeric_stats_match_numpy(col, integer):
    "Statistics on every row and ranks of the sample are the same whichever route computes them (bincount, or sorted halves merged)."
    from scipy.stats import rankdata
    from mlworkflow.stats import _numeric_stats
    x, insample = col
    integer = integer and bool(np.all(np.isnan(x) | (x == np.round(x))))
    idx, rest = np.flatnonzero(insample), np.flatnonzero(~insample)
    stats, (xs, r), hist = _numeric_stats(x, integer, (idx, rest))
    v = x[~np.isnan(x)]
    assert np.array_equal(xs, x[idx], equal_nan=True)
    ok = ~np.isnan(xs)
    assert np.array_equal(r[ok], rankdata(xs[ok])) and np.isnan(r[~ok]).all()
    if len(v) == 0:
        assert stats["unique"] == 0 and np.isnan(stats["mean"]) and hist is None
        return
    edges, counts = hist                                  # every row binned once, as numpy bins them
    assert counts.sum() == len(v) and len(edges) == min(24, len(np.unique(v))) + 1
    if len(edges) > 2: assert np.array_equal(counts, np.histogram(v, edges)[0])
    q = np.quantile(v, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose([stats[k] for k in ("min", "q25", "median", "q75", "max")], q, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(stats["mean"], v.mean(), rtol=1e-9, atol=1e-6)
    if len(v) > 1: np.testing.assert_allclose(stats["std"], v.std(ddof=1), rtol=1e-9, atol=1e-6)
    iqr = q[3] - q[1]
    assert stats["unique"] == len(np.unique(v)) and stats["zeros"] == int((v == 0).sum())
    assert stats["outliers"] == (int(((v < q[1] - 1.5 * iqr) | (v > q[3] + 1.5 * iqr)).sum()) if iqr > 0 else 0)


def test_duplicates_and_correlations_match_pandas():
    from mlworkflow.stats import _codes, _corr, _count_duplicates
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.integers(0, 3, 400), "b": rng.choice(["x", "y", None], 400), "c": rng.integers(0, 2, 400) * 0.5,
                       "d": rng.normal(size=400)})
    df.loc[300:, "d"] = df.loc[:99, "d"].to_numpy()                       # the most distinct column repeats, other columns mostly do not
    cd, labels, k = _codes(df["b"])
    codes = {"b": (cd, k, labels)}                                        # text hashed by its codes, numbers as stored
    for distinct in ({}, {"d": 300, "a": 3}):
        assert _count_duplicates(df, list(df.columns), codes, distinct) == int(df.duplicated().sum()) > 0
        assert _count_duplicates(df, ["a", "b", "c"], codes, distinct) == int(df[["a", "b", "c"]].duplicated().sum())
    M = rng.normal(size=(20_000, 4)) * [1, 10, 1e3, 1] + [0, 1e6, -5, 3]
    M[rng.random(M.shape) < 0.1] = np.nan
    np.testing.assert_allclose(_corr(M), pd.DataFrame(M).corr().to_numpy(), atol=1e-10)


def test_threads_do_not_change_the_result(churn):
    big = pd.concat([churn] * 3, ignore_index=True)
    a, b = profile(big, churn_problem(), n_jobs=1).to_dict(), profile(big, churn_problem(), n_jobs=2).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    with pytest.raises(ValueError, match="n_jobs must be -1"): profile(churn, churn_problem(), n_jobs=0)


def test_report_charts_dates_and_escaping():
    "Dates get a histogram over time (every non-missing row, tz kept); column names and values are escaped in the page."
    rng, n = np.random.default_rng(0), 500
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
                       "naive": pd.Series(pd.date_range("2023-01-01", periods=n, freq="D")).where(rng.random(n) > 0.1),
                       "<b>x</b>": rng.normal(size=n), "tag": rng.choice(["<i>a</i>", "b"], n), "y": rng.integers(0, 2, n)})
    p = profile(df, Problem("t", "binary", target="y", positive_label=1))
    d = p.distributions
    assert sum(d["when"]["counts"]) == n and d["when"]["edges"][0] == "2024-01-01T00:00:00+00:00"
    assert sum(d["naive"]["counts"]) == int(df["naive"].notna().sum())
    assert sorted(d["tag"]["labels"]) == ["<i>a</i>", "b"] and sum(d["tag"]["counts"]) == n
    page = p.to_html()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<i>a</i>" not in page
    assert page.count("<svg") >= 5 + 2                  # five columns charted, the by-target panel, the correlations
