"""Behaviour of mlworkflow.report that would spoil the report page: the test split evaluated once (bare rows and
a logged Splits), a standalone HTML report with a JSON-able dict, and every task type evaluated."""
import json
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlworkflow.explain import shap_values
from mlworkflow.problem import Problem
from mlworkflow.report import EvaluationReport, evaluate, evaluate_test

matplotlib.use("Agg")


# ---- the final test and the report -----------------------------------------------------------------------------

class _FakeSplits:
    "Stands in for chapter 03's Splits: a sealed test frame whose accesses are logged."
    def __init__(self, test): self._test, self.access_log = test, []
    def open_test(self, reason):
        self.access_log.append({"reason": reason})
        return self._test


def test_test_split_is_evaluated_once(churnlike):
    problem, model, X, y = churnlike
    Xt, yt = X.iloc[1800:2100], y.iloc[1800:2100]
    with pytest.raises(ValueError, match="chosen on the validation split"):
        evaluate_test(problem, model, Xt, yt)
    rep = evaluate_test(problem, model, Xt, yt, threshold=0.3, figures=False, slices=False, n_boot=100)
    assert rep.split == "test" and rep.notes[0].startswith("first and only")
    assert rep.verdict.status in ("pass", "fail", "inconclusive")
    with pytest.raises(RuntimeError, match="already evaluated"):
        evaluate_test(problem, model, Xt, yt, threshold=0.3)
    again = evaluate_test(problem, model, Xt, yt, threshold=0.3, force=True, figures=False, slices=False, n_boot=100)
    assert again.notes[0].startswith("FORCED")


def test_test_split_once_through_splits_access_log(churnlike):
    problem, model, X, y = churnlike
    splits = _FakeSplits(pd.concat([X.iloc[2100:], y.iloc[2100:]], axis=1))
    rep = evaluate_test(problem, model, splits, threshold=0.3, figures=False, slices=False, n_boot=100)
    assert rep.n_rows == 300 and len(splits.access_log) == 1
    with pytest.raises(RuntimeError, match="already evaluated"):
        evaluate_test(problem, model, splits, threshold=0.3)
    assert len(splits.access_log) == 1  # refusing did not open the split again


def test_html_report_is_standalone_and_dict_is_json(churnlike, tmp_path):
    problem, model, X, y = churnlike
    rep = evaluate(problem, model, X.iloc[1200:1800], y.iloc[1200:1800], threshold=0.3, shap=True, shap_rows=120, n_boot=200)
    assert isinstance(rep, EvaluationReport)
    page = rep.save_html(tmp_path / "r.html").read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)
    assert page.count("data:image/png;base64,") == len(rep.figures) >= 5
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["split"] == "valid" and d["threshold"] == 0.3 and set(d["metrics"]) >= {"recall", "precision"}
    assert "<details>" in rep._repr_html_() and len(rep._repr_html_()) < 20_000


def test_regression_report():
    from sklearn.datasets import load_diabetes
    d = load_diabetes(as_frame=True).frame
    p = Problem("diabetes", "regression", "target", criteria=["mae <= 50"])
    m = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(d.drop(columns="target").iloc[:300], d.target.iloc[:300])
    rep = evaluate(p, m, d.drop(columns="target").iloc[300:], d.target.iloc[300:], n_boot=200)
    assert list(rep.metrics.index) == ["mse", "rmse", "mae", "r2", "mape"]
    assert rep.verdict.results[0].criterion.metric == "mae"
    assert "predictions and residuals" in rep.figures


def test_real_splits_are_opened_once():
    from mlworkflow.preprocessing import split_data
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": rng.normal(size=600), "b": rng.choice(["x", "y"], 600)})
    df["Churn"] = np.where(df.a + rng.normal(size=600) > 0.5, "Yes", "No")
    problem = Problem("p", "binary", "Churn", "Yes", criteria=["recall >= 0.5"])
    splits = split_data(df, problem, random_state=0)
    model = make_pipeline(ColumnTransformer([("n", StandardScaler(), ["a"])]), LogisticRegression()).fit(splits.train[["a", "b"]], splits.train.Churn)
    with pytest.raises(ValueError, match="chosen on the validation split"):
        evaluate_test(problem, model, splits)
    assert splits.access_log == []
    rep = evaluate_test(problem, model, splits, threshold=0.4, figures=False, n_boot=100)
    assert len(splits.access_log) == 1 and "evaluate_test" in splits.access_log[0]["reason"]
    with pytest.raises(RuntimeError, match="already evaluated 1 time"):
        evaluate_test(problem, model, splits, threshold=0.4)
    assert len(splits.access_log) == 1 and rep.n_rows == splits.n_rows["test"]


def test_other_tasks_evaluate():
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_iris
    from sklearn.neural_network import MLPClassifier
    iris = load_iris(as_frame=True)
    X, y = iris.data, iris.target
    mc = Problem("iris", "multiclass", "target", criteria=["accuracy >= 0.8"])
    m = LogisticRegression(max_iter=500).fit(X, y)
    rep = evaluate(mc, m, X, y, n_boot=100)
    assert rep.metrics.loc["accuracy", "estimate"] > 0.9 and rep.verdict.status == "pass"
    km = KMeans(3, n_init=3, random_state=0).fit(X)
    rep = evaluate(Problem("iris-c", "clustering", criteria=["silhouette >= 0.3"]), km, X, n_boot=30)
    assert {"silhouette", "davies_bouldin"} <= set(rep.metrics.index)
    rng = np.random.default_rng(0)
    q = pd.DataFrame({"q": np.repeat(np.arange(15), 8), "x": rng.normal(size=120)})
    rel = pd.Series(rng.integers(0, 3, 120), name="rel")
    rank = Problem("rank", "ranking", "rel", group_col="q", criteria=["ndcg@5 >= 0.5"])
    rep = evaluate(rank, rel.to_numpy() + rng.normal(size=120), q, rel, n_boot=50)  # precomputed scores
    assert list(rep.metrics.index) == ["ndcg", "ndcg@5", "ndcg@10", "map"] and rep.verdict.status in ("pass", "inconclusive")
    # an estimator without tree or linear structure gets the permutation explainer; still additive
    mlp = MLPClassifier(hidden_layer_sizes=(5,), max_iter=300, random_state=0).fit(X, y == 1)
    sv = shap_values(mlp, X.iloc[:10], background=20)
    assert sv.explainer == "permutation"
    np.testing.assert_allclose(sv.values.sum(axis=1) + sv.base_value, mlp.predict_proba(X.iloc[:10])[:, 1], atol=1e-6)
