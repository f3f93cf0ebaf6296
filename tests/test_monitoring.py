"Drift (PSI, tests), performance over time, the monitor's alerts against the spec."
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlworkflow.data import infer_schema, load_churn
from mlworkflow.deployment import create_app
from mlworkflow.monitoring import Alert, DriftReport, Monitor, drift_report, performance_over_time
from mlworkflow.problem import churn_problem


# ---------------------------------------------------------------- drift
def frame(n=3000, seed=0, shift=0.0, cats="abc"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, n), "y": rng.exponential(1, n), "c": rng.choice(list(cats), n)})


def test_psi_is_zero_on_identical_data():
    a = frame()
    r = drift_report(a, a.copy())
    assert r.table.psi.abs().max() < 1e-12 and r.severity == "none" and r.drifted == []
    assert (r.table.p_value > 0.99).all()


def test_psi_is_small_on_a_resample_and_large_on_a_shift():
    a = frame(seed=0)
    assert drift_report(a, frame(seed=1)).severity == "none"
    r = drift_report(a, frame(seed=1, shift=1.0))
    assert r.table.loc["x", "psi"] > 0.25 and r.table.loc["x", "severity"] == "major" and r.drifted == ["x"]
    assert r.table.loc["x", "p_value"] < 1e-10 and r.table.loc["x", "test"] == "ks"
    psis = [drift_report(a, frame(seed=1, shift=s)).table.loc["x", "psi"] for s in (0.2, 0.5, 1.0, 2.0)]
    assert psis == sorted(psis)


def test_categorical_drift_unseen_and_missing():
    a = frame()
    b = a.assign(c=a.c.replace({"c": "z"}))            # a category the reference never had
    r = drift_report(a, b)
    assert r.table.loc["c", "severity"] == "major" and r.table.loc["c", "test"] == "chi2"
    assert r.table.loc["c", "unseen_share"] == pytest.approx((a.c == "c").mean())
    m = a.copy()
    m.loc[: len(m) // 2, "x"] = np.nan                  # half the values go missing
    r = drift_report(a, m)
    assert r.table.loc["x", "severity"] == "major" and r.table.loc["x", "missing_current"] > 0.49


@pytest.mark.filterwarnings("ignore:ks_2samp")
@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=60), st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=60),
       st.lists(st.sampled_from("abcd"), min_size=5, max_size=60))
def test_psi_is_never_negative(xs, ys, cs):
    a = pd.DataFrame({"x": xs, "c": (cs * 20)[: len(xs)]})
    b = pd.DataFrame({"x": ys, "c": (cs[::-1] * 20)[: len(ys)]})
    assert (drift_report(a, b).table.psi >= -1e-12).all()


def test_drift_uses_the_schema_and_reports(tmp_path):
    churn = load_churn()
    schema = infer_schema(churn, churn_problem())
    ref, cur = churn.iloc[:3500], churn.iloc[3500:].assign(MonthlyCharges=lambda d: d.MonthlyCharges * 1.5)
    r = drift_report(ref, cur, schema)
    assert set(r.table.index) == set(schema.features())             # no id, no target
    assert r.table.loc["TotalCharges", "kind"] == "numeric"         # text in the raw file, numeric by the schema
    assert r.table.loc["SeniorCitizen", "kind"] == "categorical"
    assert r.drifted == ["MonthlyCharges"] and "major: MonthlyCharges" in r.summary()
    d = json.loads(json.dumps(r.to_dict()))
    assert d["severity"] == "major" and d["features"][0]["feature"] == "MonthlyCharges"
    page = r.save_html(tmp_path / "drift.html").read_text()
    assert "MonthlyCharges" in page and "<script" not in page
    assert page.count("<svg") == 1 + len(r.table)                   # the PSI bars, and each feature's two distributions
    dm = r.distributions["MonthlyCharges"]                          # counted on shared bins, every non-missing row
    assert (sum(dm["reference"]), sum(dm["current"])) == (3500, len(cur)) and len(dm["edges"]) == 21
    dc = r.distributions["Contract"]
    assert sum(dc["reference"]) == 3500 and "Month-to-month" in dc["labels"]
    assert "<table" in r._repr_html_() and d["distributions"]["Contract"] == dc


