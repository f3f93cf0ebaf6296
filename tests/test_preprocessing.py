"Splits never share a row or a group; de-duplication and the schema-driven preprocessor on the churn data."
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from mlworkflow.preprocessing import deduplicate, make_preprocessor, split_data, Splits
from mlworkflow.problem import Problem


# ---------------------------------------------------------------- splits: property tests
@st.composite
def _sizes(draw):
    train = draw(st.floats(0.05, 0.89))
    valid = draw(st.sampled_from([0.0, draw(st.floats(0.01, 0.9 - train))]))
    return (train, valid, 1 - train - valid)


@st.composite
def _frames(draw):
    n = draw(st.integers(3, 300))
    n_groups = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return pd.DataFrame({"row": np.arange(n), "g": rng.integers(0, n_groups, n), "t": rng.integers(0, 50, n),
                         "y": rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1]), "x": rng.normal(size=n)},
                        index=rng.permutation(n) * 3)


PROBLEM = Problem("p", "multiclass", target="y", group_col="g", time_col="t")


@settings(max_examples=150, deadline=None, database=None)
@given(df=_frames(), sizes=_sizes(), strategy=st.sampled_from(["random", "stratified", "group", "time"]), seed=st.integers(0, 100))
def test_no_row_or_group_in_two_splits(df, sizes, strategy, seed):
    try:
        sp = split_data(df, PROBLEM, sizes=sizes, strategy=strategy, random_state=seed)
    except ValueError as e:
        assert "would be empty" in str(e)
        return
    parts = [sp.train, sp.valid, sp._test]
    rows = [set(p["row"]) for p in parts]
    assert sum(len(r) for r in rows) == len(df)                   # every row somewhere ...
    assert set().union(*rows) == set(df["row"])                   # ... exactly once
    for a in range(3):
        for b in range(a + 1, 3):
            assert not rows[a] & rows[b]
            if strategy == "group": assert not set(parts[a]["g"]) & set(parts[b]["g"])
            if strategy == "time" and len(parts[a]) and len(parts[b]): assert parts[a]["t"].max() < parts[b]["t"].min()
    assert len(sp.train) and len(sp._test)
    if sizes[1] == 0: assert len(sp.valid) == 0
    for p in parts: pd.testing.assert_frame_equal(p, df.loc[p.index])  # rows unchanged, labels kept


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.integers(200, 2000), sizes=_sizes(), seed=st.integers(0, 100))
def test_random_split_sizes_follow_fractions(n, sizes, seed):
    df = pd.DataFrame({"x": np.arange(n)})
    sp = split_data(df, None, sizes=sizes, random_state=seed)
    for part, frac in zip(("train", "valid", "test"), sizes):
        assert abs(sp.n_rows[part] - frac * n) <= 1


def test_split_is_reproducible_and_seeded(churn):
    problem, _, df = churn
    a, b = split_data(df, problem), split_data(df, problem)
    assert a.fingerprints == b.fingerprints
    assert split_data(df, problem, random_state=1).fingerprints != a.fingerprints


def test_stratified_keeps_class_mix(churn):
    problem, _, df = churn
    sp = split_data(df, problem)
    rate = (df["Churn"] == "Yes").mean()
    for part in (sp.train, sp.valid, sp.test):
        assert abs((part["Churn"] == "Yes").mean() - rate) < 0.005


def test_sealed_test_logs_every_access(churn):
    problem, _, df = churn
    sp = split_data(df, problem)
    assert sp.to_dict()["test_accesses"] == []
    sp.test
    sp.open_test("final evaluation")
    X, y = sp.xy("test", reason="final evaluation again")
    log = sp.to_dict()["test_accesses"]
    assert [a["reason"] for a in log] == ["read .test", "final evaluation", "final evaluation again"]
    assert all(a["caller"].startswith("test_preprocessing.py:") for a in log[:2])
    assert len(X) == log[0]["n_rows"] and "customerID" not in X
    with pytest.raises(ValueError, match="needs a reason"): sp.xy("test")
    import json; json.dumps(sp.to_dict())


def test_split_errors(churn):
    problem, _, df = churn
    with pytest.raises(ValueError, match="sizes must sum to 1"): split_data(df, problem, sizes=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="three fractions"): split_data(df, problem, sizes=(0.5, 0.5))
    with pytest.raises(ValueError, match="train and test > 0"): split_data(df, problem, sizes=(0.0, 0.5, 0.5))
    with pytest.raises(ValueError, match="unknown strategy 'temporal'"): split_data(df, problem, strategy="temporal")
    with pytest.raises(ValueError, match="needs the problem's time_col"): split_data(df, problem, strategy="time")
    with pytest.raises(ValueError, match="column 'when' not found"): split_data(df, replace(problem, time_col="when"), strategy="time")
    with pytest.raises(ValueError, match="would be empty"): split_data(df.head(2), problem)
    with pytest.raises(TypeError, match="needs a pandas DataFrame"): split_data(df.to_numpy(), problem)
    gap = df.assign(g=df["gender"].where(df.index > 5))
    with pytest.raises(ValueError, match="column 'g' has 6 missing values"): split_data(gap, replace(problem, group_col="g"), strategy="group")


