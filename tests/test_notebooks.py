"""Run every notebook's lessons with nbdev's own test runner: one test per notebook, one pytest summary.

    pytest tests/test_notebooks.py                 # like `nbdev_test`: skips cells flagged `slow`/`notest`
    pytest tests/test_notebooks.py --slow          # also runs `#| slow` cells (or MLW_SLOW=1)
    pytest tests/test_notebooks.py -k 06_evaluation

Each notebook runs in its own Python process through `nbdev.test.test_nb` (what `nbdev_test` runs per
notebook): `#| eval: false` cells are skipped, the skip flags come from settings.ini's `tst_flags`, and
the notebook's global settings (sklearn display, pandas options, matplotlib) cannot leak into other tests.
A failing notebook fails its test with the failing cell's source and the traceback in the message.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbdev.config import get_config
from nbdev.doclinks import nbglob

ROOT = Path(__file__).resolve().parents[1]
CFG = get_config(path=ROOT)
NBS = CFG.nbs_path
TIMEOUT_S = int(os.environ.get("MLW_NB_TIMEOUT", "900"))

# Runs one notebook with nbdev's test machinery in a fresh process; exit status 1 if a cell failed.
_DRIVER = """
import sys
from pathlib import Path
from nbdev.test import test_nb
ok, secs = test_nb(Path(sys.argv[1]), skip_flags=sys.argv[2].split(), force_flags=sys.argv[3].split(),
                   showerr=True, basepath=sys.argv[4])
print(f"{Path(sys.argv[1]).name}: {'ok' if ok else 'FAILED'} in {secs:.1f}s")
sys.exit(0 if ok else 1)
"""


def _notebooks() -> list[Path]:
    "The notebooks `nbdev_test` would test (same glob, skips `_`-prefixed files and folders)."
    files = nbglob(NBS, as_path=True)
    return sorted(Path(f).resolve() for f in files if not (Path(f).parent / ".notest").exists())


def _failing_cell(nb_path: Path, stderr: str) -> str:
    "The source of the cell nbdev's traceback names ('While Executing Cell #N', N counts all cells from 1)."
    m = re.search(r"While Executing Cell #(\d+)", stderr)
    if not m: return ""
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    i = int(m.group(1)) - 1
    if not 0 <= i < len(cells): return ""
    src = cells[i]["source"]
    return f"--- failing cell #{i + 1} ---\n{''.join(src) if isinstance(src, list) else src}\n"


@pytest.fixture(scope="session")
def force_flags(request) -> list[str]:
    slow = request.config.getoption("--slow") or os.environ.get("MLW_SLOW", "") not in ("", "0")
    return ["slow"] if slow else []


def _id(p: Path) -> str: return p.relative_to(NBS).as_posix().removesuffix(".ipynb")


@pytest.mark.parametrize("nb_path", _notebooks(), ids=_id)
def test_notebook(nb_path, force_flags):
    skip_flags = CFG.get("tst_flags", "").split()
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    try:
        r = subprocess.run([sys.executable, "-c", _DRIVER, str(nb_path), " ".join(skip_flags), " ".join(force_flags),
                            str(CFG.config_path)], cwd=NBS, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{nb_path.name}: still running after {TIMEOUT_S}s (MLW_NB_TIMEOUT)", pytrace=False)
    if r.returncode != 0:
        pytest.fail(f"{nb_path.name} failed (flags run: {force_flags or 'none'})\n"
                    f"{_failing_cell(nb_path, r.stderr)}{r.stderr[-6000:]}{r.stdout[-2000:]}", pytrace=False)
