"""The built site: the book builds with warnings as errors, every page of the table of
contents exists, every chapter shows its figures, and no internal link or image is broken.
The `site` fixture (tests/conftest.py) builds the book once per run, for this module and
test_browser.py."""

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])


def _parse(page: Path) -> _Links:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def test_every_toc_page_is_built(site):
    for page in _toc_pages():
        assert (site / f"{page}.html").is_file(), page


def test_chapters_show_their_figures(site):
    for page in _toc_pages():
        if not page.startswith("book/chapters/"):
            continue
        html = site / f"{page}.html"
        images = [s for s in _parse(html).images if not s.startswith(("http", "data:"))
                  and "logo" not in s]
        assert images, f"{page}: no figure"
        for src in images:
            assert (html.parent / unquote(src)).is_file(), f"{page}: missing image {src}"


def test_no_broken_internal_link_or_image(site):
    broken = []
    for html in site.rglob("*.html"):
        if "_static" in html.parts or "_sources" in html.parts:
            continue
        p = _parse(html)
        for ref in p.images + p.links:
            u = urlparse(ref)
            if u.scheme or ref.startswith(("#", "mailto:", "//")) or not u.path:
                continue
            if not (html.parent / unquote(u.path)).exists():
                broken.append(f"{html.relative_to(site)} -> {ref}")
    assert not broken, broken[:20]


def test_linkchecker_finds_no_broken_internal_link(site):
    """linkchecker over the site served on loopback (as root it drops privileges to
    'nobody', which cannot read pytest's private temporary folder)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        result = subprocess.run(
            [shutil.which("linkchecker", path=str(BIN)), "--no-status", "--no-warnings",
             "--no-robots", r"--ignore-url=^https?://(?!127\.0\.0\.1:)", url + "index.html"],
            capture_output=True, text=True, timeout=600)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b0 errors found", result.stdout), result.stdout[-3000:]
    checked = int(re.search(r"(\d+) links? in", result.stdout).group(1))
    assert checked > 50, result.stdout[-1000:]       # it really crawled the site
