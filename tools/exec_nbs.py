"""Execute chapter notebooks in place so their stored outputs (the docs) are fresh.

    python tools/exec_nbs.py nbs/06_evaluation.ipynb [more.ipynb ...]   # or no argument: every chapter

Cells marked `#| eval: false` are skipped (their outputs cleared), exactly as the docs build treats them;
cells marked `#| slow` run, so the docs show what they compute. The notebook is then cleaned with
`nbdev_clean`, so the committed file is what CI's "notebooks are clean" check expects.
"""
import os
import re
import sys
import time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parents[1]
_NO_EVAL = re.compile(r"^#\|\s*eval:\s*false", re.M)


def exec_nb(path: Path) -> float:
    "Run the notebook at `path` in its own folder, store outputs, clean it; return seconds taken."
    nb = read_nb(path)
    start, cwd = time.time(), os.getcwd()
    os.chdir(path.parent)
    try:
        shell = CaptureShell()
        shell.run_cell("%matplotlib inline")
        for cell in nb.cells:
            if cell.cell_type != "code": continue
            if _NO_EVAL.search(cell.source):
                cell.outputs, cell.execution_count = [], None
                continue
            shell.cell(cell)
            if shell.exc: raise RuntimeError(f"{path.name}: cell failed:\n{cell.source}") from shell.exc
    finally:
        os.chdir(cwd)
    write_nb(nb, path)
    from nbdev.clean import nbdev_clean
    nbdev_clean.__wrapped__(fname=str(path))
    return time.time() - start


if __name__ == "__main__":
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "nbs").glob("[0-9]*.ipynb"))
    for p in paths: print(f"{p.name}: {exec_nb(p):.1f}s", flush=True)
