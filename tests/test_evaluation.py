"""Behaviour of mlworkflow.evaluation that would spoil the evaluation page: thresholds that meet the criterion
with confidence, honest infeasibility, bootstrap coverage, displays, error slices and SHAP additivity.
The report and the final test (mlworkflow.report) are in test_report.py."""
import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlworkflow.evaluation import (
    GainDisplay, PrPointDisplay, RocPointDisplay, _vec_metric, choose_threshold, confident_errors, error_slices, metric_ci,
    metrics_with_ci,
)
from mlworkflow.explain import shap_by_outcome, shap_values
from mlworkflow.problem import Problem, compute_metric

matplotlib.use("Agg")

BIN = Problem("synthetic", "binary", "y", 1, criteria=["recall >= 0.8", "precision >= 0.3"], constraints={"fp_cost": 1.0, "fn_cost": 5.0})


def _scores(n, seed, sep=1.5, prevalence=0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    return y, 1 / (1 + np.exp(-(sep * (2 * y - 1) + rng.normal(size=n))))


# ---- metrics and the bootstrap ---------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.integers(5, 80), st.integers(0, 10_000))
def test_vectorised_metrics_equal_compute_metric(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    y[:2] = [0, 1]
    s = np.round(rng.random(n), 1)  # ties on purpose
    p = (s >= 0.5).astype(float)
    ones = np.ones((1, n))
    for m in ["recall", "precision", "f1", "accuracy", "balanced_accuracy"]:
        assert _vec_metric(m, ones, y, p)[0] == pytest.approx(compute_metric(m, y, p), abs=1e-12)
    for m in ["roc_auc", "pr_auc", "log_loss", "brier"]:
        assert _vec_metric(m, ones, y, y_score=s)[0] == pytest.approx(compute_metric(m, y, y_score=s), abs=1e-9)


def test_regression_metrics_match():
    rng = np.random.default_rng(1)
    t = rng.normal(size=50) + 3
    p = t + rng.normal(size=50)
    for m in ["mse", "rmse", "mae", "r2", "mape"]:
        assert _vec_metric(m, np.ones((1, 50)), t, p)[0] == pytest.approx(compute_metric(m, t, p), rel=1e-9)


def test_bootstrap_ci_covers_the_true_value():
    "A 90% percentile interval for recall contains the true recall in about 90% of repeated samples."
    true_recall, hits, reps = 0.7, 0, 300
    rng = np.random.default_rng(0)
    for r in range(reps):
        y = np.ones(200, int)
        pred = (rng.random(200) < true_recall).astype(int)
        _, lo, hi = metric_ci(BIN, "recall", y, y_pred=pred, n_boot=400, level=0.9, random_state=r)
        hits += lo <= true_recall <= hi
    assert 0.84 <= hits / reps <= 0.96


def test_metric_table_and_errors():
    y, s = _scores(500, 0)
    t = metrics_with_ci(BIN, y, y_pred=(s >= 0.5).astype(int), y_score=s, n_boot=200)
    assert list(t.index) == ["recall", "precision", "f1", "accuracy", "balanced_accuracy", "roc_auc", "pr_auc", "log_loss", "brier"]
    assert ((t.low <= t.estimate + 1e-12) & (t.estimate <= t.high + 1e-12)).all()
    with pytest.raises(ValueError, match="does not apply to a binary task"):
        metric_ci(BIN, "rmse", y, y_pred=y)
    with pytest.raises(ValueError, match="positive class"):
        metric_ci(Problem("p", "binary", "y", "Yes"), "recall", ["a", "b"], y_pred=["a", "b"])


def test_ranking_and_clustering_fall_back_to_the_loop():
    rng = np.random.default_rng(0)
    rank = Problem("r", "ranking", "rel", group_col="q")
    g = np.repeat(np.arange(20), 10)
    rel = rng.integers(0, 3, 200)
    est, lo, hi = metric_ci(rank, "ndcg@5", rel, y_score=rel + rng.normal(size=200), groups=g, n_boot=50)
    assert lo <= est <= hi <= 1
    clu = Problem("c", "clustering")
    X = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(6, 1, (50, 2))]
    lab = np.r_[np.zeros(50), np.ones(50)].astype(int)
    est, lo, hi = metric_ci(clu, "silhouette", None, y_pred=lab, X=X, n_boot=30)
    assert 0.5 < lo <= hi


# ---- thresholds ------------------------------------------------------------------------------------------------

def test_threshold_meets_recall_lower_bound_and_holds_on_new_data():
    y, s = _scores(2000, 0)
    c = choose_threshold(BIN, y, s, n_boot=500)
    assert c.feasible and c.method == "criteria"
    est, lo, _ = metric_ci(BIN, "recall", y, y_pred=(s >= c.threshold).astype(int), n_boot=500)
    assert lo >= 0.8 and c.metrics["recall"][1] >= 0.8
    assert est == pytest.approx(c.metrics["recall"][0])
    y2, s2 = _scores(100_000, 1)  # fresh data from the same process: the recall holds
    assert compute_metric("recall", y2, (s2 >= c.threshold).astype(int)) >= 0.8
    # best precision among feasible: any higher threshold breaks the recall bound
    higher = c.curve[c.curve.threshold > c.threshold]
    assert (higher.precision_low < 0.3).all() or (higher.recall_low < 0.8).all()


def test_infeasible_threshold_is_reported_plainly():
    rng = np.random.default_rng(0)
    y = (rng.random(800) < 0.3).astype(int)
    strict = Problem("s", "binary", "y", 1, criteria=["precision >= 0.9"])
    c = choose_threshold(strict, y, rng.random(800), n_boot=300)
    assert c.feasible is False
    assert "no threshold meets precision >= 0.9" in c.reason and "95% confidence" in c.reason
    assert "Infeasible" in c._repr_markdown_()


def test_threshold_by_cost_minimises_cost():
    y, s = _scores(1000, 2)
    c = choose_threshold(BIN, y, s, by="cost", n_boot=100)
    cost = lambda t: 1.0 * ((s >= t) & (y == 0)).sum() + 5.0 * ((s < t) & (y == 1)).sum()
    assert cost(c.threshold) <= min(cost(t) for t in np.unique(s)) + 1e-9
    with pytest.raises(ValueError, match="fp_cost and fn_cost"):
        choose_threshold(Problem("p", "binary", "y", 1, criteria=["recall >= 0.5"]), y, s, by="cost")
    with pytest.raises(ValueError, match="rows but y_score has"):
        choose_threshold(BIN, y, s[:-1])


# ---- displays --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda y, s: RocPointDisplay.from_predictions(y, s, threshold=0.5),
    lambda y, s: PrPointDisplay.from_predictions(y, s, threshold=0.5, targets={"recall": 0.8}),
    lambda y, s: GainDisplay.from_predictions(y, s, threshold=0.5),
    lambda y, s: GainDisplay.from_predictions(y, s, kind="lift"),
])
def test_displays_follow_sklearn_pattern(make):
    import matplotlib.pyplot as plt
    y, s = _scores(300, 3)
    d = make(y, s)
    assert d.ax_.figure is d.figure_
    w, h = d.figure_.get_size_inches()
    assert w <= 6 and h <= 4
    _, ax = plt.subplots()
    assert d.plot(ax=ax).ax_ is ax
    plt.close("all")