# ---------------------------------------------------------------- de-duplication
def test_deduplicate_exact_then_key():
    df = pd.DataFrame({"id": [1, 2, 1, 3, 3, 4], "x": [0, 1, 0, 5, 6, 7], "y": [0, 1, 0, 1, 0, 1]})
    out, rep = deduplicate(df, "id", target="y")
    assert out["id"].tolist() == [1, 2, 3, 4]
    assert (rep.n_exact, rep.n_key, rep.conflicts, rep.n_after) == (1, 1, 1, 4)
    assert rep.removed.loc[2, "duplicate_of"] == 0 and rep.removed.loc[4, "duplicate_of"] == 3
    last, _ = deduplicate(df, "id", keep="last")
    assert last.index.tolist() == [1, 2, 4, 5]
    with pytest.raises(ValueError, match="keep must be"): deduplicate(df, keep=False)
    with pytest.raises(ValueError, match="target column 'label' not found"): deduplicate(df, "id", target="label")


def test_dedup_report_outputs(tmp_path):
    df = pd.DataFrame({"a": [1, 1, np.nan, np.nan], "b": ["x", "x", None, None]})
    out, rep = deduplicate(df)
    assert len(out) == 2 and rep.n_exact == 2          # missing values compare equal
    import json; json.dumps(rep.to_dict())
    assert "exact" in rep.save_html(tmp_path / "d.html").read_text()


# ---------------------------------------------------------------- preprocessor
def test_preprocessor_on_churn(churn):
    problem, schema, df = churn
    sp = split_data(df, problem)
    X, y = sp.xy("train")
    pre = make_preprocessor(schema)
    assert not hasattr(pre, "transformers_")                       # unfitted
    Xt = pre.fit_transform(X, y)
    assert isinstance(Xt, pd.DataFrame) and Xt.notna().all().all()
    assert list(Xt.columns) == list(pre.get_feature_names_out())
    Xv = pre.transform(sp.valid[X.columns])
    assert list(Xv.columns) == list(Xt.columns) and Xv.index.equals(sp.valid.index)
    # a pickled preprocessor gives the same output
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pre)).transform(X), Xt.to_numpy())


@pytest.mark.parametrize("opts", [dict(scale=False), dict(impute="mean"), dict(impute="most_frequent"), dict(impute="constant", fill_value=0),
                                  dict(impute="iterative"), dict(categorical="ordinal"), dict(max_categories=3), dict(add_indicator=False)])
def test_preprocessor_options_in_cross_validation(churn, opts):
    problem, schema, df = churn
    X, y = split_data(df, problem).xy("train")
    model = make_pipeline(make_preprocessor(schema, **opts), LogisticRegression(max_iter=500))
    assert cross_val_score(clone(model), X.head(1500), y.head(1500), cv=3, scoring="roc_auc").mean() > 0.75


def test_scale_switch(churn):
    problem, schema, df = churn
    X, y = split_data(df, problem).xy("train")
    raw = make_preprocessor(schema, scale=False).fit_transform(X, y)
    assert raw["tenure"].equals(X["tenure"].astype(float))
    scaled = make_preprocessor(schema).fit_transform(X, y)
    assert abs(scaled["tenure"].std(ddof=0) - 1) < 1e-9


def test_high_cardinality_target_encoding_is_cross_fitted():
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"code": [f"c{i}" for i in rng.integers(0, 300, n)], "x": rng.normal(size=n)})
    y = pd.Series(rng.integers(0, 2, n))
    pre = make_preprocessor({"numeric": ["x"], "high_cardinality": ["code"]})
    Xt = pre.fit_transform(df, y)
    # pure noise: cross-fitting keeps the encoding from memorising the label
    assert abs(np.corrcoef(Xt["code"], y)[0, 1]) < 0.2
    assert list(Xt.columns) == ["x", "missingindicator_x", "code"] or list(Xt.columns) == ["x", "code"]


def test_unknown_categories_at_serving(churn):
    problem, schema, df = churn
    X, y = split_data(df, problem).xy("train")
    pre = make_preprocessor(schema, min_frequency=0.25).fit(X, y)
    odd = X.head(2).assign(Contract="Lifetime", PaymentMethod="Crypto", gender=np.nan)
    out = pre.transform(odd)
    assert out.notna().all().all() and out["PaymentMethod_infrequent_sklearn"].tolist() == [1.0, 1.0]


def test_preprocessor_errors(churn):
    _, schema, _ = churn
    with pytest.raises(ValueError, match="impute must be one of"): make_preprocessor(schema, impute="knn")
    with pytest.raises(ValueError, match="categorical must be"): make_preprocessor(schema, categorical="binary")
    with pytest.raises(ValueError, match="high_cardinality must be"): make_preprocessor(schema, high_cardinality="hash")
    with pytest.raises(ValueError, match="no feature columns"): make_preprocessor({"identifier": ["id"]})
    with pytest.raises(TypeError, match="needs a Schema"): make_preprocessor(None)


def test_splits_constructor_is_public():
    df = pd.DataFrame({"x": range(10)})
    sp = Splits(df.iloc[:6], df.iloc[6:8], df.iloc[8:], strategy="manual", sizes=(0.6, 0.2, 0.2))
    assert sp.n_rows == {"train": 6, "valid": 2, "test": 2} and "sealed" in repr(sp)