def test_drift_bad_input():
    a = frame()
    with pytest.raises(ValueError, match="column 'x' is missing from the current data"):
        drift_report(a, a.drop(columns="x"), columns=["x"])
    with pytest.raises(ValueError, match="current data is empty"):
        drift_report(a, a.iloc[:0])
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame"):
        drift_report(a.to_numpy(), a)


# ---------------------------------------------------------------- performance over time
def test_performance_over_time_flags_the_failing_period():
    problem = churn_problem()
    rng = np.random.default_rng(0)
    n = 400
    y = rng.random(3 * n) < 0.4
    score = np.where(y, 0.9, 0.1)
    score[2 * n:][y[2 * n:] & (rng.random(n) < 0.5)] = 0.05       # month 3: half the churners missed
    ts = np.repeat(pd.to_datetime(["2026-01-15", "2026-02-15", "2026-03-15"]), n)
    h = performance_over_time(problem, ts, np.where(y, "Yes", "No"), score, threshold=0.5, n_boot=200)
    assert h.table.status.tolist() == ["pass", "pass", "fail"]
    assert h.table.recall.iloc[0] == 1.0 and h.table.recall.iloc[2] == pytest.approx(0.5, abs=0.08)
    assert (h.table.recall_low <= h.table.recall).all() and (h.table.recall <= h.table.recall_high).all()
    assert len(h.alerts) == 1 and h.alerts[0].startswith("2026-03") and "fails recall >= 0.85" in h.alerts[0]
    assert json.loads(json.dumps(h.to_dict()))["periods"][2]["status"] == "fail"
    # labels as 0/1 and as predictions give the same answer
    h2 = performance_over_time(problem, ts, y.astype(int), y_pred=np.where(score >= 0.5, "Yes", "No"), n_boot=200)
    assert h2.table.status.tolist() == ["pass", "pass", "fail"]


def test_performance_over_time_small_periods_and_errors():
    problem = churn_problem()
    ts = pd.to_datetime(["2026-01-01"] * 10 + ["2026-02-01"] * 100)
    y = np.r_[np.ones(5), np.zeros(5), np.tile([1, 0], 50)]
    h = performance_over_time(problem, ts, y, y_pred=y, n_boot=50)
    assert h.table.status.tolist() == ["insufficient", "pass"]
    with pytest.raises(ValueError, match="threshold="):
        performance_over_time(problem, ts, y, y)
    with pytest.raises(ValueError, match="same length"):
        performance_over_time(problem, ts[:5], y, y_pred=y)


# ---------------------------------------------------------------- monitor
def _log(monitor, df, pred, outcome, latency=5.0, scores=None, errors=None):
    monitor.log_predictions(df, pred, latency, scores=scores, errors=errors)
    return monitor.log_outcomes(df.customerID, outcome)


def test_monitor_is_quiet_when_the_spec_holds(trained):
    m = Monitor(trained["path"], n_boot=200)
    df = trained["churn"].iloc[5000:6000]
    _log(m, df, df.Churn.tolist(), df.Churn)                       # perfect predictions
    assert m.check() == [] and not m.should_retrain()
    assert m.summary()["criteria"]["recall"][0] == 1.0 and m.summary()["labelled"] == 1000


def test_monitor_alerts_when_recall_falls_below_085(trained):
    m = Monitor(trained["bundle"], n_boot=200)
    df = trained["churn"].iloc[5000:6000]
    pred = df.Churn.where(np.arange(len(df)) % 2 == 0, "No").tolist()   # every other churner missed: recall ~0.5
    assert _log(m, df, pred, df.Churn) == 1000
    alerts = m.check()
    crit = [a for a in alerts if a.kind == "criterion"]
    assert len(crit) == 1 and crit[0].severity == "critical" and "fails recall >= 0.85" in crit[0].message
    assert crit[0].value == pytest.approx(0.5, abs=0.06) and crit[0].limit == 0.85
    d = m.should_retrain()
    assert d.retrain and "recall" in d.reason


