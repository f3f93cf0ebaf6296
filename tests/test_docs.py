"""The offline documentation site (tools/build_docs.py), checked in a real browser.

Builds the site into a temp folder, serves it on 127.0.0.1 and opens pages in headless Chromium
(Debian's `chromium`, driven by Playwright): the pages load, their images really decode, the sidebar's
links resolve, and nothing is fetched from another host. Skipped only when chromium is not installed
(`apt-get install -y chromium`).
"""
import functools
import html
import importlib.util
import json
import re
import shutil
import sys
import threading
import urllib.request
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
CHAPTERS = [f"{i:02d}_" for i in range(10)]   # 00_problem ... 09_workflow
REPORT = "06a_report.ipynb"   # the page that shows the evaluation report with its figures and the SHAP plots
# 06a_report.ipynb stores the churn model's final-test report, whose HTML embeds 9 figures (confusion matrix, ROC,
# precision-recall, calibration, gain, SHAP contrasts and beeswarms); 06_evaluation.ipynb keeps the 4 display figures.
MIN_EVAL_IMAGES = 5
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _load_build_docs():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "tools" / "build_docs.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


def _h1_and_subtitle(nb_path: Path) -> tuple[str, str]:
    "The notebook's `# Title` and `> subtitle` (first markdown cell that has an H1)."
    for cell in json.loads(nb_path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown": continue
        src = "".join(cell["source"])
        m = re.search(r"^#\s+(.+)$", src, re.M)
        if m:
            sub = re.search(r"^>\s*(.+)$", src, re.M)
            return m.group(1).strip(), (sub.group(1).strip() if sub else "")
    return "", ""


def _text(s: str) -> str: return " ".join(html.unescape(re.sub(r"<[^>]+>", "", s)).split())


def _md_text(s: str) -> str:
    "Plain text of one line of markdown: links, code and emphasis marks dropped."
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    return _text(re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", s))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    with warnings.catch_warnings():   # chapters not written yet: test_a_page_per_notebook checks `missing`
        warnings.simplefilter("ignore")
        return _load_build_docs().build(tmp_path_factory.mktemp("site") / "_docs", root=ROOT, quiet=True)


@pytest.fixture(scope="module")
def base_url(built):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built["out"])))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    exe = shutil.which("chromium")
    if exe is None: pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page_for(built, source: str):
    page = built["pages"].get(source)
    assert page is not None, f"no page built for {source}"
    return page


# ------------------------------------------------------------------- the build (no browser needed)
def test_site_settings_come_from_quarto_yml(built):
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    site = built["site"]
    assert site.title == cfg["website"]["title"]
    assert site.output_dir == cfg["project"]["output-dir"]
    listed = [o for o in site.sidebar_sources()]
    def flat(items):
        for o in items:
            if isinstance(o, str): yield o
            elif isinstance(o, dict): yield from flat(o.get("contents", []))
    assert listed == list(flat(cfg["website"]["sidebar"]["contents"]))


def test_a_page_per_notebook(built):
    out = built["out"]
    existing = sorted(p.relative_to(NBS).as_posix() for p in NBS.glob("*.ipynb"))
    for src in existing:
        assert (out / _page_for(built, src).href).is_file(), src
    assert (out / "index.html").is_file()
    chapters = [s for s in existing if s[:3] in CHAPTERS]
    assert chapters, "no chapter notebooks in nbs/"
    # every chapter 00-09 that exists in nbs/ has a page and a place in the sidebar
    listed = built["site"].sidebar_sources()
    for src in chapters: assert src in listed, f"{src} is not in _quarto.yml's sidebar"
    assert built["missing"] == [s for s in listed if not (NBS / s).exists()]


def test_titles_and_descriptions_from_h1_and_subtitle(built):
    for src, page in built["pages"].items():
        if not (NBS / src).exists(): continue
        h1, sub = _h1_and_subtitle(NBS / src)
        doc = (built["out"] / page.href).read_text(encoding="utf-8")
        got_h1 = _text(re.search(r'<h1 class="title">(.*?)</h1>', doc, re.S).group(1))
        if h1: assert _md_text(got_h1) == _md_text(h1), (src, got_h1, h1)
        if sub:
            desc = re.search(r'<div class="description">(.*?)</div>', doc, re.S)
            assert desc and _text(desc.group(1)) == _md_text(sub), (src, desc and desc.group(1), sub)


