"""The built site in a real browser: headless Chromium opens every page of the table of
contents from `file://` (the site copied to a laptop, no network) and from a loopback
HTTP server, and checks what a reader sees: every image loaded, every equation
typeset by the MathJax shipped with the site (no raw LaTeX left), MathJax's web fonts
loaded, no error in the console, and no request leaving the machine. A screenshot of
each page lands in `_build/screenshots/` (light, and a chapter in dark mode too).

Chromium is driven over the DevTools protocol through a pipe (`--remote-debugging-pipe`,
as Puppeteer and Playwright do): no driver binary, no Python dependency. `make test`
installs Debian's `chromium` when it is missing; the CHROMIUM variable names another
binary. `python tests/test_browser.py` (`make screenshots`) writes the two README
screenshots under `book/_static/screenshots/`.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import http.server
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README_SCREENSHOTS = ROOT / "book" / "_static" / "screenshots"
WIDTH, HEIGHT = 1280, 900
MAX_SHOT_HEIGHT = 40000  # full-page screenshots (the longest chapter is ~28000 px)
DARK_PAGE = "book/chapters/gradcam"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    "--force-device-scale-factor=1", "--disable-features=Translate,MediaRouter",
    # Every host but loopback resolves to nothing: a page that needs the network fails
    # here exactly as it would offline, even on a machine that has a network.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def chromium_binary() -> str:
    name = os.environ.get("CHROMIUM", "chromium")
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name!r} not found: `make test` installs Debian's chromium "
                           "(or set CHROMIUM to a Chromium/Chrome binary)")
    return found


class Chromium:
    """A headless Chromium and one tab, spoken to in DevTools-protocol JSON over a pipe
    (messages end with a NUL byte; Chromium reads fd 3 and writes fd 4)."""

    def __init__(self, binary: str | None = None, width: int = WIDTH, height: int = HEIGHT):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self._log = tempfile.TemporaryFile()  # Chromium's stderr, shown if it dies
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Above fd 9, so that the redirections to fds 3 and 4 cannot overwrite them.
        for fd in (to_chrome_r, from_chrome_w):
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            if fd == to_chrome_r:
                to_chrome_r = high
            else:
                from_chrome_w = high
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}',
             binary or chromium_binary(), *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._id, self.events, self.session = b"", 0, [], None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.set_viewport(width, height)

    # -- protocol -------------------------------------------------------------------
    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                self._log.seek(0)
                tail = self._log.read().decode(errors="replace")[-3000:]
                raise RuntimeError(f"Chromium exited (code {self.proc.poll()}):\n{tail}")
            self._buf += chunk
        message, _, self._buf = self._buf.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_chrome, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for message in self.events[seen:]:
                if message.get("method") == event:
                    return message["params"]
            seen = len(self.events)
            self.events.append(self._read(deadline))

    def evaluate(self, expression: str, timeout: float = 30):
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    # -- pages ----------------------------------------------------------------------
    def set_viewport(self, width: int, height: int):
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def color_scheme(self, scheme: str):
        """'light' or 'dark': the theme follows the system setting (its default mode)."""
        self.send("Emulation.setEmulatedMedia",
                  {"features": [{"name": "prefers-color-scheme", "value": scheme}]})

    def _navigate(self, url: str, timeout: float) -> str:
        self.events.clear()
        nav = self.send("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise RuntimeError(f"{url}: {nav['errorText']}")
        self.wait_for("Page.loadEventFired", timeout)
        return nav["loaderId"]

    def open(self, url: str, timeout: float = 30) -> dict:
        """Load a page, wait for MathJax, images and fonts, and report what the browser saw."""
        # A blank page first, so that nothing late from the previous page (its favicon,
        # an async script) is taken for this one; requests are also matched by loader.
        self._navigate("about:blank", timeout)
        loader = self._navigate(url, timeout)
        report = self.evaluate(INSPECT_JS, timeout)
        report["url"] = url
        report["console_errors"], report["requests"], report["failed"] = [], [], []
        urls = {}
        for m in self.events:
            method, p = m.get("method"), m.get("params", {})
            if method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                report["console_errors"].append(" ".join(
                    str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                report["console_errors"].append(d.get("exception", {}).get("description")
                                                or d.get("text"))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                e = p["entry"]
                if e.get("url", "").endswith("/favicon.ico"):
                    continue  # the browser's own guess (the site names no icon)
                report["console_errors"].append(f"{e['text']} {e.get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                if p.get("loaderId") != loader:
                    continue
                urls[p["requestId"]] = p["request"]["url"]
                report["requests"].append(p["request"]["url"])
            elif (method == "Network.loadingFailed" and p["requestId"] in urls
                  and not p.get("canceled")):
                report["failed"].append(f"{urls[p['requestId']]}: {p['errorText']}")
        return report

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        height = HEIGHT
        if full_page:
            height = min(MAX_SHOT_HEIGHT, max(HEIGHT, self.evaluate(
                "Math.ceil(document.documentElement.scrollHeight)")))
        self.set_viewport(WIDTH, height)
        try:
            shot = self.send("Page.captureScreenshot", {"format": "png"}, timeout=60)
        finally:
            self.set_viewport(WIDTH, HEIGHT)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# Runs in the page once its load event fired: waits for MathJax's first typeset and for
# the fonts, then reports images, leftover LaTeX, math elements and fonts.
INSPECT_JS = r"""
(async () => {
  const mj = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
  if (mj) await Promise.race([mj, new Promise(r => setTimeout(r, 20000))]);
  const images = [...document.images];
  for (const i of images) if (i.loading === "lazy") i.loading = "eager";
  await Promise.all(images.map(i => i.complete ? null : new Promise(done => {
    i.addEventListener("load", done); i.addEventListener("error", done);
    setTimeout(done, 10000);
  })));
  await document.fonts.ready;
  const skip = "script, style, pre, code, textarea, mjx-container";
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const t = n.nodeValue;
    const i = t.search(/\\\(|\\\[|\$\$|\\begin\{/);
    if (i >= 0) raw.push(t.slice(Math.max(0, i - 20), i + 60).replace(/\s+/g, " "));
  }
  const fonts = [...document.fonts];
  return {
    title: document.title,
    theme: document.documentElement.dataset.theme || "",
    images: images.length,
    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0))
                         .map(i => i.getAttribute("src")),
    raw_latex: raw,
    mathjax_loaded: !!mj,
    math_sources: document.querySelectorAll(".math").length,
    math_rendered: document.querySelectorAll("mjx-container").length,
    math_errors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    mathjax_fonts_loaded: fonts.filter(f => /^MJX/.test(f.family) && f.status === "loaded")
                               .map(f => f.family),
    fonts_failed: fonts.filter(f => f.status === "error").map(f => f.family),
  };
})()
"""


def local(url: str, origin: str | None) -> bool:
    return url.startswith(("file://", "data:", "blob:", "about:")) or bool(
        origin and url.startswith(origin))


def problems(report: dict, origin: str | None = None) -> list[str]:
    """What is wrong with a page, as a reader would notice it (empty: nothing)."""
    found = [f"image not loaded: {src}" for src in report["broken_images"]]
    found += [f"raw LaTeX in the text: {t!r}" for t in report["raw_latex"]]
    if report["math_sources"]:
        if not report["mathjax_loaded"]:
            found.append("the page has math but MathJax did not load")
        if report["math_rendered"] < report["math_sources"]:
            found.append(f"{report['math_sources']} math elements, only "
                         f"{report['math_rendered']} typeset by MathJax")
        if not report["mathjax_fonts_loaded"]:
            found.append("no MathJax web font loaded")
    if report["math_errors"]:
        found.append(f"{report['math_errors']} MathJax errors (bad LaTeX)")
    found += [f"font failed to load: {f}" for f in report["fonts_failed"]]
    found += [f"console error: {e}" for e in report["console_errors"]]
    found += [f"request failed: {f}" for f in report["failed"]]
    found += [f"request leaves the machine: {u}" for u in report["requests"]
              if not local(u, origin)]
    return found


def slug(page: str) -> str:
    return page.replace("book/", "").replace("/", "-")


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    chrome = Chromium()
    yield chrome
    chrome.close()


@pytest.fixture(scope="module")
def server(site):
    """The site on a loopback HTTP server; yields its origin."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def reports():
    """What the browser saw on each page opened from file://, by page."""
    return {}


