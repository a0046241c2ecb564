"""Set up a chapter notebook: quiet TensorFlow start-up, one plotting style."""

from __future__ import annotations

import contextlib
import os
import re
import sys


@contextlib.contextmanager
def _stderr_silenced():
    """Send the process's file descriptor 2 to /dev/null (C++ logs bypass sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up log; keep its Python logger to errors.

    TensorFlow's C++ runtime prints timestamped start-up messages to the process's
    stderr (no environment variable silences all of them in TF 2.21); in a notebook they
    would become volatile output. Everything after start-up is left untouched.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _stderr_silenced():
        import tensorflow as tf
        tf.constant(0.0) + 1.0   # first op: initialises the runtime, which logs once more
    tf.get_logger().setLevel("ERROR")


_SCENES = "its subject is the book's generated scenes"
_NOT_YET = "it is not adapted to other images yet: "
CHAPTERS = {
    "data_and_model": f"{_SCENES} (the generator, its masks, the book's training run)",
    "saliency": None,
    "gradcam": None,
    "cam_family": None,
    "guided_backprop": None,
    "integrated_gradients": None,
    "shap": None,
    "occlusion": None,
    "lime": None,
    "rise": None,
    "anchors": None,
    "activation_maximization": _NOT_YET + "its visualizations are read against the book's "
                                          "classes (Cowpox, Healthy) and their test images",
    "deep_dream": _NOT_YET + "its dreams are made at layers of the book's depth (block6, "
                             "block8) and read against the book's classes (Measles, "
                             "Cowpox, Healthy) and their lesions",
    "concepts": f"{_SCENES} (the concept sets are drawn by the generator, and each "
                "concept's effect is measured by removing it and redrawing the scene)",
    "counterfactuals": f"{_SCENES} (its edits remove and redraw scene elements)",
    "measuring": f"{_SCENES} (its ground truth is made by redrawing them)",
    "comparison": f"{_SCENES} (the scorecard's 200 generated images and the book's "
                  "experiment checkpoints)",
    "your_own_model": "it shows the workflow itself, on a folder it writes",
}
"""Each chapter, and whether it runs on a reader's model (``BOOK_MODEL``,
:mod:`shared.setting`): ``None`` where it does, else why it does not."""


def setup(chapter: str | None = None) -> None:
    """Import TensorFlow quietly (:func:`quiet_tensorflow`) and set the book's figure
    defaults.

    ``chapter`` (a key of :data:`CHAPTERS`): while ``BOOK_MODEL`` is set, print which
    model and images the chapter runs on, or raise :class:`shared.setting.SettingError`
    with the reason for a chapter that needs the book's own data, before anything runs.
    """
    from .setting import SettingError, own_model
    if chapter is not None and chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; expected one of {sorted(CHAPTERS)}")
    own = own_model()
    if own is not None and chapter is not None:
        if CHAPTERS[chapter] is not None:
            raise SettingError(f"BOOK_MODEL is set, but this chapter runs on the book's model "
                               f"only: {CHAPTERS[chapter]}. Unset BOOK_MODEL to run it.")
        print(own.describe())
        _skip_cells_that_need_the_books_data()
    quiet_tensorflow()
    import matplotlib as mpl
    # 96 dpi: a figure of viz.PAGE_WIDTH inches fills the page's text column at full size.
    mpl.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "font.size": 10,
                         "axes.titlesize": 10, "legend.fontsize": 9})


def glue(name: str, value, digits: int | None = None):
    """Keep a number for the chapter's text (myst-nb's ``glue``): the text shows it with
    ``{glue:text}`name```, so retraining cannot leave the prose behind the figures.

    ``digits``: round to this many decimals first, the digits that survive another CPU.
    Returns nothing, so a cell may end with it and show no output (under nbval too,
    which does not honour a trailing ``;``). Outside the book's build (e.g. on Colab,
    without myst-nb) it does nothing.
    """
    if digits is not None:
        value = round(float(value), digits)
        value = int(value) if digits <= 0 else value
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)


def listed(names, empty: str = "none"):
    """``names`` as inline code, comma-separated, for the prose (``{glue:md}``): a
    Markdown object; ``empty`` when there is none."""
    from IPython.display import Markdown
    return Markdown(", ".join(f"`{n}`" for n in names) if len(names) else empty)


BOOK_DATA = re.compile(r"#\s*needs the book's data:\s*(?P<what>.+?)\s*$")
"""A cell whose first line matches (``# needs the book's data: the lesion masks``) is
skipped while ``BOOK_MODEL`` is set: it prints that it was skipped and why instead."""


def skip_if_needs_books_data(lines: list[str]) -> list[str]:
    """An IPython input transformer (:data:`BOOK_DATA`): a marked cell's lines replaced by
    one ``print`` of why it is skipped; any other cell unchanged."""
    first = next((line.strip() for line in lines if line.strip()), "")
    marked = BOOK_DATA.fullmatch(first)
    if marked is None:
        return lines
    why = f"Skipped on your images: this cell needs the book's data ({marked['what']})."
    return [f"print({why!r})\n"]


def _skip_cells_that_need_the_books_data() -> None:
    from IPython import get_ipython
    shell = get_ipython()
    if shell is not None and skip_if_needs_books_data not in shell.input_transformers_post:
        shell.input_transformers_post.append(skip_if_needs_books_data)
