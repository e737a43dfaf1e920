"""Doc builds that stay fast and honest: the cache of rendered derivations, ``derive build --check``,
and derivations that show themselves in a notebook or as a part of someone else's page."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from derive import Derivation
from derive.cache import cache_dir, cached, entry_key

from conftest import EXAMPLES, ROOT

SEED = EXAMPLES / "softmax-cross-entropy.toml"


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(directory))
    monkeypatch.delenv("DERIVE_NO_CACHE", raising=False)
    return directory


def entries(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.json"))


# --- the cache ---------------------------------------------------------------------------------

def test_a_warm_build_writes_the_same_bytes_as_a_cold_one(build, own_cache, tmp_path):
    cold = build(tmp_path / "cold", SEED)
    assert len(entries(own_cache)) == 2  # one per format
    warm = build(tmp_path / "warm", SEED)
    assert warm == cold
    with_no_cache = build(tmp_path / "none", SEED, "--no-cache")
    assert with_no_cache == cold
    assert "DERIVE_NO_CACHE" not in os.environ  # regression: --no-cache once set it for the whole process


def test_no_cache_neither_reads_nor_writes_the_cache(build, own_cache, tmp_path, monkeypatch):
    build(tmp_path / "none", SEED, "--no-cache")
    assert entries(own_cache) == []
    build(tmp_path / "cold", SEED)
    import derive.api
    rendered = []
    original = derive.api.Derivation.documents
    monkeypatch.setattr(derive.api.Derivation, "documents", lambda *a, **k: rendered.append(1) or original(*a, **k))
    build(tmp_path / "again", SEED, "--no-cache")
    assert rendered == [1]  # both formats at once


def test_a_warm_build_is_served_without_deriving(build, own_cache, tmp_path, monkeypatch):
    build(tmp_path / "cold", SEED)
    import derive.api
    monkeypatch.setattr(derive.api.Derivation, "documents", lambda *a, **k: pytest.fail("derived again"))
    build(tmp_path / "warm", SEED)


def test_a_changed_spec_is_derived_anew(build, own_cache, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text((EXAMPLES / "two-layer-tanh.toml").read_text())
    before = build(tmp_path / "a", spec)
    spec.write_text(spec.read_text().replace('type = "tanh"', 'type = "sigmoid"'))
    after = build(tmp_path / "b", spec)
    assert "sigma" in after["net.md"].decode() and "sigma" not in before["net.md"].decode()
    assert len(entries(own_cache)) == 4


@pytest.mark.parametrize("damage", [
    lambda entry: b"",                                           # truncated to nothing
    lambda entry: entry[: len(entry) // 2],                      # cut in half
    lambda entry: b"\xff\xfe not json",                          # not text
    lambda entry: json.dumps([1, 2]).encode(),                   # JSON, but not an entry
    lambda entry: json.dumps({**json.loads(entry), "text": "forged"}).encode(),   # text without its hash
    lambda entry: json.dumps({**json.loads(entry), "key": "0" * 64}).encode(),    # another key's entry
    lambda entry: json.dumps({"key": json.loads(entry)["key"], "text": "forged",  # consistent but foreign...
                              "sha256": "0" * 64}).encode(),
])
def test_a_damaged_or_foreign_entry_is_ignored_and_replaced(build, own_cache, tmp_path, damage):
    cold = build(tmp_path / "cold", SEED)
    for entry in entries(own_cache):
        entry.write_bytes(damage(entry.read_bytes()))
    assert build(tmp_path / "again", SEED) == cold
    assert build(tmp_path / "warm", SEED) == cold  # the entries were written anew


def test_an_unusable_cache_never_fails_a_build(build, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(blocker / "cache"))
    assert build(tmp_path / "out", SEED)


def test_the_cache_can_be_turned_off_and_moved(monkeypatch, tmp_path):
    monkeypatch.delenv("DERIVE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("DERIVE_NO_CACHE", raising=False)
    assert cache_dir() == tmp_path / "derive"
    monkeypatch.setenv("DERIVE_NO_CACHE", "1")
    assert cache_dir() is None
    made = []
    assert cached(lambda: made.append(1) or "text", spec="x") == "text"
    assert cached(lambda: made.append(1) or "text", spec="x") == "text"
    assert made == [1, 1]


def test_keys_differ_by_every_setting():
    base = {"spec": "a", "slug": "net", "format": "markdown"}
    keys = {entry_key(base)} | {entry_key({**base, field: "other"}) for field in base}
    assert len(keys) == 4


def test_a_warm_build_does_not_import_sympy(tmp_path):
    """What makes a warm build cost less than an import of SymPy."""
    env = {**os.environ, "DERIVE_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-c", "import sys; from derive.cli import main; code = main(sys.argv[1:]); "
               "print('sympy' in sys.modules, file=sys.stderr); sys.exit(code)",
               "build", str(SEED), "--out", str(tmp_path / "out")]
    cold = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    warm = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert cold.stderr.strip() == "True" and warm.stderr.strip() == "False"


# --- derive build --check -------------------------------------------------------------------

def test_check_passes_on_a_fresh_build_and_writes_nothing(cli, build, tmp_path):
    out = tmp_path / "out"
    build(out, SEED)
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    process = cli("build", SEED, "--out", out, "--check")
    assert (process.returncode, process.stdout, process.stderr) == (0, "", "")
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_check_lists_each_stale_document_and_exits_1(cli, build, tmp_path):
    out = tmp_path / "out"
    build(out, SEED, EXAMPLES / "two-layer-tanh.toml")
    (out / "softmax-cross-entropy.md").write_text("edited by hand\n")
    (out / "two-layer-tanh.tex").unlink()
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    process = cli("build", SEED, EXAMPLES / "two-layer-tanh.toml", "--out", out, "--check")
    assert process.returncode == 1
    assert process.stdout.splitlines() == [f"{out / 'softmax-cross-entropy.md'}: differs",
                                           f"{out / 'two-layer-tanh.tex'}: missing"]
    assert process.stderr == "derive: 2 of 4 documents are stale; run derive build to renew them\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot


def test_check_of_a_missing_out_directory_lists_everything(cli, tmp_path):
    process = cli("build", SEED, "--out", tmp_path / "nowhere", "--check")
    assert process.returncode == 1
    assert len(process.stdout.splitlines()) == 2
    assert not (tmp_path / "nowhere").exists()


def test_check_of_the_committed_output_passes(cli):
    """output/ is what `derive build` writes: the repository's own derivations are fresh."""
    process = cli("build", "--check")
    assert process.returncode == 0, process.stdout