# -- tests ----------------------------------------------------------------------------
@pytest.mark.parametrize("page", toc_pages())
def test_page_renders_offline_from_file(site, browser, screenshots_dir, reports, page):
    """The site opened from disk with no network: what a reader sees on a laptop."""
    report = reports[page] = browser.open((site / f"{page}.html").as_uri())
    browser.screenshot(screenshots_dir / f"{slug(page)}.png")
    assert not problems(report), f"{page}: " + "\n".join(problems(report))
    if page.startswith("book/chapters/"):
        assert report["images"] >= 2, f"{page}: {report['images']} images"


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders_from_a_local_server(site, browser, server, page):
    report = browser.open(f"{server}/{page}.html")
    assert not problems(report, server), f"{page}: " + "\n".join(problems(report, server))
    assert any(u.startswith(server) for u in report["requests"])


def test_chapters_with_equations_typeset_them(site, browser, reports):
    """The math checks are not vacuous: chapters have equations, and MathJax typeset
    every one of them (counts of math elements and of MathJax's output, per page)."""
    counts = {}
    for page in toc_pages():
        r = reports.get(page) or browser.open((site / f"{page}.html").as_uri())
        counts[page] = (r["math_sources"], r["math_rendered"])
    with_math = {p: c for p, c in counts.items() if c[0]}
    assert with_math, counts
    assert all(rendered >= n for n, rendered in with_math.values()), with_math


