"""Shared fixtures and the rule for external tools: skip locally with a reason, fail in CI.

The command line is tested in process: ``cli(...)`` calls ``derive.cli.main`` and returns its
exit code with what it wrote to stdout and stderr; ``one_line_error`` checks the single-line
error every bad input must give.  Expensive things that tests only read (a Derivation per
example, a build of the whole catalogue) are made once per session.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OUTPUT = ROOT / "output"
SPECS = sorted(EXAMPLES.glob("*.toml"))
REQUIRE_TOOLS = os.environ.get("DERIVE_REQUIRE_TOOLS") == "1"

# Random inputs (hypothesis): a quick run locally, a thorough one in CI (.ci/run sets "ci").
settings.register_profile("default", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=400, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
# The fuzz tests (test_fuzz.py): examples per category; CI runs 2000 (.ci/run), set more to run longer.
FUZZ_EXAMPLES = int(os.environ.get("DERIVE_FUZZ_EXAMPLES", "25"))

# Warnings Python does not show outside __main__: a user of the command would not see them.
_HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def require(tool: str, found: bool, hint: str) -> None:
    """Skip (with the reason shown by -ra) when a tool is missing; in CI, fail instead."""
    if found:
        return
    message = f"{tool} is not available ({hint})"
    if REQUIRE_TOOLS:
        pytest.fail(f"{message}; DERIVE_REQUIRE_TOOLS=1 requires it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pdflatex() -> str:
    path = shutil.which("pdflatex")
    require("pdflatex", path is not None, "install Debian's texlive-latex-base")
    return path


@pytest.fixture(scope="session")
def katex_node() -> list[str]:
    node = shutil.which("node")
    katex = (ROOT / "node_modules" / "katex").is_dir()
    require("KaTeX", node is not None and katex, "run 'npm ci' at the project root")
    return [node, str(ROOT / "tests" / "tools" / "katex-check.cjs")]


@pytest.fixture(scope="session")
def sphinx_build() -> list[str]:
    """``sphinx_build + ["-b", "html", src, out]``: the real sphinx-build, from this Python."""
    import importlib.util
    require("Sphinx", importlib.util.find_spec("sphinx") is not None, "pip install -e '.[test]'")
    require("MyST", importlib.util.find_spec("myst_parser") is not None, "pip install -e '.[test]'")
    return [sys.executable, "-m", "sphinx"]


@pytest.fixture(scope="session")
def mkdocs_build() -> list[str]:
    """``mkdocs_build + ["-f", config]``: the real ``mkdocs build --strict``, from this Python."""
    import importlib.util
    for module in ("mkdocs", "pymdownx", "material"):
        require(module, importlib.util.find_spec(module) is not None, "pip install -e '.[test]'")
    return [sys.executable, "-m", "mkdocs", "build", "--strict"]


@pytest.fixture(scope="session")
def browser():
    """``browser(page, screenshot=None)``: the DOM of a local HTML file after headless Chromium
    has loaded it and run its scripts (and a PNG of the window when ``screenshot`` is a path)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require("Chromium", chromium is not None, "install Debian's chromium")

    def load(page: Path, screenshot: Path | None = None) -> str:
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory() as profile:
            base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--allow-file-access-from-files",
                    "--window-size=1200,1600", "--virtual-time-budget=10000"]
            url = page.resolve().as_uri()
            if screenshot is not None:
                subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True, timeout=120,
                               check=True)
            return subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120,
                                  check=True).stdout
    return load


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The npm packages (KaTeX, MathJax) that built pages serve locally: no CDN is reachable."""
    path = ROOT / "node_modules"
    require("node_modules", (path / "katex").is_dir() and (path / "mathjax").is_dir(),
            "run 'npm ci' at the project root")
    return path


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Tests never read or fill the user's derive cache: each session has its own."""
    directory = tmp_path_factory.mktemp("derive-cache")
    previous = os.environ.get("DERIVE_CACHE_DIR")
    os.environ["DERIVE_CACHE_DIR"] = str(directory)
    yield directory
    if previous is None:
        os.environ.pop("DERIVE_CACHE_DIR", None)
    else:
        os.environ["DERIVE_CACHE_DIR"] = previous


# --- the command line, in process ---------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One call of the command: what a shell would see."""
    returncode: int
    stdout: str
    stderr: str