# ---- error analysis --------------------------------------------------------------------------------------------

def test_error_slices_find_a_planted_weak_group():
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame({"region": rng.choice(["north", "south", "east"], n), "age": rng.uniform(18, 80, n)})
    y = (rng.random(n) < 0.4).astype(int)
    hit = np.where(X.region == "south", 0.4, 0.95)  # the model misses most positives in the south
    pred = np.where(y == 1, rng.random(n) < hit, rng.random(n) < 0.2).astype(int)
    sl = error_slices(BIN, X, y, pred)
    assert sl.slice.iat[0] == "region = south" and bool(sl.significant.iat[0])
    assert (sl.recall < 0.8).all() and sl.impact.is_monotonic_decreasing


def test_confident_errors(churnlike):
    problem, model, X, y = churnlike
    s = model.predict_proba(X.iloc[1200:])[:, 1]
    e = confident_errors(problem, X.iloc[1200:], y.iloc[1200:], s, 0.3, n=4)
    assert e.error.value_counts().to_dict() == {"false positive": 4, "false negative": 4}
    fp = e[e.error == "false positive"].score
    assert fp.is_monotonic_decreasing and (fp >= 0.3).all()


# ---- SHAP ------------------------------------------------------------------------------------------------------

def test_shap_additivity_tree_pipeline_and_parallel_chunks(churnlike):
    problem, model, X, _ = churnlike
    Xe = X.iloc[:2400]
    one = shap_values(model, Xe)
    assert one.explainer == "tree" and one.output == "log-odds"
    assert "contract_month" in one.values.columns  # readable names, no 'cat__' prefix
    np.testing.assert_allclose(one.values.sum(axis=1) + one.base_value, model.decision_function(Xe), atol=1e-6)
    shap = pytest.importorskip("shap")  # HGB runs as rewritten LightGBM trees: same values as shap's explainer
    np.testing.assert_allclose(one.values.to_numpy(), shap.TreeExplainer(model[-1]).shap_values(one.data.to_numpy()), atol=1e-6)


