"""Build the documentation site without Quarto.

    python tools/build_docs.py              # into _quarto.yml's project.output-dir (_docs/)
    python tools/build_docs.py --out /tmp/site

Where Quarto is installed, `nbdev_docs` builds the real site from the same inputs; this script is the
offline equivalent. It runs nbdev's own processing of the notebooks (`nbdev.serve.proc_nbs`, the step
`nbdev_docs` runs before Quarto; it writes `_proc/`), so the pages hold exactly what nbdev would give
Quarto: `#| hide` cells gone, `#| export` cells replaced by their `show_doc`, doc links added, the H1 and
`>` subtitle turned into the page's title and description. Each processed notebook then becomes one HTML
page with nbconvert's `basic` template (stored outputs only: nothing is re-executed; PNG plots are
embedded as data URIs), wrapped in a page with the sidebar. Quarto cell options the pages need are
honoured here: `echo`, `output`, `include`, `fig-cap`, `fig-alt`, `code-fold`.

`_quarto.yml` is the single description of the site: the title, the description, the sidebar
(`website.sidebar.contents`, in order), the output folder (`project.output-dir`) and the extra CSS
(`format.html.css`) all come from it. Page names follow nbdev (`06_evaluation.ipynb` -> `evaluation.html`,
the `output-file` nbdev writes into the front matter), so nbdev's doc links work offline too.
The site needs no network: no script, stylesheet or image is fetched from another host.
"""
from __future__ import annotations

import argparse
import contextlib
import html
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["Page", "Site", "DocsBuildError", "read_site", "build", "main"]


# ---------------------------------------------------------------------------------------------------
# _quarto.yml
# ---------------------------------------------------------------------------------------------------
@dataclass
class Site:
    "What `_quarto.yml` says about the site."
    title: str
    description: str
    output_dir: str
    sidebar: list  # items: ('page', src, text or None) | ('section', title, [items]) | ('link', href, text)
    css: list = field(default_factory=list)
    toc: bool = True

    def sidebar_sources(self) -> list[str]:
        "Notebook (or other source) paths named in the sidebar, in order."
        out = []
        def walk(items):
            for it in items:
                if it[0] == "page": out.append(it[1])
                elif it[0] == "section": walk(it[2])
        walk(self.sidebar)
        return out


def _parse_sidebar(contents) -> list:
    items = []
    for o in contents or []:
        if isinstance(o, str):
            if o == "auto": warnings.warn("_quarto.yml: sidebar 'auto' is not supported offline; skipped", stacklevel=2)
            else: items.append(("page", o, None))
        elif isinstance(o, dict) and "section" in o:
            sub = _parse_sidebar(o.get("contents"))
            if "href" in o: sub.insert(0, ("page", o["href"], None))
            items.append(("section", str(o["section"]), sub))
        elif isinstance(o, dict) and "href" in o:
            href = str(o["href"])
            if re.match(r"^[a-z]+://", href): items.append(("link", href, o.get("text", href)))
            else: items.append(("page", href, o.get("text")))
        else: warnings.warn(f"_quarto.yml: sidebar entry {o!r} not understood; skipped", stacklevel=2)
    return items


def read_site(quarto_yml: Path) -> Site:
    "Read the site's title, description, sidebar, output folder and CSS from `quarto_yml`."
    cfg = yaml.safe_load(Path(quarto_yml).read_text(encoding="utf-8")) or {}
    web, proj = cfg.get("website") or {}, cfg.get("project") or {}
    html_fmt = ((cfg.get("format") or {}).get("html") or {})
    if not isinstance(html_fmt, dict): html_fmt = {}
    css = html_fmt.get("css") or []
    if isinstance(css, str): css = [css]
    sidebar = web.get("sidebar") or {}
    if isinstance(sidebar, list): sidebar = sidebar[0] if sidebar else {}
    if "title" not in web: raise ValueError(f"{quarto_yml}: website.title is missing")
    return Site(title=str(web["title"]), description=str(web.get("description", "")),
                output_dir=str(proj.get("output-dir", "_site")), sidebar=_parse_sidebar(sidebar.get("contents")),
                css=list(css), toc=bool(html_fmt.get("toc", False)))


