"The one JSON helper every module writes with (`mlworkflow.data._jsonable`): its contract."
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlworkflow.data import _jsonable
from mlworkflow.deployment import save_bundle


def _strict_json(o):
    "The value survives strict JSON (no NaN/Infinity tokens) unchanged."
    assert json.loads(json.dumps(o, allow_nan=False)) == o
    return o


def test_numpy_scalars_become_python_scalars():
    out = _jsonable([np.int8(-3), np.int64(2**40), np.uint16(7), np.float32(0.5), np.float64(1.25), np.bool_(True), np.bool_(False)])
    assert out == [-3, 2**40, 7, 0.5, 1.25, True, False]
    assert [type(v) for v in out] == [int, int, int, float, float, bool, bool]
    assert _jsonable(np.array(3.5)) == 3.5                                   # a 0-d array is a scalar
    assert _jsonable(True) is True and _jsonable(None) is None and _jsonable("x") == "x"


@pytest.mark.parametrize("missing", [float("nan"), np.nan, np.float32("nan"), float("inf"), -np.inf, pd.NA, pd.NaT, np.datetime64("NaT")])
def test_missing_and_infinite_become_none(missing):
    assert _jsonable(missing) is None
    assert _strict_json(_jsonable({"v": missing})) == {"v": None}


def test_nested_containers_and_keys():
    out = _jsonable({1: (np.int64(1), [np.float64("nan"), {"deep": {np.int64(2): np.bool_(True)}}]), "s": {3}, "f": frozenset(),
                     "arr": np.arange(4).reshape(2, 2), "ser": pd.Series([1.5, np.nan], index=["a", "b"]), "idx": pd.Index(["x", "y"])})
    assert _strict_json(out) == {"1": [1, [None, {"deep": {"2": True}}]], "s": [3], "f": [], "arr": [[0, 1], [2, 3]],
                                 "ser": [1.5, None], "idx": ["x", "y"]}


def test_dataframe_with_missing_values_and_dates():
    df = pd.DataFrame({"x": [1.5, np.nan], "n": pd.array([1, None], dtype="Int64"), "label": ["a", None],
                       "t": pd.to_datetime(["2026-03-01 09:30", None]), "tz": pd.to_datetime(["2026-03-01", "2026-03-02"]).tz_localize("UTC")},
                      index=["r1", "r2"])
    out = _strict_json(_jsonable(df))
    assert out == [{"x": 1.5, "n": 1, "label": "a", "t": "2026-03-01T09:30:00", "tz": "2026-03-01T00:00:00+00:00"},
                   {"x": None, "n": None, "label": None, "t": None, "tz": "2026-03-02T00:00:00+00:00"}]
    assert _jsonable(df.reset_index())[0]["index"] == "r1"                   # the index is kept only when reset first


def test_dates_paths_dataclasses_and_to_dict():
    @dataclass
    class Inner:
        when: date
        where: Path

    @dataclass
    class Outer:
        name: str
        inner: Inner
        scores: list = field(default_factory=list)

    class Report:
        def to_dict(self): return {"auc": np.float64(0.9), "at": pd.Timestamp("2026-01-02")}

    out = _jsonable({"o": Outer("m", Inner(date(2026, 1, 2), Path("data") / "churn.csv"), [np.float32(0.25), np.nan]),
                     "r": Report(), "dt": datetime(2026, 1, 2, 3, 4, 5), "d64": np.datetime64("2026-01-02T03:04")})
    assert _strict_json(out) == {"o": {"name": "m", "inner": {"when": "2026-01-02", "where": str(Path("data") / "churn.csv")}, "scores": [0.25, None]},
                                 "r": {"auc": 0.9, "at": "2026-01-02T00:00:00"}, "dt": "2026-01-02T03:04:05", "d64": "2026-01-02T03:04:00"}


def test_unknown_objects_are_text_or_a_type_error_when_strict():
    class Model:
        def __str__(self): return "Model()"

    assert _jsonable({"m": Model(), "z": 1 + 2j}) == {"m": "Model()", "z": "(1+2j)"}
    with pytest.raises(TypeError, match="cannot write a value of type Model as JSON"):
        _jsonable({"ok": [1, 2], "deep": [{"m": Model()}]}, strict=True)
    with pytest.raises(TypeError, match="complex"):
        _jsonable(1 + 2j, strict=True)
    assert _jsonable(pd.DataFrame, strict=False) == str(pd.DataFrame)       # a class is not called for its to_dict


def test_bundle_json_stays_strict(trained, tmp_path):
    "save_bundle refuses to write an object it cannot represent, and leaves no bundle behind."
    t = trained
    with pytest.raises(TypeError, match="cannot write a value of type object as JSON"):
        save_bundle(tmp_path / "b", t["bundle"].pipeline, t["problem"], t["schema"], 0.2, metrics={"model": object()})
    assert not (tmp_path / "b").exists()
    path = save_bundle(tmp_path / "ok", t["bundle"].pipeline, t["problem"], t["schema"], 0.2,
                       metrics={"recall": (np.float64(0.9), np.nan, 0.95)}, manifest={"started": pd.Timestamp("2026-01-02")})
    meta = json.loads((path / "bundle.json").read_text())                  # strict JSON: NaN written as null
    assert meta["metrics"]["recall"] == [0.9, None, 0.95] and meta["run"]["started"] == "2026-01-02T00:00:00"