def _main(args, capture) -> Run:
    """Call derive.cli.main(args); ``capture()`` returns (stdout, stderr) written meanwhile.

    Warnings a user would see on stderr are put there too, so a test that wants exactly one
    line of stderr still notices them.
    """
    from derive.cli import main
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in args])
    out, err = capture()
    shown = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
             for w in caught if not issubclass(w.category, _HIDDEN_WARNINGS)]
    return Run(code, out, "".join(shown) + err)


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli("gradient", "--wrt", "w")``: run the command in the project root, as the shell would."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("DERIVE_DEBUG", raising=False)

    def run(*args) -> Run:
        capsys.readouterr()  # start from nothing

        def capture():
            captured = capsys.readouterr()
            return captured.out, captured.err
        return _main(args, capture)
    return run


def _assert_one_line_error(process: Run, *fragments: str, code: int = 2) -> None:
    assert process.returncode == code, process.stderr
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("derive: error: ")
    assert "Traceback" not in process.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="session")
def one_line_error():
    """``one_line_error(cli(...), *fragments, code=2)``: exit code, no stdout, one stderr line."""
    return _assert_one_line_error


def build_in_process(out: Path, *specs) -> dict[str, bytes]:
    """``derive build [SPEC ...] --out OUT`` in this process; every file it wrote, by name."""
    stdout, stderr = io.StringIO(), io.StringIO()

    def capture():
        return stdout.getvalue(), stderr.getvalue()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        process = _main(["build", *specs, "--out", out], capture)
    assert process.returncode == 0, process.stderr
    written = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert sorted(process.stdout.splitlines()) == [str(out / name) for name in written]
    return written


@pytest.fixture(scope="session")
def build():
    """``build(out, *specs)``: ``derive build [SPEC ...] --out OUT`` in process (exit 0 checked);
    every file written, name -> bytes."""
    return build_in_process


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, bytes]:
    """``derive build --out DIR`` of the whole catalogue, once: file name -> bytes."""
    return build_in_process(tmp_path_factory.mktemp("built") / "output")


# --- derivations, once per session ---------------------------------------------------------

@pytest.fixture(scope="session")
def derivation_of():
    """``derivation_of("two-layer-tanh")``: the Derivation of examples/<name>.toml, made once.

    Shared between tests: only read it (its engine caches gradients and verification reports).
    """
    from derive import Derivation
    made: dict[str, Derivation] = {}

    def get(name: str) -> Derivation:
        if name not in made:
            made[name] = Derivation.from_spec(EXAMPLES / f"{name}.toml")
        return made[name]
    return get


@pytest.fixture(params=[p.stem for p in SPECS])
def example(request, derivation_of):
    """Each example spec's Derivation in turn: a test using it runs once per example, and every
    such test gets the same Derivation (from ``derivation_of``; function scope only so that
    pytest does not regroup tests of different files by example)."""
    return derivation_of(request.param)


@pytest.fixture(scope="session")
def seed(derivation_of):
    return derivation_of("softmax-cross-entropy")


# --- numerical comparisons -------------------------------------------------------------------

@pytest.fixture(scope="session")
def same_values():
    """``same_values(network, first, second, order)``: two index expressions agree at every
    test point and every index value."""
    from derive.numeric.points import points

    def check(network, first, second, order) -> bool:
        return all(np.allclose(point.evaluate(first, order), point.evaluate(second, order), atol=1e-9)
                   for point in points(network))
    return check


@pytest.fixture(scope="session")
def matches_finite_differences():
    """``matches_finite_differences(network, gradient)``: the result equals finite differences of
    the loss (the block's left side, a Partial) at every test point."""
    from derive.model.partials import Partial
    from derive.numeric.points import points

    def check(network, gradient) -> bool:
        lhs = gradient.block.lhs
        order = tuple(gradient.indices)
        for point in points(network):
            if not np.allclose(point.evaluate(gradient.result, order), point.evaluate(lhs, order), atol=1e-6):
                return False
        return isinstance(lhs, Partial)
    return check


# --- spec files ------------------------------------------------------------------------------

# A good two-layer spec, in two parts that tests of bad specs change one at a time.
GOOD_LAYERS = '''
[[layers]]
type = "affine"
input = "x"
output = "z"
weight = "w"

[[layers]]
type = "softmax"
input = "z"
output = "o"
'''
GOOD_LOSS = '''
[loss]
type = "cross_entropy"
input = "o"
target = "t"
targets = "one_hot"
'''


@pytest.fixture(scope="session")
def good_spec() -> str:
    """The text of a good spec (GOOD_LAYERS + GOOD_LOSS)."""
    return GOOD_LAYERS + GOOD_LOSS


@pytest.fixture
def spec_file(tmp_path):
    """``spec_file(text)``: write a spec to tmp_path/net.toml and return its path."""
    def write(text: str, name: str = "net.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write