def test_monitor_borderline_recall_is_a_warning(trained):
    m = Monitor(trained["bundle"], n_boot=200, min_outcomes=50)
    df = trained["churn"].iloc[5000:5400]
    churners = np.flatnonzero(df.Churn.to_numpy() == "Yes")
    pred = df.Churn.to_numpy().copy()
    pred[churners[: int(len(churners) * 0.17)]] = "No"              # recall ~0.83: below, not conclusively
    _log(m, df, list(pred), df.Churn)
    crit = [a for a in m.check() if a.kind == "criterion"]
    assert [a.severity for a in crit] == ["warning"]
    assert not m.should_retrain()


def test_monitor_latency_failures_and_drift(trained):
    m = Monitor(trained["bundle"], n_boot=100)
    df = trained["churn"].iloc[5000:5600].assign(MonthlyCharges=lambda d: d.MonthlyCharges * 1.6)
    errors = [None] * 590 + ["column 'tenure': expected a number"] * 10
    m.log_predictions(df, ["No"] * 590 + [None] * 10, latency_ms=120.0, errors=errors)
    kinds = {a.kind: a for a in m.check()}
    assert set(kinds) == {"latency", "failure_rate", "drift"}          # no outcomes yet: no criterion alert
    assert kinds["latency"].value == 120.0 and kinds["latency"].limit == 50.0
    assert kinds["failure_rate"].value == pytest.approx(10 / 600) and "MonthlyCharges" in kinds["drift"].message
    d = m.should_retrain()
    assert d.retrain and "drift" in d.reason
    m2 = Monitor(trained["bundle"])
    m2.log_predictions(trained["churn"].iloc[:300], ["No"] * 300, latency_ms=500)
    d2 = m2.should_retrain()
    assert not d2.retrain and "latency" in d2.reason and "would not fix" in d2.reason


def test_monitor_save_and_load(trained, tmp_path):
    m = Monitor(trained["bundle"], n_boot=100, min_outcomes=50)
    df = trained["churn"].iloc[5000:5300]
    _log(m, df, ["No"] * 300, df.Churn, latency=70.0)
    path = m.save(tmp_path / "mon.joblib")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mon.joblib"]
    r = Monitor.load(path)
    assert r.n_predictions == 300 and r.min_outcomes == 50 and r.bundle.path == trained["bundle"].path
    assert [str(a) for a in r.check()] == [str(a) for a in m.check()]
    assert {a.kind for a in r.check()} == {"criterion", "latency"}


def test_monitor_input_errors(trained):
    m = Monitor(trained["bundle"])
    df = trained["churn"].iloc[:10]
    with pytest.raises(ValueError, match="predictions has 3 values for 10 rows"):
        m.log_predictions(df, ["No"] * 3)
    m.log_predictions(df, ["No"] * 10)
    with pytest.warns(UserWarning, match="1 outcomes have no logged prediction"):
        assert m.log_outcomes([*df.customerID[:2], "nobody"], ["No", "Yes", "No"]) == 2
    assert m.predictions().outcome.notna().sum() == 2


def test_the_service_feeds_the_monitor(trained):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    m = Monitor(trained["bundle"])
    client = TestClient(create_app(trained["bundle"], monitor=m))
    recs = json.loads(trained["churn"].drop(columns="Churn").iloc[:20].to_json(orient="records"))
    recs[3]["tenure"] = "many"
    assert client.post("/predict/batch", json=recs).json()["n_failed"] == 1
    assert client.post("/predict", json=recs[:3]).status_code == 200
    log = m.predictions()
    assert len(log) == 23 and log.error.notna().sum() == 1 and log.id.iloc[0] == recs[0]["customerID"]
    assert log.score.notna().sum() == 22 and len(m._latency) == 2


def test_alert_and_report_types():
    a = Alert("latency", "critical", "p95 too high", 80.0, 50.0)
    assert str(a) == "[critical] latency: p95 too high"
    assert isinstance(drift_report(frame(), frame(seed=2)), DriftReport)
