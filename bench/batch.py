"""Benchmark: batch scoring of one large CSV file, single process (`score_batch`, in chunks) against a Dask LocalCluster
(`score_dask`, one single-threaded worker process per core), in the same run on the same file and bundle.

    python bench/batch.py            # 1,000,000 churn-like rows (about 150 MB of CSV)
    python bench/batch.py --quick    # 200,000 rows, under a minute

The rows are the bundled churn customers drawn with replacement (seeded); 0.1% get an unreadable `tenure`, so the
error path is timed too. The model is the churn logistic-regression pipeline saved as a bundle. Reported: seconds and
rows per second of each path; `score_dask` both on a running cluster and end to end (starting and closing its own
LocalCluster, which is what a one-off call costs); the speedup of each over `score_batch`; and the largest difference
between the two paths' probabilities (they must agree row for row). Prints a table, then one JSON line.
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlworkflow.batch import score_batch, score_dask
from mlworkflow.data import infer_schema, load_churn
from mlworkflow.deployment import load_bundle, save_bundle
from mlworkflow.preprocessing import make_preprocessor
from mlworkflow.problem import churn_problem


def make_bundle(folder: Path):
    churn, problem = load_churn(), churn_problem()
    schema = infer_schema(churn, problem)
    data = schema.coerce(churn)[0]
    X, y = data[schema.features()], problem.encode_target(data[problem.target])
    pipe = make_pipeline(make_preprocessor(schema), LogisticRegression(max_iter=1000)).fit(X, y)
    return load_bundle(save_bundle(folder / "bundle", pipe, problem, schema, threshold=0.3)), churn


def make_file(churn: pd.DataFrame, n: int, path: Path, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    rows = churn.drop(columns=["Churn"]).iloc[rng.integers(0, len(churn), n)].reset_index(drop=True)
    rows["customerID"] = [f"C{i:08d}" for i in range(n)]
    bad = rng.choice(n, n // 1000, replace=False)
    rows["tenure"] = rows["tenure"].astype(object)
    rows.loc[bad, "tenure"] = "?"
    rows.to_csv(path, index=False)
    return len(bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 rows, under a minute")
    a = ap.parse_args()
    n = 200_000 if a.quick else 1_000_000
    import distributed
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        bundle, churn = make_bundle(d)
        src = d / "customers.csv"
        n_bad = make_file(churn, n, src)
        mb = src.stat().st_size / 2**20
        blocksize = max(1 << 20, src.stat().st_size // (4 * workers))     # about four partitions per worker

        t = time.perf_counter(); single = score_batch(bundle, src, d / "single.parquet", chunksize=50_000); t_single = time.perf_counter() - t

        t = time.perf_counter()
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
            t_start = time.perf_counter() - t
            score_dask(bundle, src, d / "warm", client=client, blocksize=blocksize)      # workers import and load the bundle once
            t = time.perf_counter(); res = score_dask(bundle, src, d / "dask", client=client, blocksize=blocksize); t_dask = time.perf_counter() - t
        t = time.perf_counter(); own = score_dask(bundle, src, d / "own", blocksize=blocksize); t_own = time.perf_counter() - t

        ref = pd.read_parquet(d / "single.parquet")
        out = pd.read_parquet(d / "dask").sort_values(["partition", "row"]).reset_index(drop=True)
        assert len(out) == len(ref) == n and out.customerID.tolist() == ref.customerID.tolist(), "row order or count differs"
        assert single.rows_failed == res.rows_failed == own.rows_failed == n_bad
        ok = ref.error.isna().to_numpy()
        diff = float(np.max(np.abs(out.probability.to_numpy()[ok] - ref.probability.to_numpy()[ok])))

    print(f"{'path':<44}{'rows':>11}{'seconds':>9}{'rows/s':>11}{'vs score_batch':>16}")
    for name, s in (("score_batch (one process, 50k-row chunks)", t_single),
                    (f"score_dask, running cluster ({workers} workers)", t_dask),
                    ("score_dask, own LocalCluster (end to end)", t_own)):
        print(f"{name:<44}{n:>11,}{s:>9.2f}{n / s:>11,.0f}{t_single / s:>15.2f}x")
    print(f"{mb:.0f} MB CSV, {res.partitions} partitions, {n_bad} bad rows reported by both; LocalCluster start {t_start:.1f} s; "
          f"max |probability difference| {diff:.1e}")
    print(json.dumps({"bench": "batch", "quick": a.quick, "rows": n, "csv_mb": round(mb, 1), "workers": workers, "partitions": res.partitions,
                      "score_batch_s": round(t_single, 3), "score_dask_s": round(t_dask, 3), "score_dask_own_cluster_s": round(t_own, 3),
                      "cluster_start_s": round(t_start, 2), "speedup_dask_vs_batch": round(t_single / t_dask, 2),
                      "speedup_dask_own_cluster_vs_batch": round(t_single / t_own, 2), "rows_failed": n_bad, "max_abs_diff": diff}))


if __name__ == "__main__":
    main()