# ---------------------------------------------------------------------------------------------------
# nbdev processing
# ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try: yield
    finally: os.chdir(old)


def _source_notebooks(nbs: Path) -> list[Path]:
    "The notebooks nbdev processes (same glob and skip rules as `proc_nbs`)."
    from nbdev.doclinks import nbglob
    return sorted(Path(p).resolve() for p in nbglob(nbs, func=Path, file_glob="", file_re="") if Path(p).suffix == ".ipynb")


def process_notebooks(nbs: Path, n_workers: int = 2) -> Path:
    "Run nbdev's docs processing (`proc_nbs`); return the `_proc` folder."
    from nbdev.serve import proc_nbs
    return Path(proc_nbs(str(nbs), n_workers=n_workers))


# ---------------------------------------------------------------------------------------------------
# One page
# ---------------------------------------------------------------------------------------------------
_DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")
_BARE_DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)\s*$")
_LINK_ATTRS = re.compile(r"(\]\([^)\s]*\))\{[^}\n]*\}")          # [text](url){target="_blank" ...}
_SPAN_ATTRS = re.compile(r"(\])\{[.#][^}\n]*\}")                  # [text]{.class}
_DIV_OPEN = re.compile(r"^:::+\s*\{?\s*([^}]*?)\s*\}?\s*$")
_DIV_CLOSE = re.compile(r"^:::+\s*$")


def _split_directives(source: str) -> tuple[dict, str]:
    "Quarto/nbdev `#|` options at the top of a cell, and the source without them."
    opts, lines = {}, source.splitlines()
    i = 0
    while i < len(lines):
        m, b = _DIRECTIVE.match(lines[i]), _BARE_DIRECTIVE.match(lines[i])
        if m:
            try: val = yaml.safe_load(m.group(2)) if m.group(2) else True
            except yaml.YAMLError: val = m.group(2)
            opts[m.group(1)] = val
        elif b: opts[b.group(1)] = True
        elif lines[i].strip(): break
        i += 1
    return opts, "\n".join(lines[i:]).strip("\n")


def _quarto_md(text: str) -> str:
    "Reduce the Quarto markdown extensions nbdev emits to plain markdown + HTML."
    text = _LINK_ATTRS.sub(r"\1", text)
    text = _SPAN_ATTRS.sub(r"\1", text)
    out = []
    for line in text.splitlines():
        if _DIV_CLOSE.match(line): out.append("\n</div>\n")
        elif (m := _DIV_OPEN.match(line)) and line.startswith(":::"):
            classes = " ".join(c.lstrip(".") for c in m.group(1).split() if c.startswith("."))
            out.append(f'\n<div class="{html.escape(classes)}">\n')
        else: out.append(line)
    return "\n".join(out)


def _fig_caption(text: str) -> dict:
    import nbformat
    return nbformat.v4.new_output("display_data", data={"text/html": f'<p class="fig-cap">{html.escape(str(text))}</p>'})


def _prepare(nb) -> tuple[dict, object]:
    "Take the front matter out of processed notebook `nb` and apply Quarto cell options; return (frontmatter, nb)."
    fm, cells = {}, []
    for cell in nb.cells:
        src = cell.get("source", "") or ""
        if cell.cell_type == "raw":
            s = src.strip()
            if s.startswith("---") and s.endswith("---") and not fm:
                fm = yaml.safe_load(s.strip("-\n")) or {}
                continue
            cells.append(cell)
            continue
        if cell.cell_type == "markdown":
            cell.source = _quarto_md(src)
            if cell.source.strip(): cells.append(cell)
            continue
        if cell.cell_type != "code": continue
        opts, body = _split_directives(src)
        cell.source = body
        if opts.get("include") is False: continue
        if opts.get("output") is False: cell.outputs = []
        for o in cell.get("outputs", []):
            md = (o.get("data") or {}).get("text/markdown")
            if md is not None: o["data"]["text/markdown"] = _quarto_md(md if isinstance(md, str) else "".join(md))
        if opts.get("echo") is False or not body.strip():
            cell.metadata.setdefault("transient", {})["remove_source"] = True
            if not cell.get("outputs"): continue
        if opts.get("fig-alt"): cell.metadata["alt"] = str(opts["fig-alt"])
        has_img = any(k.startswith("image/") for o in cell.get("outputs", []) for k in (o.get("data") or {}))
        if opts.get("fig-cap") and has_img: cell.outputs.append(_fig_caption(opts["fig-cap"]))
        if opts.get("code-fold"):
            cell.metadata.setdefault("tags", []).append("code-fold")
            cell.metadata["code_summary"] = str(opts.get("code-summary", "Code"))
        cells.append(cell)
    nb.cells = cells
    return fm, nb


