"""Benchmark: mlworkflow.eda.profile against a pandas floor and ydata-profiling (minimal=True).

    python bench/eda.py            # 100,000 x 30 and 1,000,000 x 30 mixed frames
    python bench/eda.py --quick    # 20,000 x 30 and 200,000 x 30, under a minute

The pandas floor is what any profile must at least do: describe() + corr() + value_counts() of each
non-numeric column + missing counts. ydata-profiling pins pandas<3, so it runs in its own virtual
environment (YDATA_PYTHON, default /tmp/eda_bench/ydata_venv/bin/python) as a subprocess on the same
data saved to Parquet; its figures are null when that environment is missing. Create it with
    python -m venv /tmp/eda_bench/ydata_venv && /tmp/eda_bench/ydata_venv/bin/pip install ydata-profiling pyarrow
Two comparisons, each tool warmed up on 1,000 rows first and timed best-of-N from a fresh report object:
- the full profile a user reads, from the DataFrame to a standalone HTML page with every chart: ours
  `profile(df, problem).save_html(path)` (statistics, every column's distribution, numeric features by target class,
  associations, correlation heatmaps; inline SVG) vs ydata's `ProfileReport(df, minimal=True).to_html()`. This is the
  headline `speedup_vs_ydata_minimal` (the issue's "6-8 s" for ydata minimal on 100k x 30 is this figure);
- statistics alone: our `profile(...)` object vs ydata's `get_description()` (`speedup_vs_ydata_minimal_stats`).
Our statistics are also timed against the pandas floor. Peak memory of the 1M-row profile is measured with tracemalloc in a
fresh subprocess, relative to the frame's deep memory usage. Prints a table, then one JSON line.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

YDATA_PYTHON = os.environ.get("YDATA_PYTHON", "/tmp/eda_bench/ydata_venv/bin/python")


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    "n x 30 mixed frame: 15 float (some missing), 3 int, 8 categorical (3-20 levels, some missing), 2 high-cardinality text, 1 flag, binary target."
    rng = np.random.default_rng(seed)
    cols = {}
    z = rng.normal(size=(n, 15))
    for j in range(15):
        x = z[:, j] * (j + 1) + j
        if j % 4 == 0: x[rng.random(n) < 0.05] = np.nan
        cols[f"num_{j}"] = x
    for j in range(3): cols[f"int_{j}"] = rng.integers(0, 10 ** (j + 1), n)
    for j in range(8):
        k = 3 + 2 * j + (j // 4) * 4
        labels = np.array([f"level_{i}" for i in range(k)], dtype=object)
        v = labels[rng.integers(0, k, n)]
        if j % 3 == 0: v[rng.random(n) < 0.03] = None
        cols[f"cat_{j}"] = pd.Series(v, dtype="str")
    for j in range(2):
        labels = np.array([f"code_{i:05d}" for i in range(5000 * (j + 1))], dtype=object)
        cols[f"hc_{j}"] = pd.Series(labels[rng.integers(0, len(labels), n)], dtype="str")
    cols["flag"] = rng.integers(0, 2, n)
    logit = 0.8 * z[:, 0] - 0.5 * z[:, 1] + 0.3 * (cols["cat_1"] == "level_2").to_numpy() - 1.0
    cols["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(cols)


def pandas_floor(df: pd.DataFrame) -> None:
    num = df.select_dtypes("number")
    num.describe()
    num.corr()
    for c in df.columns.difference(num.columns): df[c].value_counts()
    df.isna().sum()


def ours(df: pd.DataFrame):
    from mlworkflow.eda import profile
    from mlworkflow.problem import Problem
    return profile(df, Problem("bench", "binary", target="y", positive_label=1))


def best_of(fn, df, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(df); times.append(time.perf_counter() - t)
    return min(times)


YDATA_SCRIPT = """
import sys, time, json, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from ydata_profiling import ProfileReport
df = pd.read_parquet(sys.argv[1])
best = {"describe": float("inf"), "html": float("inf")}
for i in range(1 + int(sys.argv[2])):                  # the first run, on 1,000 rows, warms ydata up
    t = time.perf_counter()
    report = ProfileReport(df.head(1000) if i == 0 else df, minimal=True, progress_bar=False)
    report.get_description()
    describe = time.perf_counter() - t
    report.to_html()
    if i: best = {"describe": min(best["describe"], describe), "html": min(best["html"], time.perf_counter() - t)}
