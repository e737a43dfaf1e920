"""The derive command: JSON results, documents, and one clear line for every bad input.

Every test but the last calls ``derive.cli.main`` in process (the ``cli`` fixture); the last runs
the installed console script, as a user would.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from derive import parse_expression

from conftest import EXAMPLES


@pytest.mark.parametrize("name, indices, result", [
    ("w", ["i", "j"], "y[i]*(o[j] - t[j])"),
    ("z", ["j"], "o[j] - t[j]"),
    ("b", ["j"], "o[j] - t[j]"),
    ("y", ["i"], "sum(j, w[i,j]*(o[j] - t[j]))"),
    ("o", ["j"], "-t[j]/o[j]"),
])
def test_gradient_json(cli, name, indices, result):
    process = cli("gradient", "--wrt", name, "--format", "json")
    assert process.returncode == 0, process.stderr
    data = json.loads(process.stdout)
    assert data["wrt"] == name
    assert data["indices"] == indices
    assert data["result"] == result
    assert data["assumptions"] == ["targets are one-hot: sum(j, t[j]) = 1"]
    assert data["steps"] and all({"equation", "rule", "expression"} <= set(s) for s in data["steps"])


def test_json_result_reads_back_as_the_same_expression(cli, derivation_of, same_values):
    derivation = derivation_of("two-layer-tanh")
    process = cli("gradient", EXAMPLES / "two-layer-tanh.toml", "--wrt", "w1", "--format", "json")
    assert process.returncode == 0, process.stderr
    data = json.loads(process.stdout)
    parsed = parse_expression(derivation.network, data["result"], tuple(data["indices"]))
    gradient = derivation.gradient("w1")
    assert same_values(derivation.network, parsed, gradient.result, gradient.indices)
    assert "d(" not in data["result"]  # self-contained: no helper names of the derivation


@pytest.mark.parametrize("fmt, marker", [("latex", r"\begin{document}"), ("markdown", "$$"),
                                         ("text", "dE/dw[i,j] = y[i]*(o[j] - t[j])")])
def test_gradient_other_formats(cli, fmt, marker):
    process = cli("gradient", "--wrt", "w", "--format", fmt)
    assert process.returncode == 0
    assert marker in process.stdout


def test_unknown_wrt_is_one_line(cli, one_line_error):
    one_line_error(cli("gradient", "--wrt", "q"), "'q'", "w, y, b, z, o")


def test_backward_prints_a_checked_pass_that_runs_as_printed(cli):
    process = cli("backward", EXAMPLES / "batch-mean.toml", "--wrt", "w", "--wrt", "y", "--wrt", "w")
    assert process.returncode == 0, process.stderr
    namespace: dict = {}
    exec(compile(process.stdout, "pasted.py", "exec"), namespace)
    assert '"y": dE_dy' in process.stdout and process.stdout.count('"w": dE_dw,') == 1  # once, though asked twice
    assert callable(namespace["backward"])


def test_backward_of_a_name_not_in_the_network_is_one_line(cli, one_line_error):
    one_line_error(cli("backward", "--wrt", "q"), "'q'", "w, y, b, z, o")


def test_unknown_format_is_one_line(cli, one_line_error):
    one_line_error(cli("gradient", "--wrt", "w", "--format", "pdf"), "pdf")


def test_missing_spec_file_is_one_line(cli, one_line_error, tmp_path):
    one_line_error(cli("gradient", tmp_path / "nope.toml", "--wrt", "w"), "nope.toml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; the file case below still runs")
def test_unwritable_out_directory(cli, one_line_error, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_line_error(cli("build", EXAMPLES / "linear-mse.toml", "--out", locked), str(locked))


def test_out_that_is_a_file_is_one_line(cli, one_line_error, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    one_line_error(cli("build", EXAMPLES / "linear-mse.toml", "--out", blocker / "sub"), "--out")
    assert blocker.read_text() == "keep me"


def test_failed_build_leaves_earlier_output_intact(cli, one_line_error, build, tmp_path):
    out = tmp_path / "out"
    before = build(out, EXAMPLES / "linear-mse.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text((EXAMPLES / "linear-mse.toml").read_text().replace('type = "mse"', 'type = "msee"'))
    process = cli("build", EXAMPLES / "linear-mse.toml", broken, "--out", out)
    one_line_error(process, "broken.toml", "msee")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("broken_at", [(0, 1), (1, 2), (1, 3), (2, 3)])
def test_of_several_broken_specs_the_first_given_is_reported(cli, one_line_error, tmp_path, broken_at):
    """Every other spec is built in a child process: whichever process meets it, the error reported
    is the first in the order given, and nothing is written."""
    specs = []
    for position in range(4):
        spec = tmp_path / f"net{position}.toml"
        text = (EXAMPLES / "linear-mse.toml").read_text()
        spec.write_text(text.replace('type = "mse"', f'type = "broken{position}"') if position in broken_at else text)
        specs.append(spec)
    process = cli("build", *specs, "--out", tmp_path / "out")
    one_line_error(process, f"net{broken_at[0]}.toml", f"broken{broken_at[0]}")
    assert not (tmp_path / "out").exists()


def test_build_writes_both_formats_per_spec(cli, tmp_path):
    process = cli("build", EXAMPLES / "softmax-cross-entropy.toml", "--out", tmp_path)
    assert process.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["softmax-cross-entropy.md", "softmax-cross-entropy.tex"]


def test_two_specs_with_the_same_name_are_refused(cli, one_line_error, tmp_path):
    (tmp_path / "a").mkdir()
    spec = EXAMPLES / "linear-mse.toml"
    copy = tmp_path / "a" / "linear-mse.toml"
    copy.write_text(spec.read_text())
    one_line_error(cli("build", spec, copy, "--out", tmp_path / "out"), "linear-mse")


def console_script() -> list[str]:
    """The ``derive`` that pip installed next to this Python, else whichever is on PATH."""
    beside = Path(sys.executable).parent / "derive"
    found = str(beside) if beside.is_file() else shutil.which("derive")
    assert found, "the derive console script is not installed: pip install -e '.[test]'"
    return [found]


def test_console_script_builds_the_same_documents_under_another_hash_seed(built, tmp_path):
    """The one test that starts a process: the installed command, with a hash seed other than
    this process's, writes exactly what the in-process build wrote."""
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    out = tmp_path / "docs"
    process = subprocess.run([*console_script(), "build", "--out", str(out)], cwd=tmp_path,
                             env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True,
                             timeout=300)
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""
    written = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert sorted(process.stdout.splitlines()) == [str(out / name) for name in written]
    assert written == built