def test_hgb_rewrite_matches_shap_with_missing_values_and_regression():
    shap = pytest.importorskip("shap")
    pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 6))
    X[::7, 2] = np.nan
    y = X[:, 0] + np.nan_to_num(X[:, 2]) * X[:, 1]
    for m in [HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, y),
              HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y > 0)]:
        sv = shap_values(m, pd.DataFrame(X))
        raw = m.predict(X) if hasattr(m, "n_trees_per_iteration_") and not hasattr(m, "classes_") else m.decision_function(X)
        np.testing.assert_allclose(sv.values.sum(axis=1) + sv.base_value, raw, atol=1e-6)
        np.testing.assert_allclose(sv.values.to_numpy(), shap.TreeExplainer(m).shap_values(X), atol=1e-6)


def test_shap_rows_split_over_processes_give_the_same_values():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(2400, 4)), columns=list("abcd"))
    rf = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, X.a > 0)
    one, two = shap_values(rf, X), shap_values(rf, X, n_jobs=2)
    np.testing.assert_allclose(two.values.to_numpy(), one.values.to_numpy(), atol=1e-12)


def test_shap_additivity_other_models():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 5)), columns=list("abcde"))
    y = (X.a + X.b * X.c + rng.normal(size=300) > 0).astype(int)
    rf = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
    sv = shap_values(rf, X.iloc[:50])
    assert sv.output == "probability"
    np.testing.assert_allclose(sv.values.sum(axis=1) + sv.base_value, rf.predict_proba(X.iloc[:50])[:, 1], atol=1e-6)
    lr = LogisticRegression().fit(X, y)
    sv = shap_values(lr, X.iloc[:50])
    assert sv.explainer == "linear"
    np.testing.assert_allclose(sv.values.sum(axis=1) + sv.base_value, lr.decision_function(X.iloc[:50]), atol=1e-6)
    reg = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, X.a * 3 + X.b)
    sv = shap_values(reg, X.iloc[:50])
    np.testing.assert_allclose(sv.values.sum(axis=1) + sv.base_value, reg.predict(X.iloc[:50]), atol=1e-6)


def test_shap_additivity_lightgbm():
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    m = lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(X, y)
    sv = shap_values(m, pd.DataFrame(X))
    np.testing.assert_allclose(sv.values.sum(axis=1) + sv.base_value, m.predict(X, raw_score=True), atol=1e-6)
    shap = pytest.importorskip("shap")
    ref = shap.TreeExplainer(m).shap_values(X)
    ref = ref[-1] if isinstance(ref, list) else ref
    np.testing.assert_allclose(sv.values.to_numpy(), ref, atol=1e-6)


def test_shap_by_outcome_groups_and_contrasts(churnlike):
    problem, model, X, y = churnlike
    sea = shap_by_outcome(problem, model, X.iloc[1200:], y.iloc[1200:], 0.3, max_rows=200)
    assert set(sea.outcome) == {"TP", "FP", "FN", "TN"} and len(sea.outcome) == 200
    c = sea.contrast("FP", "TN")
    assert c.difference.abs().is_monotonic_decreasing
    with pytest.raises(ValueError, match="no 'XX' rows"):
        sea.contrast("XX", "TN")