print(json.dumps(best))
"""


def ydata_minimal(path: Path, repeat: int, timeout: float = 900):
    "ydata-profiling minimal=True on the Parquet file, best of `repeat`: (seconds to its description, seconds to its HTML report), status."
    if not Path(YDATA_PYTHON).exists(): return (None, None), f"not installed (no {YDATA_PYTHON})"
    try:
        r = subprocess.run([YDATA_PYTHON, "-c", YDATA_SCRIPT, str(path), str(repeat)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: return (None, None), f"timed out after {timeout:.0f}s"
    if r.returncode != 0: return (None, None), (r.stderr.strip().splitlines() or ["failed"])[-1][:120]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    v = subprocess.run([YDATA_PYTHON, "-c", "import ydata_profiling, pandas; print(ydata_profiling.__version__, pandas.__version__)"],
                       capture_output=True, text=True).stdout.split()
    return (out["describe"], out["html"]), f"ydata-profiling {v[0]} on pandas {v[1]}" if len(v) == 2 else "ok"


def ours_html(df: pd.DataFrame, path: Path) -> None:
    "The full profile as a user reads it: statistics and every chart, written as a standalone HTML page."
    ours(df).save_html(path, plots=True)


MEMORY_SCRIPT = """
import gc, json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[2])
from bench_eda import make_frame, ours
ours(make_frame(1000))                                               # imports and first-call costs
df = make_frame(int(sys.argv[1]))
frame = int(df.memory_usage(deep=True).sum())
t = time.perf_counter(); ours(df); secs = time.perf_counter() - t   # timed without tracemalloc
gc.collect()
tracemalloc.start()
ours(df)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"seconds": secs, "frame_bytes": frame, "peak_bytes": peak}))
"""


def big_run(n: int) -> dict:
    "Time and peak memory of our profile on n rows, in a fresh process."
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "bench_eda.py").write_text(Path(__file__).read_text())
        r = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(n), d], capture_output=True, text=True)
    if r.returncode != 0: raise RuntimeError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    a = ap.parse_args()
    n_small, n_big, repeat = (20_000, 200_000, 2) if a.quick else (100_000, 1_000_000, 3)

    df = make_frame(n_small)
    with tempfile.TemporaryDirectory() as d:
        page = Path(d) / "ours.html"
        ours_html(df.head(1000), page)                    # warm up, as ydata is warmed up
        floor_s = best_of(pandas_floor, df, repeat)
        ours_s = best_of(ours, df, repeat)
        html_s = best_of(lambda x: ours_html(x, page), df, repeat)
        page_kb = page.stat().st_size / 1024
        path = Path(d) / "bench.parquet"
        df.to_parquet(path)
        (ydata_s, ydata_html_s), ydata_status = ydata_minimal(path, repeat)

    big = make_frame(n_big)
    floor_big = best_of(pandas_floor, big, 1)
    del big
    m = big_run(n_big)

    ratio = lambda y, o: f"{y:>13.2f}{y / o:>12.1f}" if y else f"{'n/a':>13}{'':>12}"
    print(f"{'':<34}{'rows':>10}{'pandas floor s':>16}{'ours s':>9}{'ours/floor':>12}{'ydata min s':>13}{'ydata/ours':>12}")
    print(f"{'full profile (HTML page, charts)':<34}{n_small:>10,}{'':>16}{html_s:>9.3f}{'':>12}" + ratio(ydata_html_s, html_s))
    print(f"{'statistics only':<34}{n_small:>10,}{floor_s:>16.3f}{ours_s:>9.3f}{ours_s / floor_s:>12.2f}" + ratio(ydata_s, ours_s))
    print(f"{'statistics only':<34}{n_big:>10,}{floor_big:>16.3f}{m['seconds']:>9.3f}{m['seconds'] / floor_big:>12.2f}{'n/a':>13}")
    print(f"{df.shape[1]} columns; our page {page_kb:.0f} KB; best of {repeat}, each tool warmed up on 1,000 rows")
    print(f"peak memory of the {n_big:,}-row profile: {m['peak_bytes'] / 2**20:.0f} MB for a {m['frame_bytes'] / 2**20:.0f} MB frame "
          f"(ratio {m['peak_bytes'] / m['frame_bytes']:.2f}); ydata-profiling: {ydata_status}")
    print(json.dumps({
        "bench": "eda", "quick": a.quick, "rows": n_small, "cols": df.shape[1],
        "pandas_floor_s": round(floor_s, 4), "ours_s": round(ours_s, 4),
        "ydata_minimal_s": None if ydata_s is None else round(ydata_s, 3),
        "ours_html_s": round(html_s, 3), "ydata_minimal_html_s": None if ydata_html_s is None else round(ydata_html_s, 3),
        "speedup_vs_ydata_minimal": None if ydata_html_s is None else round(ydata_html_s / html_s, 2),
        "speedup_vs_ydata_minimal_stats": None if ydata_s is None else round(ydata_s / ours_s, 2),
        "ratio_to_pandas_floor": round(ours_s / floor_s, 2),
        "rows_big": n_big, "pandas_floor_big_s": round(floor_big, 3),
        "seconds_1m": round(m["seconds"], 3) if n_big == 1_000_000 else None,
        "seconds_big": round(m["seconds"], 3),
        "peak_memory_ratio_1m": round(m["peak_bytes"] / m["frame_bytes"], 3),
        "frame_mb_big": round(m["frame_bytes"] / 2**20, 1),
    }))


if __name__ == "__main__":
    main()
