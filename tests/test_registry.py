"The registry's atomic index (versions, promotion, rollback, concurrent writers, failures) and retraining only a better model."
import json
import shutil
import threading

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import mlworkflow.registry as reg_mod
from mlworkflow.deployment import load_bundle, save_bundle
from mlworkflow.preprocessing import make_preprocessor
from mlworkflow.registry import ModelRegistry, retrain


# ---------------------------------------------------------------- registry
def test_registry_register_promote_rollback(trained, tmp_path):
    reg = ModelRegistry(tmp_path / "reg")
    assert reg.current() is None and reg.list().empty
    v1, v2 = reg.register(trained["path"], note="a"), reg.register(trained["path"], note="b")
    assert (v1, v2) == (1, 2) and reg.current() is None
    with pytest.raises(ValueError, match="no current version"):
        reg.load()
    reg.promote(v1)
    reg.promote(v2, reason="better")
    assert reg.current() == 2 and reg.list().current.tolist() == [False, True]
    assert reg.load().threshold == 0.2 and reg.path(1).name == "v0001"
    assert reg.rollback() == 1 and reg.current() == 1
    assert reg.history().version.tolist() == [1, 2, 1]
    with pytest.raises(ValueError, match=r"version 9 is not registered; versions: \[1, 2\]"):
        reg.promote(9)
    index = json.loads((tmp_path / "reg" / "index.json").read_text())
    assert index["current"] == 1 and [v["note"] for v in index["versions"]] == ["a", "b"]
    assert ModelRegistry(tmp_path / "reg").current() == 1                       # state is in the files


def test_registry_refuses_a_corrupted_bundle(trained, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(trained["path"], bad)
    (bad / "model.joblib").write_bytes((bad / "model.joblib").read_bytes()[:-10])
    reg = ModelRegistry(tmp_path / "reg")
    with pytest.raises(Exception, match="model.joblib is corrupted"):
        reg.register(bad)
    assert list((tmp_path / "reg" / "versions").iterdir()) == [] and not (tmp_path / "reg" / "index.json").exists()


def test_registry_failures_leave_index_and_folders_consistent(trained, tmp_path, monkeypatch):
    reg = ModelRegistry(tmp_path / "reg")
    reg.register(trained["path"])
    reg.promote(1)
    before = (tmp_path / "reg" / "index.json").read_bytes()
    def boom(*a, **k): raise OSError("disk full")
    monkeypatch.setattr(reg_mod.shutil, "copytree", boom)                       # copying the bundle fails
    with pytest.raises(OSError):
        reg.register(trained["path"])
    monkeypatch.undo()
    monkeypatch.setattr(reg_mod.os, "replace", boom)                             # writing the index fails
    with pytest.raises(OSError):
        reg.register(trained["path"])
    with pytest.raises(OSError):
        reg.promote(1)
    monkeypatch.undo()
    assert (tmp_path / "reg" / "index.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "reg" / "versions").iterdir()) == ["v0001"]
    assert sorted(p.name for p in (tmp_path / "reg").iterdir()) == ["index.json", "versions"]   # no lock, no temp file
    assert reg.register(trained["path"]) == 2


def test_registry_concurrent_writers_get_distinct_versions(trained, tmp_path):
    reg_path, got, errors = tmp_path / "reg", [], []
    def work():
        try: got.append(ModelRegistry(reg_path).register(trained["path"]))
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert errors == [] and sorted(got) == [1, 2, 3, 4]
    assert ModelRegistry(reg_path).list().index.tolist() == [1, 2, 3, 4]


def test_registry_lock_timeout(tmp_path):
    reg = ModelRegistry(tmp_path / "reg", lock_timeout=0.2)
    (tmp_path / "reg" / ".lock").write_text("")
    with pytest.raises(TimeoutError, match="is locked"):
        reg.promote(1)


# ---------------------------------------------------------------- retrain
def test_retrain_registers_only_a_better_model(trained, tmp_path):
    t = trained
    holdout = t["churn"].iloc[5000:].drop(columns="customerID")
    def train_fn(data, threshold):
        def fn(d):
            p = make_pipeline(make_preprocessor(t["schema"]), LogisticRegression(max_iter=1000)).fit(d[t["schema"].features()], t["problem"].encode_target(d.Churn))
            return save_bundle(tmp_path / f"cand-{threshold}-{len(d)}", p, t["problem"], t["schema"], threshold)
        return fn
    reg = ModelRegistry(tmp_path / "reg")
    first = retrain(reg, train_fn(None, 0.25), t["data"].iloc[:5000], holdout, n_boot=100)
    assert first.registered and first.version == 1 and reg.current() == 1 and first.reason == "no current version"
    worse = retrain(reg, train_fn(None, 0.9), t["data"].iloc[:5000], holdout, n_boot=100)   # threshold 0.9: recall collapses
    assert not worse.registered and reg.current() == 1 and "does not beat v1" in worse.reason
    assert worse.candidate["status"] == "fail" and len(reg.list()) == 1
    kept = retrain(reg, lambda d: load_bundle(t["path"]), None, holdout, promote=False, n_boot=100)  # a Bundle is accepted too
    assert kept.promoted is False and reg.current() == 1 and kept.version in (None, 2)
    with pytest.raises(ValueError, match="holdout needs the target column 'Churn'"):
        retrain(reg, train_fn(None, 0.3), t["data"].iloc[:500], holdout.drop(columns="Churn"))
