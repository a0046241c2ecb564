"""Ship MathJax with the site, so that equations render with no network.

Sphinx loads MathJax 3 from a CDN by default: opened offline (a laptop, a classroom,
`_build/html` from `file://`) every equation would stay raw LaTeX. This extension
copies MathJax from the pinned PyPI wheel `django-static-mathjax` (MathJax 3.2.2, the
version the CDN served; a data-only wheel: it needs no Django, its import package is
`mathjax`) into the build's `_static/mathjax/` and points `mathjax_path` at it.

What is copied: the `tex-mml-chtml.js` component (Sphinx's default: TeX and MathML
input, CommonHTML output), the CHTML web fonts it loads (`output/chtml/fonts/woff-v2`),
and the folders MathJax loads on demand (TeX extensions such as `boldsymbol`, the
accessibility and menu code, the speech rule maps), plus MathJax's licence (Apache-2.0).
"""

import shutil
from importlib import metadata, resources
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

DISTRIBUTION = "django-static-mathjax"
COMPONENT = "tex-mml-chtml.js"
ON_DEMAND = ("a11y", "adaptors", "input", "output", "sre", "ui")
TARGET = "mathjax"  # under the build's _static/

logger = logging.getLogger(__name__)


def mathjax_root() -> Path:
    """The MathJax distribution inside the installed wheel (holds es5/ and LICENSE)."""
    try:
        root = Path(str(resources.files("mathjax"))) / "static" / "mathjax"
    except ModuleNotFoundError:
        root = None
    if root is None or not (root / "es5" / COMPONENT).is_file():
        raise ExtensionError(
            f"MathJax not found: install the pinned `{DISTRIBUTION}` from requirements.txt "
            "(the site must not load MathJax from a CDN)")
    return root


def _use_local_copy(app, config):
    config.mathjax_path = f"{TARGET}/{COMPONENT}"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    src, dest = mathjax_root(), Path(app.outdir) / "_static" / TARGET
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "es5" / COMPONENT, dest)
    shutil.copy2(src / "LICENSE", dest)
    for sub in ON_DEMAND:
        shutil.copytree(src / "es5" / sub, dest / sub, dirs_exist_ok=True)
    logger.info("MathJax from %s %s copied to %s",
                DISTRIBUTION, metadata.version(DISTRIBUTION), dest)


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    mathjax_root()  # fail at once, not after the whole build, when it is missing
    app.connect("config-inited", _use_local_copy, priority=900)
    app.connect("build-finished", _copy_mathjax)
    return {"version": metadata.version(DISTRIBUTION),
            "parallel_read_safe": True, "parallel_write_safe": True}
