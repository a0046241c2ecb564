"""Output tables that scroll sideways instead of wrapping their cells.

pandas tables of intervals ("0.24 [0.18, 0.30]") wrapped into three lines per cell in
the theme's narrow content column; ``static/tables.css`` keeps each cell on one line,
and the output area scrolls when a table is wider than the page.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _add_static_path(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static_path)
    app.add_css_file("tables.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