def test_check_of_a_bad_spec_is_one_line(cli, one_line_error, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('[[layers]]\ntype = "affine"\n')
    one_line_error(cli("build", spec, "--out", tmp_path, "--check"), str(spec))


def test_the_pre_commit_hook_runs_the_check():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: derive-check" in hooks and "entry: derive build --check" in hooks
    assert "pass_filenames: false" in hooks


# --- shown in notebooks and in other people's pages -------------------------------------------------

def test_a_derivation_shows_itself_in_a_notebook(seed):
    markdown = seed._repr_markdown_()
    assert markdown.startswith("## The network")  # a part of the notebook, not a document with a title
    assert "&= o_{j} - t_{j}" in markdown and "## Verification" in markdown
    latex = seed._repr_latex_()
    assert r"\documentclass" not in latex and r"\begin{document}" not in latex
    assert r"\section*{Results}" in latex and r"o_{j} - t_{j}" in latex


def test_a_gradient_shows_itself_as_its_boxed_result(seed):
    assert seed.gradient("w")._repr_latex_() == \
        r"$$\boxed{\frac{\partial E}{\partial w_{ij}} = y_{i} \left(o_{j} - t_{j}\right)}$$"
    assert seed.gradient("w")._repr_markdown_() == seed.gradient("w")._repr_latex_()


@pytest.mark.parametrize("show, present, absent", [
    (["results"], ["## Results", r"\boxed"], ["## Derivation", "chain rule", "## Matrix form", "## The network"]),
    (["matrix"], ["## Matrix form", r"\mathbf{y}"], ["## Results", "## Conventions"]),
    (["steps", "results"], ["## Derivation", r"\text{from (3)}"], ["## Matrix form"]),
])
def test_a_presentation_shows_the_sections_asked_for(seed, show, present, absent):
    text = seed.render("markdown", presentation=Derivation.presentation(show, standalone=False, level=2))
    assert "## Verification" in text and "# Softmax" not in text
    for fragment in present:
        assert fragment in text
    for fragment in absent:
        assert fragment not in text


def test_results_alone_do_not_point_at_steps_that_are_not_shown(seed):
    text = seed.render("markdown", presentation=Derivation.presentation(["results"]))
    assert r"\text{from (" not in text


def test_an_unknown_section_is_refused_by_name():
    from derive import DeriveError
    with pytest.raises(DeriveError, match="unknown section 'proofs'.*network, steps, results, matrix"):
        Derivation.presentation(["results", "proofs"])


def test_embedded_latex_compiles_inside_another_article(seed, pdflatex, tmp_path):
    body = seed._repr_latex_()
    (tmp_path / "notes.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
                                        "\\begin{document}\n\\section{Backpropagation}\n" + body + "\\end{document}\n")
    subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "notes.tex"],
                   cwd=tmp_path, capture_output=True, check=True, timeout=120)
    assert (tmp_path / "notes.pdf").stat().st_size > 10_000
    shutil.rmtree(tmp_path)