def test_dark_mode(site, browser, screenshots_dir):
    """The theme follows the system's dark mode; figures keep their own opaque background
    (a transparent figure would put black text and axes on the dark page)."""
    url = (site / f"{DARK_PAGE}.html").as_uri()
    try:
        for scheme in ("light", "dark"):
            browser.color_scheme(scheme)
            report = browser.open(url)
            assert report["theme"] == scheme, report["theme"]
            assert not problems(report), problems(report)
            browser.screenshot(screenshots_dir / "theme" / f"{slug(DARK_PAGE)}-{scheme}.png")
    finally:
        browser.color_scheme("light")
    for png in (site / "_images").glob("*.png"):
        alpha = np.asarray(Image.open(png).convert("RGBA"))[..., 3]
        assert (alpha < 255).mean() < 0.01, f"{png.name}: transparent background"


def test_the_checks_catch_a_broken_page(site, browser, tmp_path):
    """The checks fail for real problems: a copy of a chapter with a missing figure, its
    MathJax script gone (raw LaTeX left) and a script from a CDN."""
    copy = tmp_path / "site"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("_sources", "mathjax"))
    page = copy / "book" / "chapters" / "saliency.html"
    html = page.read_text(encoding="utf-8")
    img = html.index('src="../../_images/') + len('src="')
    html = html[:img] + "missing-" + html[img:]
    html = html.replace('src="../../_static/mathjax/tex-mml-chtml.js"',
                        'src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"')
    page.write_text(html, encoding="utf-8")
    found = "\n".join(problems(browser.open(page.as_uri())))
    assert "image not loaded: missing-" in found, found
    assert "raw LaTeX in the text" in found, found
    assert "MathJax did not load" in found, found
    assert "console error: Failed to load resource" in found, found
    assert "request leaves the machine: https://cdn.jsdelivr.net/" in found, found


# -- README screenshots: `make screenshots` (python tests/test_browser.py) --------------
STILL_JS = """
const style = document.createElement("style");
style.textContent = "*, *::before, *::after { transition: none !important; " +
                    "animation: none !important; caret-color: transparent !important; }";
document.head.appendChild(style);
document.activeElement && document.activeElement.blur();
"""


def readme_screenshots(html_dir: Path, out: Path = README_SCREENSHOTS) -> list[Path]:
    """Light-mode screenshots (1280x900) of the intro and of a chapter at its first
    figure, for the README."""
    chrome = Chromium()
    saved = []
    try:
        for page, name, scroll_to in (("book/intro", "intro", None),
                                      (DARK_PAGE, "chapter", "img[src*='_images/']")):
            report = chrome.open((html_dir / f"{page}.html").as_uri())
            assert not problems(report), problems(report)
            chrome.evaluate(STILL_JS)  # the same pixels on every run
            if scroll_to:
                chrome.evaluate(f"document.querySelector({scroll_to!r})"
                                ".scrollIntoView({block: 'center'})")
            time.sleep(0.5)
            saved.append(chrome.screenshot(out / f"{name}.png", full_page=False))
    finally:
        chrome.close()
    return saved


if __name__ == "__main__":
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build",
                            str(ROOT), "-W", "-n", "--keep-going"])
    if build.returncode:
        sys.exit(build.returncode)
    for path in readme_screenshots(ROOT / "_build" / "html"):
        print(path.relative_to(ROOT))
