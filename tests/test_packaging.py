"""Pins, packaging and the chapter pairs: checks that cost nothing and catch drift."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book" / "chapters").glob("*.md"))


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, ver = line.partition("==")
            assert ver, f"not pinned exactly: {line!r}"
            pins[name.lower().replace("_", "-")] = ver
    return pins


def test_environment_yml_pins_the_same_versions_as_requirements():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == req
    assert "python=3.11" in env["dependencies"]


def test_tensorflow_only_in_the_local_install():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = meta["project"]["dependencies"] + sum(meta["project"]["optional-dependencies"].values(), [])
    assert not [d for d in deps if d.lower().startswith("tensorflow")]
    assert meta["project"]["name"] != "shared"
    assert "tensorflow-cpu" in _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_readme_gives_the_two_commands_and_ci_uses_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_toc_files_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
    for md in CHAPTERS:
        assert f"book/chapters/{md.stem}" in files, f"{md.name} is not in _toc.yml"


def test_no_page_of_the_book_holds_a_todo():
    pages = sorted((ROOT / "book").rglob("*.md")) + [ROOT / "README.md"]
    left = [f"{p.relative_to(ROOT)}:{n}" for p in pages
            for n, line in enumerate(p.read_text().splitlines(), 1) if "TODO" in line]
    assert not left, "unfinished text: " + ", ".join(left)


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_glued_name_in_the_prose_is_recorded_in_the_stored_notebook(md):
    text = md.read_text()
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    recorded = {o.get("metadata", {}).get("scrapbook", {}).get("name")
                for cell in nb.cells for o in cell.get("outputs", [])}
    missing = set(re.findall(r"\{glue:(?:text|md|figure)\}`(\w+)", text)) - recorded
    assert not missing, f"glued in the prose, never recorded: {sorted(missing)}"


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_pair_in_sync(md):
    """The .ipynb twin has exactly the cells of the MyST source (read only, no writing).
    After editing a .md, run `make sync` (or `make execute` to refresh outputs too)."""
    twin = md.with_suffix(".ipynb")
    assert twin.exists(), f"{twin.name} missing: run `make execute`"
    source = jupytext.read(md)
    stored = nbformat.read(twin, as_version=4)
    def cells(nb):
        return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", [])))
                for c in nb.cells]
    assert cells(source) == cells(stored), f"{md.name} and {twin.name} differ: run `make sync`"


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_outputs_are_stored(md):
    """The book shows stored outputs: every code cell of the twin has been executed."""
    stored = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    code = [c for c in stored.cells if c.cell_type == "code" and c.source.strip()]
    assert code and all(c.execution_count is not None for c in code), \
        f"{md.stem}.ipynb has unexecuted cells: run `make execute`"


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_setup_cell_installs_the_package_alone_from_the_configured_repository(md):
    """Colab: the first code cell installs the package only when it is missing, with
    --no-deps (Colab's TensorFlow and numpy stay), from the URL set once in _config.yml
    (`make sync` rewrites it)."""
    from tools.execute_chapters import INSTALL, repository_url
    first = next(c for c in jupytext.read(md).cells if c.cell_type == "code")
    assert "hide-cell" in first.metadata.get("tags", [])
    assert first.source.lstrip().startswith("# Setup") and "except ImportError:" in first.source
    found = INSTALL.findall(first.source)
    assert found and all(url == repository_url() for _, url, _ in found), \
        f"{md.name}: run `make sync` to point the install line at {repository_url()}"


def test_readme_lists_every_chapter_with_a_colab_badge_from_the_configured_repository():
    """The README's chapter table is written by `make sync` from _toc.yml and the
    repository URL of _config.yml: it must be current."""
    from tools.execute_chapters import BADGES, chapter_table, colab_url
    block = BADGES.search((ROOT / "README.md").read_text())
    assert block, "the README lost its chapter-table markers"
    assert block.group(2) == chapter_table(), "run `make sync` to update the README's table"
    for md in CHAPTERS:
        assert colab_url(md.stem) in block.group(2), md.stem


SHARED = ROOT / "shared"
SUBPACKAGES = sorted(p.parent.name for p in SHARED.glob("*/__init__.py"))
ALIASES = {"fv": "featurevis"}       # the chapters' `from shared import featurevis as fv`


def _exports(package: str) -> set[str]:
    """The names in ``__all__`` of shared/<package>/__init__.py (read, not imported)."""
    tree = ast.parse((SHARED / package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def _modules(package: str) -> set[str]:
    """The module files of shared/<package> (without __init__)."""
    return {p.stem for p in (SHARED / package).glob("*.py") if p.stem != "__init__"}


FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+shared((?:\.\w+)*)[ \t]+import[ \t]+"
                         r"(\([^)]*\)|[^\n]*)", re.M)
DOTTED_IMPORT = re.compile(r"^[ \t]*import[ \t]+shared\.\w+\.\w+", re.M)
MODULE_CHAIN = re.compile(r"(?<![\w.])(?:shared\.)?(methods|fv|featurevis|scorecard|data)"
                          r"\.(\w+)\.(?=[A-Za-z_])")
PRIVATE = re.compile(r"(?<![\w.])(?:shared\.)?"
                     r"(methods|fv|featurevis|scorecard|data|models|metrics|viz)\._[a-z]")


def _public_api_violations(text: str) -> list[tuple[int, str]]:
    """(offset, why) for each use of the package that is not its public API."""
    found = []
    for m in FROM_IMPORT.finditer(text):
        path = m.group(1).lstrip(".").split(".") if m.group(1) else []
        names = [n.split(" as ")[0].strip() for n in
                 re.sub(r"#[^\n]*", "", m.group(2)).strip("()").split(",")]
        names = [n for n in names if n]
        if len(path) > 1:
            found.append((m.start(), f"imports from a module inside shared.{path[0]}"))
        elif path and path[0] in SUBPACKAGES:
            hidden = [n for n in names if n not in _exports(path[0])]
            if hidden:
                found.append((m.start(), f"{hidden} not in shared.{path[0]}.__all__"))
        elif any(n.startswith("_") and not n.startswith("__") for n in names):
            found.append((m.start(), "imports a private name"))
    for m in DOTTED_IMPORT.finditer(text):
        found.append((m.start(), "imports a module inside a subpackage"))
    for m in MODULE_CHAIN.finditer(text):
        package = ALIASES.get(m.group(1), m.group(1))
        if m.group(2) in _modules(package) and m.group(2) not in _exports(package):
            found.append((m.start(), f"reaches into the module shared.{package}.{m.group(2)}"))
    for m in PRIVATE.finditer(text):
        found.append((m.start(), "uses a private name of the package"))
    return found


def test_chapters_tools_and_tests_use_only_the_public_api():
    """Chapters, tools and tests use what the package exports: `from shared import X`,
    `from shared.<subpackage> import X` with X in its `__all__`, attributes of those;
    never a module inside a subpackage (`from shared.<subpackage>.<module> import`,
    `<subpackage>.<module>.<name>`) and never a name starting with an underscore. (Tests
    that must put a spy where the package looks a function up reach its module through
    `inspect.getmodule(<exported function>)`.)"""
    files = (CHAPTERS + sorted((ROOT / "tests").glob("*.py"))
             + sorted((ROOT / "tools").rglob("*.py")))
    assert len(files) > 30 and len(SUBPACKAGES) >= 4
    violations = []
    for path in files:
        text = path.read_text()
        for offset, why in _public_api_violations(text):
            line = text.count("\n", 0, offset) + 1
            violations.append(f"{path.relative_to(ROOT)}:{line}: {why}: "
                              f"{text.splitlines()[line - 1].strip()}")
    assert not violations, "not the public API:\n" + "\n".join(violations)


def test_importing_the_package_then_alibi_prints_nothing_from_python():
    # A chapter cell that writes to stderr fails under nbval. TensorFlow's C++ start-up
    # lines (absl/glog format) go to the process's stderr, not to a cell's output; any
    # other line here (a Python warning or log) would land in the cell.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("USE_TF", None)
    env.pop("TRANSFORMERS_NO_ADVISORY_WARNINGS", None)
    done = subprocess.run([sys.executable, "-c", "import shared.methods, alibi"],
                          capture_output=True, text=True, env=env, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    native = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} )")
    python = [line for line in done.stderr.splitlines() if line and not native.match(line)]
    assert python == []
