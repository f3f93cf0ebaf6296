"""Benchmark for chapters 03-04: our layers against the hand-written baselines they replace, measured in the same run.

    python bench/features.py            # 1,000,000 rows (a few minutes on 2 cores)
    python bench/features.py --quick    # 100,000 rows (< 1 minute)

Each side runs `repeats` times (2 quick, 3 full), alternating which goes first; the best time counts.

1. `make_preprocessor(schema)` fit+transform on N x 30 (20 numeric with 5 % missing, 8 categorical, 2 boolean) versus
   a hand-written `ColumnTransformer` doing the same work (median imputation + indicators + scaling, one-hot with
   infrequent handling, binary one-hot); the outputs must be identical.
2. `WindowAggregates` (count, sum, mean over a trailing hour, time since last event, strictly earlier rows) on N
   card transactions versus the pandas reference: sort + `groupby().rolling('1h', closed='left')` + `groupby().diff()`;
   counts and gaps must be identical, sums and means equal to floating-point rounding.

Prints a table, then ONE JSON line with `ratio_to_columntransformer` and `ratio_to_pandas_rolling` (ours / reference;
below 1 means we are faster).
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlworkflow.data import infer_schema
from mlworkflow.features import WindowAggregates
from mlworkflow.preprocessing import make_preprocessor


def best_of_pair(ours, reference, repeats):
    "Best seconds of each over `repeats` rounds, alternating which runs first; returns (ours_s, ours_out, ref_s, ref_out)."
    best, out = [float("inf"), float("inf")], [None, None]
    for r in range(repeats):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            out[k] = None                                          # free the previous result before timing again
            t0 = time.perf_counter()
            out[k] = (ours, reference)[k]()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best[0], out[0], best[1], out[1]


def table_data(n, seed=0):
    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(20):
        x = rng.normal(i, 1 + i / 10, n)
        x[rng.random(n) < 0.05] = np.nan
        cols[f"num{i:02d}"] = x
    levels = np.array([f"level_{k}" for k in range(12)])
    p = np.r_[np.full(10, 0.098), 0.01, 0.01]                     # two rare levels -> infrequent bucket
    for i in range(8): cols[f"cat{i}"] = pd.array(levels[rng.choice(12, n, p=p / p.sum())], dtype="str")
    for i in range(2): cols[f"flag{i}"] = rng.integers(0, 2, n)
    return pd.DataFrame(cols)


def hand_written(num, cat, flag):
    return ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()), num),
        ("boolean", OneHotEncoder(drop="if_binary", handle_unknown="ignore", sparse_output=False), flag),
        ("categorical", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.02, sparse_output=False), cat),
    ], remainder="drop", verbose_feature_names_out=False).set_output(transform="pandas")


def transactions(n, seed=0):
    rng = np.random.default_rng(seed)
    n_cards = max(n // 20, 10)
    t0 = pd.Timestamp("2024-01-01").value
    t = t0 + rng.integers(0, 30 * 86400 * 10**9, n)              # nanosecond times over 30 days: no ties
    return pd.DataFrame({"card": rng.integers(0, n_cards, n), "t": pd.to_datetime(t), "amount": rng.gamma(2.0, 30.0, n).round(2)})


def pandas_rolling(df):
    s = df.sort_values(["card", "t"], kind="stable")
    r = s.set_index("t").groupby("card", sort=False)["amount"].rolling("1h", closed="left")
    out = pd.DataFrame({"count": r.count().to_numpy(), "sum": r.sum().to_numpy(), "mean": r.mean().to_numpy()}, index=s.index)
    out["since_last"] = s.groupby("card", sort=False)["t"].diff() / pd.Timedelta(seconds=1)
    return out.reindex(df.index)


def main(quick=False):
    n = 100_000 if quick else 1_000_000
    repeats = 2 if quick else 3
    rows = []

    X = table_data(n)
    schema = infer_schema(X.sample(min(n, 20_000), random_state=0))
    num, cat, flag = schema.features("numeric"), schema.features("categorical"), schema.features("boolean")
    assert (len(num), len(cat), len(flag)) == (20, 8, 2), (len(num), len(cat), len(flag))
    ours_s, ours, ref_s, ref = best_of_pair(lambda: make_preprocessor(schema, min_frequency=0.02).fit_transform(X),
                                            lambda: hand_written(num, cat, flag).fit_transform(X), repeats)
    pd.testing.assert_frame_equal(ours, ref)
    rows.append(("preprocessor fit+transform", f"{n:,} x 30", ours_s, "hand-written ColumnTransformer", ref_s, "identical"))

    T = transactions(n)
    wa = lambda: WindowAggregates(time="t", entity="card", window="1h", values=["amount"]).fit_transform(T)
    win_s, got, pd_s, exp = best_of_pair(wa, lambda: pandas_rolling(T), repeats)
    np.testing.assert_array_equal(got[:, 0], exp["count"].fillna(0).to_numpy())
    np.testing.assert_array_equal(got[:, 3], exp["since_last"].to_numpy())
    diff = max(np.nanmax(np.abs(got[:, 1] - exp["sum"].fillna(0).to_numpy())),
               np.nanmax(np.abs(np.nan_to_num(got[:, 2]) - np.nan_to_num(exp["mean"].to_numpy()))))
    np.testing.assert_allclose(got[:, 1:3], np.c_[exp["sum"].fillna(0), exp["mean"]], rtol=1e-9, atol=1e-9, equal_nan=True)
    rows.append(("WindowAggregates (4 features)", f"{n:,} events", win_s, "pandas groupby-rolling", pd_s, f"max |diff| {diff:.1e}"))

    print(f"{'task':32} {'size':18} {'ours s':>8} {'baseline':32} {'base s':>8} {'ratio':>6}  check")
    for task, size, a, base, b, chk in rows:
        print(f"{task:32} {size:18} {a:8.2f} {base:32} {b:8.2f} {a / b:6.2f}  {chk}")
    print(json.dumps(dict(bench="features", quick=quick, rows=n, repeats=repeats,
                          preprocessor_s=round(ours_s, 3), columntransformer_s=round(ref_s, 3), ratio_to_columntransformer=round(ours_s / ref_s, 3),
                          window_aggregates_s=round(win_s, 3), pandas_rolling_s=round(pd_s, 3), ratio_to_pandas_rolling=round(win_s / pd_s, 3),
                          window_max_abs_diff=float(diff))))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows, two repeats (< 1 minute)")
    main(ap.parse_args().quick)