def test_console_script_exit_codes_and_output_survive_its_quick_exit(tmp_path):
    """The command ends with os._exit (no teardown of SymPy's caches): what it printed is still
    all there, and so is its exit code."""
    ok = subprocess.run([*console_script(), "gradient", "--wrt", "w", "--format", "json"], capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0 and json.loads(ok.stdout)["result"] == "y[i]*(o[j] - t[j])"
    bad = subprocess.run([*console_script(), "gradient", "--wrt", "q"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.startswith("derive: error: ")
    stale = subprocess.run([*console_script(), "build", str(EXAMPLES / "linear-mse.toml"), "--out", str(tmp_path),
                            "--check"], capture_output=True, text=True, timeout=300)
    assert stale.returncode == 1 and len(stale.stdout.splitlines()) == 2


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """derive gradient ... | head: a closed pipe ends the command quietly, no traceback, no
    'internal error'."""
    process = subprocess.Popen([*console_script(), "gradient", "--wrt", "w", "--format", "latex"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 141
    assert stderr == ""


def _snapshot(out):
    return {p.name: (p.read_bytes() if p.is_file() else "a directory") for p in sorted(out.iterdir())}


def test_a_build_whose_target_is_a_directory_writes_nothing(cli, one_line_error, build, tmp_path):
    """Regression: documents before the directory in the list had already been replaced."""
    out = tmp_path / "out"
    build(out)
    for path in out.glob("*.tex"):
        path.write_text("old")
    (out / "two-layer-tanh.md").unlink()
    (out / "two-layer-tanh.md").mkdir()
    before = _snapshot(out)
    one_line_error(cli("build", "--out", str(out)), "two-layer-tanh.md is a directory")
    assert _snapshot(out) == before


def test_a_write_that_fails_part_way_leaves_everything_as_it_was(cli, one_line_error, tmp_path, monkeypatch):
    """Regression: a full disk during the writes left some documents new and some old."""
    import derive.cli as command
    out = tmp_path / "out"
    out.mkdir()
    (out / "linear-mse.md").write_text("old md")
    real = command._staged
    calls = []

    def full_disk(path, content):
        calls.append(path)
        if len(calls) == 3:
            raise command.OutputError(f"--out {path.parent}: cannot write {path.name} (No space left on device)")
        return real(path, content)
    monkeypatch.setattr(command, "_staged", full_disk)
    process = cli("build", str(EXAMPLES / "linear-mse.toml"), str(EXAMPLES / "batch-mean.toml"), "--out", str(out))
    one_line_error(process, "No space left on device")
    assert [p.name for p in out.iterdir()] == ["linear-mse.md"] and (out / "linear-mse.md").read_text() == "old md"


def test_documents_get_the_mode_a_plain_write_gives(cli, tmp_path):
    """Regression: rebuilt documents came out 0600, the temporary file's mode."""
    out = tmp_path / "out"
    previous = os.umask(0o022)
    try:
        assert cli("build", str(EXAMPLES / "linear-mse.toml"), "--out", str(out)).returncode == 0
    finally:
        os.umask(previous)
    assert {oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {"0o644"}
