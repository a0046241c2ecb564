"""Set up a chapter notebook: quiet TensorFlow start-up, one plotting style."""

from __future__ import annotations

import contextlib
import os
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


def setup() -> None:
    """Import TensorFlow quietly (:func:`quiet_tensorflow`) and set the book's figure
    defaults."""
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