# nbconvert's `basic` template (body only: no require.js, no MathJax, no CDN), plus Quarto's code folding.
_TEMPLATE = """{%- extends 'basic/index.html.j2' -%}
{% block input_group -%}
{%- if 'code-fold' in cell.metadata.get('tags', []) -%}
<details class="code-fold"><summary>{{ cell.metadata.get('code_summary', 'Code') | escape_html }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group %}
"""


def _exporter():
    import jinja2
    from nbconvert import HTMLExporter
    ex = HTMLExporter(template_name="basic", extra_loaders=[jinja2.DictLoader({"mlw_page.html.j2": _TEMPLATE})],
                      template_file="mlw_page.html.j2")
    ex.exclude_input_prompt = ex.exclude_output_prompt = True
    ex.anchor_link_text = "#"
    return ex


def _plain(text: str) -> str:
    "A one-line markdown title as plain text (for <title> and the sidebar)."
    return re.sub(r"`|\*\*?|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", text)


def _inline_md(text: str) -> str:
    "Markdown of a one-line description (inline code, emphasis, links) as HTML without the <p>."
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    return re.sub(r"^\s*<p>(.*)</p>\s*$", r"\1", markdown2html_mistune(text), flags=re.S)


# ---------------------------------------------------------------------------------------------------
# The site
# ---------------------------------------------------------------------------------------------------
@dataclass
class Page:
    "One page of the built site."
    source: str   # notebook path relative to nbs/, posix ('06_evaluation.ipynb')
    href: str     # page path relative to the site root ('evaluation.html')
    title: str
    description: str
    n_images: int = 0


def _rel(from_href: str, to_href: str) -> str:
    "Relative URL from page `from_href` to site path `to_href` (both relative to the site root)."
    base = PurePosixPath(from_href).parent
    return os.path.relpath(to_href, start=str(base) if str(base) != "." else ".").replace(os.sep, "/")


def _rewrite_links(body: str, page: Page, by_source: dict, site_url: str) -> str:
    "Point nbdev's absolute doc links and `.ipynb` links at this site's pages, relatively."
    def sub(m):
        url = html.unescape(m.group(2))
        if site_url and url.startswith(site_url):
            target = url[len(site_url):].lstrip("/") or "index.html"
            return f'{m.group(1)}"{html.escape(_rel(page.href, target))}"'
        if re.match(r"^[a-z]+:|^#|^/", url): return m.group(0)
        path, _, frag = url.partition("#")
        if path.endswith(".ipynb"):
            src = str(PurePosixPath(page.source).parent / path)
            src = os.path.normpath(src).replace(os.sep, "/")
            if src in by_source:
                new = _rel(page.href, by_source[src].href) + (f"#{frag}" if frag else "")
                return f'{m.group(1)}"{html.escape(new)}"'
        return m.group(0)
    return re.sub(r'(\shref=)"([^"]*)"', sub, body)


def _toc(body: str) -> str:
    items = []
    for m in re.finditer(r'<h([23])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', body, flags=re.S):
        text = re.sub(r"<[^>]+>", "", m.group(3)).rstrip("#¶ \n")
        if text: items.append(f'<li class="toc-h{m.group(1)}"><a href="#{m.group(2)}">{text}</a></li>')
    return f'<nav class="toc"><h2>On this page</h2><ul>{"".join(items)}</ul></nav>' if items else ""


