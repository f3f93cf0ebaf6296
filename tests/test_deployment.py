"Model bundles (atomic, checksummed), batch scoring, and the service under a real uvicorn server with real HTTP."
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import mlworkflow.deployment as dep
from mlworkflow.data import SchemaError, infer_schema, load_churn
from mlworkflow.batch import score_batch
from mlworkflow.deployment import Bundle, BundleError, create_app, load_bundle, save_bundle, write_dockerfile
from mlworkflow.preprocessing import make_preprocessor
from mlworkflow.problem import churn_problem


@pytest.fixture(scope="module")
def model():
    churn, problem = load_churn(), churn_problem()
    schema = infer_schema(churn, problem)
    data = schema.coerce(churn)[0]
    X, y = data[schema.features()], problem.encode_target(data[problem.target])
    pipe = make_pipeline(make_preprocessor(schema), LogisticRegression(max_iter=1000)).fit(X, y)
    return dict(churn=churn, problem=problem, schema=schema, X=X, pipe=pipe)


@pytest.fixture(scope="module")
def bundle_path(model, tmp_path_factory):
    m = model
    return save_bundle(tmp_path_factory.mktemp("bundles") / "churn", m["pipe"], m["problem"], m["schema"], 0.3,
                       metrics={"recall": 0.87}, reference=m["X"])


def raw(model, n=5):
    return model["churn"].drop(columns=["Churn"]).head(n)


def _records(model, n=3):
    return json.loads(raw(model, n).to_json(orient="records"))


def _tree(path):
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- bundle
def test_round_trip_predicts_like_the_pipeline(model, bundle_path):
    b = load_bundle(bundle_path)
    assert isinstance(b, Bundle) and b.problem == model["problem"] and b.threshold == 0.3
    p = b.predict_proba(raw(model, 50))
    np.testing.assert_allclose(p, model["pipe"].predict_proba(model["X"].head(50))[:, 1])
    assert list(b.predict(raw(model, 50))) == ["Yes" if v >= 0.3 else "No" for v in p]
    meta = json.loads((bundle_path / "bundle.json").read_text())
    assert set(meta["files"]) == {"model.joblib", "problem.toml", "schema.json", "reference.joblib"}
    assert {"python", "scikit-learn", "pandas", "mlworkflow"} <= set(meta["versions"]) and meta["created"]
    assert b.manifest["metrics"] == {"recall": 0.87}


def test_refuses_to_overwrite_unless_asked(model, tmp_path):
    m = model
    p = save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 0.3)
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        save_bundle(p, m["pipe"], m["problem"], m["schema"], 0.5)
    save_bundle(p, m["pipe"], m["problem"], m["schema"], 0.5, overwrite=True)
    assert load_bundle(p).threshold == 0.5
    (tmp_path / "notabundle").mkdir()
    with pytest.raises(FileExistsError, match="not a model bundle"):
        save_bundle(tmp_path / "notabundle", m["pipe"], m["problem"], m["schema"], 0.5, overwrite=True)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["b", "notabundle"]


def test_failure_midway_leaves_no_bundle(model, tmp_path, monkeypatch):
    m = model
    def boom(path, chunk=0): raise OSError("disk full")
    monkeypatch.setattr(dep, "_sha256", boom)   # fails after model, problem and schema are written
    with pytest.raises(OSError, match="disk full"):
        save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 0.3)
    assert list(tmp_path.iterdir()) == []        # no target, no temporary folder


