"Model selection: constraints, start simple, budget, round trips, and no test row ever reaching fit."
import json
import pickle
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from mlworkflow.data import infer_schema, load_churn
from mlworkflow.preprocessing import split_data
from mlworkflow.problem import INTERPRETABLE_FAMILIES, Constraints, Problem, churn_problem
from mlworkflow.training import _paired_p, _start_simple, candidate_models, select_model

FAST = dict(cv=3, search="random", n_iter=1, latency_rows=5)


@pytest.fixture(scope="module")
def churn():
    p = churn_problem()
    df = load_churn().sample(1500, random_state=0)
    return p, infer_schema(df, p), df


def _xy(p, df):
    return df[p.feature_columns(df.columns)], df[p.target]


def _numeric(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = (X.a + 0.5 * X.b + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return X, y


def _binary(**cons):
    return Problem("toy", "binary", target="y", positive_label=1, criteria=["roc_auc >= 0.6"], constraints=Constraints(**cons))


class _SlowPredict(LogisticRegression):
    "A logistic regression that burns 60 ms of CPU to score a single row."
    def predict_proba(self, X):
        t0 = time.process_time()
        while len(X) == 1 and time.process_time() - t0 < 0.06: pass
        return super().predict_proba(X)


_SEEN = []


class _Spy(LogisticRegression):
    "Records the row labels it is fitted on."
    def fit(self, X, y, sample_weight=None):
        _SEEN.append(set(X.index))
        return super().fit(X, y, sample_weight)


def test_interpretable_only(churn):
    p, schema, df = churn
    p = Problem.from_dict({**p.to_dict(), "constraints": {**p.to_dict()["constraints"], "interpretable_only": True, "latency_ms_p95": None}})
    sel = select_model(p, schema, *_xy(p, df), **FAST)
    assert sel.best_family in INTERPRETABLE_FAMILIES
    lb = sel.leaderboard
    for name in ("forest", "hgb", "mlp"):
        assert lb.loc[name, "status"] == "excluded"
        assert "not allowed (interpretable_only)" in lb.loc[name, "reason"]
        assert lb.loc[name, "trials"] == 0
    assert lb.loc[sel.best_name, "status"] == "selected"


def test_latency_budget_excludes_slow_model():
    X, y = _numeric()
    cands = {"logistic": ("linear", LogisticRegression()), "slow": ("boosting", _SlowPredict(C=10.0))}
    sel = select_model(_binary(latency_ms_p95=40.0), None, X, y, candidates=cands, cv=3, latency_rows=5)
    lb = sel.leaderboard
    assert lb.loc["slow", "status"] == "excluded" and "latency" in lb.loc["slow", "reason"]
    assert lb.loc["slow", "latency_p95_ms"] > 40
    assert sel.best_name == "logistic"
    assert any("latency" in r for r in sel.reasons)


def test_no_candidate_meets_latency_is_an_error():
    X, y = _numeric()
    cands = {"slow": ("linear", _SlowPredict())}
    with pytest.raises(ValueError, match="no candidate satisfies the constraints"):
        select_model(_binary(latency_ms_p95=1.0), None, X, y, candidates=cands, cv=3, latency_rows=3)


def test_start_simple_prefers_simpler_when_not_significantly_better():
    X, y = _numeric()
    # the same model under a more complex family name (only its scaling differs): the simpler family must win
    cands = {"complex": ("boosting", LogisticRegression(C=1.0)), "simple": ("linear", LogisticRegression(C=1.0))}
    sel = select_model(_binary(), None, X, y, candidates=cands, cv=5)
    assert sel.best_name == "simple"
    why = sel.leaderboard.loc["complex", "reason"]
    assert "than simpler simple" in why and ("not significant" in why or "no better" in why)


def test_paired_rule():
    simple = {"name": "simple", "complexity": 1, "scores": np.array([0.80, 0.82, 0.78, 0.81, 0.79]), "mean": 0.80}
    noisy = {"name": "noisy", "complexity": 4, "scores": np.array([0.86, 0.76, 0.84, 0.77, 0.83]), "mean": 0.812}
    steady = {"name": "steady", "complexity": 4, "scores": simple["scores"] + 0.02, "mean": 0.82}
    win, notes, _ = _start_simple([noisy, simple], 1, 0.05, 0.0)
    assert win["name"] == "simple" and "not significant" in notes["noisy"]
    win, notes, _ = _start_simple([steady, simple], 1, 0.05, 0.0)
    assert win["name"] == "steady" and notes["steady"].startswith("beats simple")
    win, _, _ = _start_simple([steady, simple], 1, 0.05, 0.05)  # required margin not reached
    assert win["name"] == "simple"
    gain, p = _paired_p([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], -1)  # lower is better: a beats b by 1 each fold
    assert gain == pytest.approx(1.0) and p == 0.0


def test_budget_stops_new_candidates(churn):
    p, schema, df = churn
    sel = select_model(p, schema, *_xy(p, df), cv=3, time_budget_s=1e-6, latency_rows=3)
    d = sel.to_dict()
    assert len(d["trials"]) == 1 and d["budget"]["exhausted"]
    skipped = sel.leaderboard[sel.leaderboard.status == "skipped"]
    assert len(skipped) >= 3 and skipped.reason.str.contains("budget").all()
    assert any("budget" in r for r in sel.reasons)


class _SlowFit(LogisticRegression):
    "A logistic regression that takes half a second to fit."
    def fit(self, X, y, sample_weight=None):
        time.sleep(0.5)
        return super().fit(X, y, sample_weight)


def test_budget_keeps_the_refit_and_skips_trials_that_cannot_finish():
    X, y = _numeric()
    cands = {"slow": ("linear", _SlowFit()), "fast": ("boosting", LogisticRegression())}
    # slow: a 2-fold trial takes ~1 s and its refit on all rows ~1 s, so of a 2.5 s budget ~0.5 s is left: too little for
    # fast, whose cost is guessed from the dearest trial so far (~1 s)
    sel = select_model(_binary(), None, X, y, candidates=cands, cv=2, latency_rows=3, time_budget_s=2.5)
    lb = sel.leaderboard
    assert sel.best_name == "slow" and lb.loc["fast", "status"] == "skipped" and lb.loc["fast", "trials"] == 0
    assert lb.loc["fast", "reason"].startswith("not started: a trial would take about")
    assert sel.info["budget"]["exhausted"] and any("kept for the refit" in r for r in sel.reasons)


def test_round_trips_and_manifest(churn):
    p, schema, df = churn
    X, y = _xy(p, df)
    sel = select_model(p, schema, X, y, **FAST)
    proba = sel.best_pipeline.predict_proba(X)[:, 1]
    again = pickle.loads(pickle.dumps(sel.best_pipeline))
    np.testing.assert_allclose(again.predict_proba(X)[:, 1], proba)
    refit = clone(sel.best_pipeline).fit(X, p.encode_target(y))
    np.testing.assert_allclose(refit.predict_proba(X)[:, 1], proba, rtol=1e-6, atol=1e-9)
    d = json.loads(json.dumps(sel.to_dict()))
    assert d["best"]["name"] == sel.best_name and d["seeds"]["random_state"] == 0
    assert {"space", "method"} <= set(d["search"]) and d["trials"]
    assert sel.best_pipeline.predict_proba(X.iloc[:1].assign(TotalCharges=" ")).shape == (1, 2)  # raw text repaired


def test_no_test_row_reaches_fit(churn):
    p, schema, df = churn
    splits = split_data(df, p, random_state=1)
    X, y = splits.train[p.feature_columns(splits.train.columns)], splits.train[p.target]
    _SEEN.clear()
    select_model(p, schema, X, y, candidates={"spy": ("linear", _Spy(max_iter=500))}, cv=3, latency_rows=3)
    train_ids = set(X.index)
    assert _SEEN and all(s <= train_ids for s in _SEEN)
    assert max(len(s) for s in _SEEN) == len(X)  # the final refit uses every training row, nothing more
    assert splits.access_log == []


def test_bad_input_is_named(churn):
    p, schema, df = churn
    X, y = _xy(p, df)
    with pytest.raises(ValueError, match="holds the target column 'Churn'"):
        select_model(p, schema, df, y, **FAST)
    with pytest.raises(ValueError, match="positive_label 'Yes' not found"):
        select_model(p, schema, X, y.map({"Yes": "churn", "No": "stay"}), **FAST)
    with pytest.raises(ValueError, match="y_train has 10 values for 1500 rows"):
        select_model(p, schema, X, y.iloc[:10], **FAST)
    with pytest.raises(ValueError, match="search='bayes'"):
        select_model(p, schema, X, y, cv=3, search="bayes")


def test_candidate_families_and_tasks():
    for task, extra in (("binary", {"positive_label": 1}), ("regression", {}), ("multiclass", {})):
        c = candidate_models(Problem("t", task, target="y", **extra))
        fams = [f for f, _ in c.values()]
        assert fams[0] == "dummy" and {"linear", "tree", "forest", "boosting", "mlp"} <= set(fams)
    assert [f for f, _ in candidate_models(Problem("c", "clustering")).values()] == ["kmeans", "agglomerative", "dbscan"]


def test_regression_and_clustering_run():
    from sklearn.datasets import load_diabetes
    d = load_diabetes(as_frame=True).frame
    p = Problem("diabetes", "regression", target="target", criteria=["rmse <= 65"])
    sel = select_model(p, None, d.drop(columns="target"), d.target, **FAST)
    assert sel.leaderboard.loc[sel.best_name, "rmse_mean"] < 65 and sel.best_pipeline.predict(d.iloc[:3, :-1]).shape == (3,)
    X, _ = _numeric(300)
    sel = select_model(Problem("c", "clustering"), None, X, latency_rows=3)
    assert sel.objective == "silhouette" and sel.leaderboard.loc[sel.best_name, "n_clusters"] >= 2


def test_large_data_screened_on_a_sample_then_refit_on_all(churn):
    p, schema, df = churn
    X, y = _xy(p, df)
    _SEEN.clear()
    sel = select_model(p, schema, X, y, candidates={"spy": ("linear", _Spy(max_iter=500))}, cv=3, cv_rows=600, latency_rows=3)
    sizes = sorted(len(s) for s in _SEEN)
    assert sizes[-1] == len(X) and sizes[-2] == 400  # 3 folds of 600 sampled rows, then the refit on all 1500
    assert sel.to_dict()["n_cv_rows"] == 600 and "refitted on all" in sel.reasons[0]


def test_optuna_is_optional():
    X, y = _numeric(200)
    cands = {"logistic": ("linear", LogisticRegression())}
    try:
        import optuna  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs Optuna"):
            select_model(_binary(), None, X, y, candidates=cands, cv=3, search="optuna")
    else:
        sel = select_model(_binary(), None, X, y, candidates=cands, cv=3, search="optuna", n_iter=2, latency_rows=3)
        assert len(sel.info["trials"]) == 2


def test_ranking_uses_group_folds():
    rng = np.random.default_rng(0)
    n = 300
    R = pd.DataFrame({"q": rng.integers(0, 30, n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    rel = np.clip((1.5 * R.x1 + rng.normal(size=n)).round(), 0, 3)
    p = Problem("rank", "ranking", target="rel", group_col="q", criteria=["ndcg@10 >= 0.5"])
    c = {k: v for k, v in candidate_models(p).items() if k in ("dummy", "ridge")}
    sel = select_model(p, None, R, rel, candidates=c, cv=3, latency_rows=3)
    assert sel.info["cv"]["kind"] == "group" and sel.best_name == "ridge"
    assert "q" not in sel.best_pipeline[0][-1].feature_names_in_  # the query id is not a feature