def _sidebar(site: Site, page: Page | None, by_source: dict) -> str:
    def item(it):
        if it[0] == "page":
            p = by_source.get(it[1])
            if p is None: return ""
            cur = ' class="active" aria-current="page"' if page is not None and p.href == page.href else ""
            return f'<li><a href="{html.escape(_rel(page.href if page else "index.html", p.href))}"{cur}>{html.escape(it[2] or _plain(p.title))}</a></li>'
        if it[0] == "link": return f'<li><a href="{html.escape(it[1])}">{html.escape(str(it[2]))}</a></li>'
        inner = "".join(item(o) for o in it[2])
        return f'<li class="section"><span>{html.escape(it[1])}</span><ul>{inner}</ul></li>' if inner else ""
    return "<ul>" + "".join(item(it) for it in site.sidebar) + "</ul>"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mlworkflow tools/build_docs.py (nbdev proc_nbs + nbconvert)">
<title>{title}</title>
<meta name="description" content="{description_attr}">
{css}
</head>
<body>
<div class="layout">
<nav class="sidebar" aria-label="Site">
<a class="site-title" href="{index}">{site_title}</a>
{sidebar}
</nav>
<main class="content">
<header class="title-block">
<h1 class="title">{h1}</h1>
{description}
</header>
{body}
<footer>Built offline from the notebooks by <code>tools/build_docs.py</code>.</footer>
</main>
{toc}
</div>
</body>
</html>
"""

_CSS = """
:root { --fg: #212529; --muted: #6c757d; --accent: #2780e3; --bg-code: #f7f7f9; --border: #dee2e6; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.layout { display: grid; grid-template-columns: 230px minmax(0, 1fr) 200px; gap: 1.5rem; max-width: 1500px; margin: 0 auto; }
.sidebar { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; padding: 1.5rem 0 1.5rem 1.25rem; font-size: .93rem; }
.sidebar .site-title { display: block; font-size: 1.3rem; font-weight: 600; color: var(--fg); margin-bottom: 1rem; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar li { margin: .15rem 0; }
.sidebar li.section > span { display: block; margin-top: .8rem; font-weight: 600; color: var(--muted); text-transform: uppercase; font-size: .78rem; letter-spacing: .04em; }
.sidebar li.section ul { padding-left: .4rem; }
.sidebar a { display: block; padding: .15rem .5rem; border-radius: 4px; color: var(--fg); }
.sidebar a.active { background: #e7f1fc; color: var(--accent); font-weight: 600; }
.content { padding: 1.5rem 0 4rem; min-width: 0; }
.title-block { border-bottom: 1px solid var(--border); margin-bottom: 1.5rem; padding-bottom: .5rem; }
.title-block h1.title { font-size: 2.2rem; margin: .5rem 0 .25rem; }
.toc { position: sticky; top: 0; align-self: start; padding: 1.5rem 1rem 0 0; font-size: .85rem; max-height: 100vh; overflow-y: auto; }
.toc h2 { font-size: .85rem; text-transform: uppercase; color: var(--muted); margin: 0 0 .5rem; }
.toc ul { list-style: none; padding: 0; margin: 0; border-left: 1px solid var(--border); }
.toc li a { display: block; padding: .1rem .75rem; color: var(--muted); }
.toc li.toc-h3 a { padding-left: 1.5rem; }
h2 { margin-top: 2.2rem; padding-bottom: .2rem; border-bottom: 1px solid #eee; }
h3 { margin-top: 1.6rem; }
.anchor-link { visibility: hidden; margin-left: .3rem; font-size: .8em; color: var(--muted); }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link, h4:hover .anchor-link { visibility: visible; }
code { font-family: SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .875em; background: var(--bg-code); padding: .1em .25em; border-radius: 3px; }
pre { font-family: SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .85rem; line-height: 1.45; overflow-x: auto; margin: 0; }
pre code { background: none; padding: 0; }
.cell { margin: 0 0 1rem; }
.input_area, .highlight { background: var(--bg-code); border-radius: 4px; }
.input_area pre, .text_cell_render pre, .rendered_html pre { padding: .7rem .9rem; background: var(--bg-code); border-radius: 4px; }
.output_wrapper { margin-top: .25rem; }
.output_subarea { overflow-x: auto; }
.output_text pre, .output_stream pre, .output_stdout pre, .output_error pre { padding: .4rem .8rem; border-left: 2px solid lightsalmon; background: none; }
.output_stderr pre { border-left-color: #e0a800; color: #6b5300; }
.output_error pre { border-left-color: #dc3545; }
.output_png img, .output_jpeg img, .output_svg svg { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
.fig-cap { color: var(--muted); font-size: .9rem; margin: 0 0 .5rem; }
.output_markdown hr, .output_markdown + hr { border: 0; border-top: 1px solid var(--border); }
.output_markdown h3 { margin-top: .6rem; font-family: SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.1rem; }
.output_markdown a[href*="github.com"] { float: right; font-size: smaller; }
table { border-collapse: collapse; border: none; font-size: .85rem; margin: .5rem 0; }
th, td { border: none; border-bottom: 1px solid var(--border); padding: .25rem .6rem; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #adb5bd; }
table.dataframe td, table.dataframe thead th { text-align: right; }
blockquote { margin: 0; padding: .2rem 1rem; border-left: 3px solid var(--border); color: var(--muted); }
details.code-fold > summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
.callout-note, .callout-tip, .callout-warning, .callout-important, .callout-caution { border-left: 4px solid var(--accent); background: #f3f8fe; padding: .4rem 1rem; margin: 1rem 0; border-radius: 4px; }
.callout-warning, .callout-caution { border-left-color: #ff7518; background: #fff6ef; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; border-top: 1px solid var(--border); padding-top: .5rem; }
@media (max-width: 1100px) { .layout { grid-template-columns: 220px minmax(0, 1fr); } .toc { display: none; } }
@media (max-width: 700px) { .layout { display: block; padding: 0 1rem; } .sidebar { position: static; max-height: none; padding: 1rem 0; } }
"""


def _site_url() -> str:
    "The absolute URL nbdev's doc links start with (settings.ini doc_host + doc_baseurl)."
    from nbdev.config import get_config
    cfg = get_config()
    host, base = cfg.get("doc_host", ""), cfg.get("doc_baseurl", "")
    return (host.rstrip("/") + "/" + base.strip("/")).rstrip("/") + "/" if host else ""


def _count_images(body: str) -> int: return len(re.findall(r"<img\s", body))


def _render(proc_nb: Path, source: str):
    import nbformat
    nb = nbformat.read(proc_nb, as_version=4)
    fm, nb = _prepare(nb)
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"path": str(proc_nb.parent)}})
    default = PurePosixPath(source).with_suffix(".html").as_posix()
    out = fm.get("output-file")
    href = (PurePosixPath(source).parent / out).as_posix() if out else default
    title = str(fm.get("title") or PurePosixPath(source).stem)
    return Page(source=source, href=href, title=title, description=str(fm.get("description") or ""),
                n_images=_count_images(body)), body


def _fallback_index(site: Site, pages: list[Page]) -> tuple[Page, str]:
    "An index page when nbs/index.ipynb does not exist (yet)."
    items = "".join(f'<li><a href="{html.escape(p.href)}">{html.escape(p.title)}</a> - {html.escape(p.description)}</li>'
                    for p in pages)
    return Page("index.ipynb", "index.html", site.title, site.description), f"<ul>{items}</ul>"


def _which_notebook(e: Exception, sources: list[Path], nbs: Path) -> str:
    "nbdev names the failing notebook by its title only: find its file."
    m = re.search(r"Error in notebook: (.*?) in cell", str(e))
    if not m: return ""
    import nbformat
    for src in sources:
        for cell in nbformat.read(src, as_version=4).cells:
            if cell.cell_type == "markdown" and re.search(rf"^#\s+{re.escape(m.group(1))}\s*$", cell.source, re.M):
                return f" in {src.relative_to(nbs.parent)}"
    return ""


class DocsBuildError(RuntimeError):
    "The site could not be built (a notebook failed nbdev's processing)."


def build(out: str | Path | None = None, root: str | Path = ROOT, n_workers: int = 2, quiet: bool = False) -> dict:
    """Build the site into `out` (default: `_quarto.yml`'s `project.output-dir` under `root`).

    Returns {'out': Path, 'site': Site, 'pages': {source: Page}, 'missing': [sidebar sources not found]}."""
    root = Path(root).resolve()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    with _cwd(root):
        from nbdev.config import get_config
        nbs = get_config().nbs_path
        site = read_site(nbs / "_quarto.yml")
        out = Path(out).resolve() if out else (root / site.output_dir)
        if out == root or out in root.parents or out == nbs or (out.is_dir() and any(out.iterdir()) and not (out / "index.html").exists()):
            raise DocsBuildError(f"refusing to replace {out}: not empty and not a previous build of the site")
        sources = _source_notebooks(nbs)
        say(f"processing {len(sources)} notebooks with nbdev (proc_nbs) ...")
        try: cache = process_notebooks(nbs, n_workers=n_workers)
        except Exception as e:
            raise DocsBuildError(f"nbdev's docs processing (proc_nbs) failed{_which_notebook(e, sources, nbs)}: {e}\n"
                                 "nbdev re-runs export cells, show_doc cells and every cell containing an `import` "
                                 "(nothing else): such a cell must not use names defined by lesson cells; "
                                 "keep imports in cells of their own.") from e
        site_url = _site_url()

    pages, bodies = {}, {}
    for src in sources:
        rel = src.relative_to(nbs).as_posix()
        proc = cache / rel
        if not proc.exists(): raise FileNotFoundError(f"nbdev did not process {rel}: {proc} missing")
        page, body = _render(proc, rel)
        pages[rel], bodies[rel] = page, body
        say(f"  {rel} -> {page.href} ({page.n_images} images)")

    missing = [s for s in site.sidebar_sources() if s not in pages]
    for s in missing: warnings.warn(f"_quarto.yml sidebar lists {s}, which does not exist in {nbs}: skipped", stacklevel=2)
    if not any(p.href == "index.html" for p in pages.values()):
        warnings.warn(f"{nbs}/index.ipynb not found: writing a plain index page", stacklevel=2)
        page, body = _fallback_index(site, [pages[s] for s in site.sidebar_sources() if s in pages])
        pages[page.source], bodies[page.source] = page, body

    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    # Non-notebook files nbdev copied to _proc (styles.css, images used by markdown cells).
    for f in cache.rglob("*"):
        r = f.relative_to(cache)
        if f.is_dir() or f.suffix in (".ipynb", ".yml", ".yaml") or any(p.startswith((".", "_")) for p in r.parts): continue
        (out / r).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, out / r)
    from pygments.formatters import HtmlFormatter
    (out / "site.css").write_text(_CSS + "\n" + HtmlFormatter(style="default").get_style_defs(".highlight"), encoding="utf-8")

    for rel, page in pages.items():
        body = _rewrite_links(bodies[rel], page, pages, site_url)
        css = "\n".join(f'<link rel="stylesheet" href="{html.escape(_rel(page.href, c))}">' for c in ["site.css", *site.css])
        is_index = page.href == "index.html"
        doc = _PAGE.format(
            title=html.escape(_plain(page.title) if is_index else f"{_plain(page.title)} - {site.title}"),
            description_attr=html.escape(page.description or site.description), css=css,
            index=html.escape(_rel(page.href, "index.html")), site_title=html.escape(site.title),
            sidebar=_sidebar(site, page, pages), h1=_inline_md(page.title),
            description=f'<div class="description">{_inline_md(page.description)}</div>' if page.description else "",
            body=body, toc=_toc(body) if site.toc else "")
        dest = out / page.href
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(doc, encoding="utf-8")
    (out / ".nojekyll").touch()
    say(f"wrote {len(pages)} pages to {out}")
    return {"out": out, "site": site, "pages": pages, "missing": missing}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output folder (default: _quarto.yml project.output-dir, i.e. _docs)")
    ap.add_argument("--n_workers", type=int, default=2, help="processes for nbdev's notebook processing")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    warnings.formatwarning = lambda msg, *args, **kw: f"warning: {msg}\n"
    try: res = build(a.out, n_workers=a.n_workers, quiet=a.quiet)
    except DocsBuildError as e: sys.exit(f"build_docs: {e}")
    print(res["out"])


if __name__ == "__main__":
    main()