def test_failed_overwrite_keeps_the_old_bundle(model, tmp_path, monkeypatch):
    m = model
    p = save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 0.3)
    before = _tree(p)
    monkeypatch.setattr(dep, "_sha256", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        save_bundle(p, m["pipe"], m["problem"], m["schema"], 0.9, overwrite=True)
    monkeypatch.undo()
    assert _tree(p) == before and sorted(x.name for x in tmp_path.iterdir()) == ["b"]
    # the swap itself fails: the old bundle is put back
    real_rename = os.rename
    def rename(src, dst):
        if str(src).endswith(".tmp"): raise OSError("rename failed")
        return real_rename(src, dst)
    monkeypatch.setattr(dep.os, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        save_bundle(p, m["pipe"], m["problem"], m["schema"], 0.9, overwrite=True)
    monkeypatch.undo()
    assert _tree(p) == before and sorted(x.name for x in tmp_path.iterdir()) == ["b"]
    assert load_bundle(p).threshold == 0.3


def test_unpicklable_pipeline_leaves_nothing(model, tmp_path):
    from sklearn.base import clone
    from sklearn.preprocessing import FunctionTransformer
    m = model
    bad = make_pipeline(FunctionTransformer(lambda d: d), clone(m["pipe"])).fit(m["X"].head(300), m["problem"].encode_target(m["churn"].Churn.head(300)))
    with pytest.raises(Exception, match="pickle"):
        save_bundle(tmp_path / "b", bad, m["problem"], m["schema"], 0.3)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(model, tmp_path):
    m = model
    with pytest.raises(ValueError, match="threshold must be a probability"):
        save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 1.5)
    with pytest.raises(TypeError, match="schema must be a Schema"):
        save_bundle(tmp_path / "b", m["pipe"], m["problem"], {"columns": []}, 0.3)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        save_bundle(tmp_path / "b", LogisticRegression(), m["problem"], m["schema"], 0.3)


@pytest.mark.parametrize("name", ["model.joblib", "schema.json", "problem.toml", "reference.joblib"])
def test_corrupted_file_is_named(model, tmp_path, name):
    m = model
    p = save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 0.3, reference=m["X"])
    data = bytearray((p / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (p / name).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=f"{name} is corrupted"):
        load_bundle(p)


def test_missing_files_and_not_a_bundle(model, tmp_path):
    m = model
    p = save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 0.3)
    (p / "model.joblib").unlink()
    with pytest.raises(BundleError, match="file model.joblib is missing"):
        load_bundle(p)
    (p / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="bundle.json is corrupted"):
        load_bundle(p)
    with pytest.raises(FileNotFoundError, match="no model bundle"):
        load_bundle(tmp_path / "nothing")


def test_version_mismatch_warns(model, tmp_path):
    m = model
    p = save_bundle(tmp_path / "b", m["pipe"], m["problem"], m["schema"], 0.3)
    meta = json.loads((p / "bundle.json").read_text())
    meta["versions"].update({"scikit-learn": "0.0.1", "pandas": "0.0.2"})
    (p / "bundle.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match=r"scikit-learn 0\.0\.1 \(running .*pandas 0\.0\.2"):
        load_bundle(p)


def test_validate_names_the_column(model, bundle_path):
    b, df = load_bundle(bundle_path), raw(model)
    with pytest.raises(SchemaError, match="column 'Contract' is missing"):
        b.validate(df.drop(columns=["Contract"]))
    with pytest.raises(SchemaError, match="column 'tenure': expected a number, got 'x'"):
        b.predict(df.astype({"tenure": object}).assign(tenure=["1", "2", "x", "4", "5"]))
    X = b.validate(df.assign(TotalCharges=" ", Contract="Weekly"))
    assert X.TotalCharges.isna().all() and list(X.columns) == b.features
    assert len(b.predict(df.assign(Contract="Weekly"))) == len(df)
    twice = pd.concat([df, df])                                   # duplicate index labels
    np.testing.assert_allclose(b.predict_proba(twice), np.r_[b.predict_proba(df), b.predict_proba(df)])
    assert list(b.validate(twice).index) == list(twice.index)


# ---------------------------------------------------------------- batch scoring
@pytest.mark.parametrize("ext", ["csv", "csv.gz", "parquet"])
def test_score_batch_keeps_every_row(model, bundle_path, tmp_path, ext):
    df = model["churn"].drop(columns=["Churn"]).head(2345).astype({"MonthlyCharges": object})
    df.loc[[0, 1000, 2344], "MonthlyCharges"] = ["a lot", "", "?"]   # "" is a missing value, not an error
    src, dst = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    df.astype({"MonthlyCharges": str}).to_parquet(src) if ext == "parquet" else df.to_csv(src, index=False)
    res = score_batch(bundle_path, src, dst, chunksize=500)
    out = pd.read_parquet(dst) if ext == "parquet" else pd.read_csv(dst)
    assert (res.rows_in, res.rows_out, len(out)) == (2345, 2345, 2345)
    assert out.row.tolist() == list(range(2345)) and out.customerID.tolist() == df.customerID.tolist()
    assert out.loc[out.error.notna(), "row"].tolist() == [0, 2344] and res.rows_failed == 2
    assert out.prediction.notna().sum() == 2343 and set(out.prediction.dropna()) <= {"Yes", "No"}
    assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".")] == []


