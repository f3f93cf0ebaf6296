"""SHAP values for 100,000 rows x 30 features: mlworkflow.explain.shap_values versus LightGBM's own
`pred_contrib=True` (exact TreeSHAP in C++, all cores), the floor, measured in the same run.

    python bench/shap.py            # 100,000 rows (a few minutes on 2 cores)
    python bench/shap.py --quick    # 10,000 rows, under a minute

Models: a HistGradientBoostingClassifier (scikit-learn's default booster) and an LGBMClassifier, both 100 trees
of up to 31 leaves. For LightGBM ours calls `pred_contrib` itself; for HistGradientBoosting ours runs shap's
TreeExplainer on the rows split over `n_jobs=2` processes. Values are checked against shap.TreeExplainer
(single process) on the first rows: they must agree within 1e-6. Ends with one JSON line.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

# this file is named shap.py: keep its folder off the path so `import shap` (here and in worker processes) finds the library
sys.path[:] = [q for q in sys.path if Path(q or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402

from mlworkflow.explain import shap_values  # noqa: E402

TARGET = 1.5  # ours within 1.5x of the pred_contrib floor


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def main(quick: bool):
    import lightgbm as lgb
    import shap

    n, p, check = (10_000 if quick else 100_000), 30, 2_000
    X, y = make_classification(n, p, n_informative=15, n_redundant=5, flip_y=0.05, random_state=0)
    Xdf = pd.DataFrame(X, columns=[f"f{i}" for i in range(p)])
    fit_rows = min(n, 20_000)
    hgb = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, early_stopping=False, random_state=0).fit(Xdf[:fit_rows], y[:fit_rows])
    lgbm = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, verbose=-1, random_state=0).fit(X[:fit_rows], y[:fit_rows])
    cores = os.cpu_count()

    floor, t_floor = timed(lambda: lgbm.booster_.predict(X, pred_contrib=True))
    ours_l, t_ours_l = timed(lambda: shap_values(lgbm, Xdf))
    ours_h, t_ours_h = timed(lambda: shap_values(hgb, Xdf, n_jobs=2))
    ref_rows = n if quick else 20_000  # shap.TreeExplainer on HGB, one process: timed on a subset in the full run
    _, t_shap_h = timed(lambda: shap.TreeExplainer(hgb).shap_values(X[:ref_rows], check_additivity=False))
    t_shap_h *= n / ref_rows

    ref_h = shap.TreeExplainer(hgb).shap_values(X[:check])
    ref_l = shap.TreeExplainer(lgbm).shap_values(X[:check])
    ref_l = ref_l[-1] if isinstance(ref_l, list) else ref_l
    diff_h = float(np.abs(ours_h.values.to_numpy()[:check] - ref_h).max())
    diff_l = float(np.abs(ours_l.values.to_numpy()[:check] - ref_l).max())
    diff_floor = float(np.abs(ours_l.values.to_numpy() - floor[:, :-1]).max())
    add_h = float(np.abs(ours_h.values.to_numpy().sum(1) + ours_h.base_value - hgb.decision_function(Xdf)).max())

    rows = [("LightGBM pred_contrib=True (floor)", "lightgbm", t_floor, 1.0, diff_floor),
            ("ours: shap_values(LGBM)", "lightgbm", t_ours_l, t_ours_l / t_floor, diff_l),
            ("ours: shap_values(HGB, n_jobs=2)", "hist-gb", t_ours_h, t_ours_h / t_floor, diff_h),
            (f"shap.TreeExplainer(HGB), 1 process{'' if quick else ' (extrapolated from 20k rows)'}", "hist-gb", t_shap_h, t_shap_h / t_floor, 0.0)]
    print(f"SHAP values, {n:,} rows x {p} features, 100 trees x 31 leaves, {cores} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'method':<58} {'model':<9} {'seconds':>8} {'x floor':>8} {'max |diff|':>11}")
    for name, model, t, r, d in rows: print(f"{name:<58} {model:<9} {t:8.2f} {r:8.2f} {d:11.2e}")
    print(f"additivity (HGB): max |sum + base - decision_function| = {add_h:.2e}; target: within {TARGET}x of the floor, values within 1e-6")
    res = {"bench": "shap", "rows": n, "features": p, "cores": cores, "floor_pred_contrib_s": round(t_floor, 3),
           "ours_lgbm_s": round(t_ours_l, 3), "ours_hgb_s": round(t_ours_h, 3), "shap_hgb_1proc_s": round(t_shap_h, 3),
           "ratio_to_pred_contrib": round(t_ours_l / t_floor, 3), "hgb_ratio_to_pred_contrib": round(t_ours_h / t_floor, 3),
           "hgb_speedup_vs_shap_1proc": round(t_shap_h / t_ours_h, 3), "max_abs_diff_hgb": diff_h, "max_abs_diff_lgbm": diff_l,
           "values_within_1e-6": bool(max(diff_h, diff_l) <= 1e-6),
           "meets_target": bool(max(t_ours_l, t_ours_h) / t_floor <= TARGET and max(diff_h, diff_l) <= 1e-6)}
    print(json.dumps(res))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    main(ap.parse_args().quick)
