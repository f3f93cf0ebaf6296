"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does where Quarto is installed).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is out of date (CI)

Markdown cells are copied; code cells become fenced Python without their `#|` directives; stored text outputs
follow as plain fences; `#| hide` cells are left out, like the docs site does.
"""
import re
import sys
from pathlib import Path

from execnb.nbio import read_nb

ROOT = Path(__file__).resolve().parents[1]
_DIRECTIVE = re.compile(r"^#\|.*\n?", re.M)


def _text(out) -> str:
    if out.get("output_type") == "stream": return "".join(out.get("text", ""))
    data = out.get("data", {})
    return "".join(data.get("text/markdown", "")) or "".join(data.get("text/plain", ""))


def readme(nb_path: Path = ROOT / "nbs" / "index.ipynb") -> str:
    nb, parts = read_nb(nb_path), []
    for cell in nb.cells:
        src = cell.source
        if re.search(r"^#\|\s*hide\b", src, re.M): continue
        if cell.cell_type == "markdown":
            parts.append(src.strip())
            continue
        code = _DIRECTIVE.sub("", src).strip()
        if code: parts.append(f"```python\n{code}\n```")
        outs = "".join(_text(o) for o in cell.get("outputs", [])).strip()
        if outs: parts.append(f"```\n{outs}\n```")
    head = "<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->"
    return head + "\n\n" + "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    text, target = readme(), ROOT / "README.md"
    if "--check" in sys.argv:
        if target.read_text(encoding="utf-8") != text:
            sys.exit("README.md is out of date: run python tools/make_readme.py and commit it")
        print("README.md is up to date")
    else:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