def test_score_batch_is_atomic(model, bundle_path, tmp_path, monkeypatch):
    df = raw(model, 1200)
    df.to_csv(tmp_path / "in.csv", index=False)
    real, calls = Bundle._score_rows, []
    def flaky(self, chunk):
        calls.append(len(chunk))
        if len(calls) == 2: raise RuntimeError("worker killed")
        return real(self, chunk)
    monkeypatch.setattr(Bundle, "_score_rows", flaky)
    with pytest.raises(RuntimeError, match="worker killed"):
        score_batch(bundle_path, tmp_path / "in.csv", tmp_path / "out.csv", chunksize=500)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["in.csv"]


def test_score_batch_errors(model, bundle_path, tmp_path):
    raw(model, 10).drop(columns=["tenure"]).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(SchemaError, match="column 'tenure' is missing"):
        score_batch(bundle_path, tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(FileNotFoundError):
        score_batch(bundle_path, tmp_path / "nope.csv", tmp_path / "out.csv")
    with pytest.raises(ValueError, match="csv"):
        score_batch(bundle_path, tmp_path / "in.csv", tmp_path / "out.xlsx")
    raw(model, 0).to_csv(tmp_path / "empty.csv", index=False)
    res = score_batch(bundle_path, tmp_path / "empty.csv", tmp_path / "empty_out.csv")
    assert res.rows_out == 0 and pd.read_csv(tmp_path / "empty_out.csv").empty


# ---------------------------------------------------------------- container
def test_write_dockerfile(bundle_path):
    import sklearn
    path = write_dockerfile(bundle_path, port=9000)
    text = path.read_text()
    assert text.startswith("# Serves") and "FROM python:3.11-slim" in text and "EXPOSE 9000" in text
    assert "USER app" in text and "HEALTHCHECK" in text and "serve('/srv/bundle', host='0.0.0.0', port=9000)" in text
    reqs = (bundle_path / "requirements.txt").read_text().split()
    assert f"scikit-learn=={sklearn.__version__}" in reqs and f"pandas=={pd.__version__}" in reqs
    assert any(r.startswith("mlworkflow[serve]==") for r in reqs) and any(r.startswith("fastapi==") for r in reqs)
    load_bundle(bundle_path)   # packaging files do not break the checksums
    with pytest.raises(BundleError):
        write_dockerfile(bundle_path.parent / "missing")


def test_missing_extra_is_explained(bundle_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(ImportError, match=r"pip install 'mlworkflow\[serve\]'"):
        create_app(bundle_path)


# ---------------------------------------------------------------- the real service
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(bundle_path):
    port = _free_port()
    code = f"from mlworkflow.deployment import serve; serve({str(bundle_path)!r}, port={port}, log_level='warning')"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None: raise RuntimeError(f"server exited: {proc.stdout.read().decode()}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200: break
            except httpx.TransportError: time.sleep(0.1)
        else: raise RuntimeError("server did not start in 30 s")
        with httpx.Client(base_url=url, timeout=10) as client: yield client
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill()


def test_service_health_and_metadata(server, bundle_path):
    h = server.get("/health").json()
    assert h["status"] == "ok" and h["model"] == "telco-churn"
    assert h["sha256"] == json.loads((bundle_path / "bundle.json").read_text())["files"]["model.joblib"]
    md = server.get("/metadata").json()
    assert md["criteria"] == ["recall >= 0.85", "precision >= 0.4"] and md["threshold"] == 0.3
    assert md["problem"]["constraints"]["latency_ms_p95"] == 50.0 and md["labels"] == {"positive": "Yes", "negative": "No"}
    assert md["versions"]["scikit-learn"] and len(md["features"]) == 19


def test_service_predicts_one_answer_per_record(server, model, bundle_path):
    recs = _records(model, 20)
    r = server.post("/predict", json=recs)
    assert r.status_code == 200, r.text
    body = r.json()
    b = load_bundle(bundle_path)
    assert body["n"] == 20 and body["predictions"] == list(b.predict(raw(model, 20)))
    np.testing.assert_allclose(body["probabilities"], b.predict_proba(raw(model, 20)))
    assert server.post("/predict", json={"records": recs[:2]}).json()["n"] == 2
    assert server.post("/predict", json=recs[0]).json()["n"] == 1            # a single record
    assert server.post("/predict", json=[]).json() | {"latency_ms": 0} == {"n": 0, "threshold": 0.3, "warnings": [], "latency_ms": 0,
                                                                            "predictions": [], "probabilities": []}
    nulls = dict(recs[0], TotalCharges=None, MonthlyCharges=" ")          # missing values are imputed, not errors
    assert server.post("/predict", json=[nulls]).status_code == 200


def test_service_rejects_bad_input_naming_the_column(server, model):
    recs = _records(model, 3)
    cases = [
        ([recs[0], {k: v for k, v in recs[1].items() if k != "tenure"}], "record 1: column 'tenure' is missing"),
        ([dict(recs[0], MonthlyCharges="cheap")], "record 0: column 'MonthlyCharges': expected a number, got 'cheap'"),
        ([dict(recs[0], SeniorCitizen=7)], "record 0: column 'SeniorCitizen': expected 0 or 1"),
        ([dict(recs[0], gender={"nested": 1})], "record 0: column 'gender': expected a single value"),
        ([recs[0], 5], "record 1 is not a JSON object"),
        ("text", "expected a JSON list of records"),
    ]
    for payload, msg in cases:
        r = server.post("/predict", json=payload)
        assert r.status_code == 422 and msg in r.json()["detail"], (payload, r.text)
    r = server.post("/predict")
    assert r.status_code == 422 and "body is empty" in r.json()["detail"]
    r = server.post("/predict", content=b"{broken", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_service_scores_unseen_categories_with_a_warning(server, model):
    r = server.post("/predict", json=[dict(_records(model, 1)[0], Contract="Weekly", PaymentMethod="Crypto")])
    assert r.status_code == 200 and len(r.json()["predictions"]) == 1
    assert any("'Contract'" in w and "Weekly" in w for w in r.json()["warnings"])


def test_service_batch_reports_bad_rows(server, model):
    recs = _records(model, 4)
    recs[2] = dict(recs[2], tenure="long")
    del recs[3]["Contract"]
    res = server.post("/predict/batch", json=recs).json()
    assert res["n"] == 4 and res["n_failed"] == 2 and [x["row"] for x in res["results"]] == [0, 1, 2, 3]
    assert [x["error"] is None for x in res["results"]] == [True, True, False, False]
    assert "column 'tenure'" in res["results"][2]["error"] and "column 'Contract' is missing" in res["results"][3]["error"]
    assert res["results"][0]["prediction"] in ("Yes", "No") and res["results"][2]["prediction"] is None


def test_service_under_a_small_load(server, model):
    from concurrent.futures import ThreadPoolExecutor
    recs, url = _records(model, 200), str(server.base_url)
    before = server.get("/metrics").json()["requests"]
    def call(i):   # four concurrent clients; every fifth request goes to /predict/batch with 3 records
        with httpx.Client(base_url=url, timeout=30) as c:
            if i % 5: r = c.post("/predict", json=[recs[i]])
            else: r = c.post("/predict/batch", json=recs[i:i + 3])
            body = r.json()
            n = len(body["predictions"]) if i % 5 else len(body["results"])
            return r.status_code, n, (1 if i % 5 else len(recs[i:i + 3]))
    with ThreadPoolExecutor(4) as pool: results = list(pool.map(call, range(200)))
    failures = [(i, r) for i, r in enumerate(results) if r[0] != 200 or r[1] != r[2]]
    assert failures == []
    m = server.get("/metrics").json()
    assert m["requests"] - before == 200 and m["latency_ms"]["window"] >= 200
    assert 0 < m["latency_ms"]["p50"] <= m["latency_ms"]["p95"] <= m["latency_ms"]["max"]
    assert m["latency_budget_ms_p95"] == 50.0 and m["latency_alert"] == (m["latency_ms"]["p95"] > 50.0)


# ---------------------------------------------------------------- in-process app details
def test_latency_alert_and_monitor_hook(model, bundle_path):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    calls = []
    class Spy:
        def log_predictions(self, df, predictions, latency_ms=None, **kw): calls.append((len(df), list(predictions), latency_ms, kw))
    app = create_app(bundle_path, monitor=Spy())
    client = TestClient(app)
    assert client.post("/predict", json=_records(model, 3)).status_code == 200
    assert len(calls) == 1 and calls[0][0] == 3 and calls[0][2] > 0 and len(calls[0][3]["scores"]) == 3
    app.state.latency.budget = 1e-9            # any request is over this budget
    assert client.get("/metrics").json()["latency_alert"] is True


def test_request_size_limit(model, bundle_path):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    client = TestClient(create_app(load_bundle(bundle_path), max_rows=5))
    assert client.post("/predict", json=_records(model, 5)).status_code == 200
    r = client.post("/predict", json=_records(model, 6))
    assert r.status_code == 422 and "the limit is 5" in r.json()["detail"]