def test_no_hidden_cells_no_directives_no_external_assets(built):
    for page in built["pages"].values():
        doc = (built["out"] / page.href).read_text(encoding="utf-8")
        assert "from fastcore.test import" not in doc, f"{page.href}: a #| hide cell leaked"
        inputs = re.findall(r'<div class="input_area">(.*?)</div>', doc, re.S)
        leaked = [i for i in inputs if re.search(r"^\s*#\|", html.unescape(re.sub(r"<[^>]+>", "", i)), re.M)]
        assert not leaked, f"{page.href}: cell directives left in code: {leaked[:1]}"
        remote = re.findall(r'<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"', doc)
        assert not remote, f"{page.href} fetches from other hosts: {remote[:3]}"
        assert "<script" not in doc, f"{page.href}: pages need no JavaScript"


# ------------------------------------------------------------------- in the browser
def _open(browser, url):
    "Open `url`; return (page, response, off-host requests)."
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    page = ctx.new_page()
    remote = []
    host = re.match(r"^(https?://[^/]+)/", url).group(1)
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith((host, "data:")) else None)
    resp = page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, resp, remote


def _check_page(browser, base_url, built, page_info, min_images=0):
    page, resp, remote = _open(browser, base_url + page_info.href)
    try:
        assert resp is not None and resp.status == 200
        assert _md_text(page_info.title) in page.title()
        assert page.locator("h1.title").inner_text().strip() == _md_text(page_info.title)
        assert not remote, f"{page_info.href} made requests off 127.0.0.1: {remote[:3]}"
        imgs = page.eval_on_selector_all(
            "img", "els => els.map(e => ({ok: e.complete && e.naturalWidth > 0, w: e.naturalWidth,"
                   " src: (e.getAttribute('src') || '').slice(0, 60),"
                   " label: e.alt + ' ' + ((e.closest('figure, .cell') || {}).innerText || '')}))")
        broken = [i for i in imgs if not i["ok"]]
        assert not broken, f"{page_info.href}: images that did not load: {broken}"
        assert len(imgs) >= min_images, f"{page_info.href}: {len(imgs)} images, expected at least {min_images}"
        # the sidebar links every chapter that exists, in _quarto.yml's order, and every link resolves
        links = page.eval_on_selector_all("nav.sidebar ul a", "els => els.map(e => [e.href, e.textContent.trim()])")
        hrefs = [h for h, _ in links]
        want = [base_url + built["pages"][s].href for s in built["site"].sidebar_sources() if s in built["pages"]]
        assert [h for h in hrefs if h in want] == want
        for h in set(hrefs):
            with urllib.request.urlopen(h.split("#")[0], timeout=10) as r: assert r.status == 200, h
        return imgs
    finally:
        page.context.close()


def test_index_page_in_browser(browser, base_url, built):
    index = next(p for p in built["pages"].values() if p.href == "index.html")
    _check_page(browser, base_url, built, index)


def test_report_page_in_browser(browser, base_url, built):
    if not (NBS / REPORT).exists(): pytest.skip(f"nbs/{REPORT} is not written yet")
    imgs = _check_page(browser, base_url, built, _page_for(built, REPORT), min_images=MIN_EVAL_IMAGES)
    assert all(i["w"] >= 100 for i in imgs), [i["src"] for i in imgs if i["w"] < 100]   # real plots, not icons
    assert any("SHAP" in i["label"] for i in imgs), "no SHAP plot (by alt text or caption) on the report page"


def test_eda_page_shows_the_profile_charts(browser, base_url, built):
    "The 02 page shows the churn profile: its seaborn figures, and the profile page's inline SVG chart of every column."
    _check_page(browser, base_url, built, _page_for(built, "02_eda.ipynb"), min_images=4)
    page, _, _ = _open(browser, base_url + _page_for(built, "02_eda.ipynb").href)
    try:
        boxes = page.eval_on_selector_all("svg[role=img]", "els => els.map(e => {const r = e.getBoundingClientRect();"
                                          " return {w: r.width, h: r.height, t: e.querySelector('title').textContent}})")
    finally:
        page.context.close()
    charted = [b for b in boxes if b["t"].endswith(("histogram of every row", "most frequent values"))]
    assert len(charted) == 20, [b["t"] for b in charted]          # 21 churn columns, all but the customerID identifier
    assert all(b["w"] > 100 and b["h"] > 10 for b in charted), charted


def test_every_chapter_page_in_browser(browser, base_url, built):
    "Every chapter page loads with all its images (the report page is checked in detail above)."
    for src in built["site"].sidebar_sources():
        if src in built["pages"] and src != REPORT:
            _check_page(browser, base_url, built, built["pages"][src])
