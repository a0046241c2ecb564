"""The methods' schematic diagrams (tools/diagrams.py): every one is drawn, described
and captioned, and the committed SVGs in book/_static/diagrams/ are exactly what the
code draws (`make diagrams` rewrites them). No model: seconds."""

import os
import subprocess
import sys

import pytest
from matplotlib.figure import Figure

from tools import diagrams, other_cpu

COMMITTED = diagrams.OUT


def test_every_diagram_has_a_figure_alt_text_and_caption():
    assert len(diagrams.NAMES) == len(set(diagrams.NAMES)) == 14
    assert set(diagrams.ALT) == set(diagrams.CAPTIONS) == set(diagrams.NAMES)
    for texts in (diagrams.ALT, diagrams.CAPTIONS):
        values = [texts[name].strip() for name in diagrams.NAMES]
        assert all(values) and len(set(values)) == len(values)
    assert not set(diagrams.ALT.values()) & set(diagrams.CAPTIONS.values())
    for name in diagrams.NAMES:
        assert isinstance(diagrams.draw(name), Figure)


@pytest.mark.parametrize("name", diagrams.NAMES)
def test_committed_svg_is_what_the_code_draws(name, tmp_path):
    committed = COMMITTED / f"{name}.svg"
    assert committed.exists(), f"{committed} missing: run `make diagrams`"
    assert committed.stat().st_size < 300_000
    fresh = diagrams.save(name, tmp_path).read_bytes()
    assert fresh == committed.read_bytes(), (
        f"{committed.name} is not what tools/diagrams.py draws: run `make diagrams`")


def test_same_bytes_on_another_cpus_code_paths(tmp_path):
    """Superpixels, noise and blurs give the same pixels with numpy's vector code off
    (what a reader's CPU may do): the committed files stay valid on other machines."""
    names = ["lime", "saliency"]
    env = other_cpu.environment({**os.environ, "PYTHONHASHSEED": "1"})
    subprocess.run([sys.executable, "-m", "tools.diagrams", "--out", str(tmp_path), *names],
                   check=True, env=env, cwd=diagrams.ROOT, capture_output=True)
    for name in names:
        assert (tmp_path / f"{name}.svg").read_bytes() == (COMMITTED / f"{name}.svg").read_bytes()


def test_unknown_name_lists_the_valid_ones(capsys):
    with pytest.raises(ValueError) as error:
        diagrams.draw("gradcam++")
    assert all(name in str(error.value) for name in diagrams.NAMES)
    with pytest.raises(SystemExit) as stop:
        diagrams.main(["gradcam++"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "gradcam++" in err and all(name in err for name in diagrams.NAMES)


@pytest.mark.parametrize("name", diagrams.NAMES)
def test_each_chapter_embeds_its_diagram_with_the_alt_text(name):
    chapter = (diagrams.ROOT / "book" / "chapters" / f"{name}.md").read_text()
    block = diagrams.figure_directive(name)
    assert chapter.count(block) == 1, (
        f"book/chapters/{name}.md should hold tools.diagrams.figure_directive({name!r}) "
        "once, verbatim")
    assert (COMMITTED / f"{name}.svg").exists()
