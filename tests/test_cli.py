"""The derive command: JSON results, documents, and one clear line for every bad input."""
import json
import os
import subprocess
import sys

import pytest

from derive import Derivation, parse_expression

from conftest import EXAMPLES, ROOT
from helpers import same_values


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "derive", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(process, *fragments, code=2):
    assert process.returncode == code
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("derive: error: ")
    assert "Traceback" not in process.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("name, indices, result", [
    ("w", ["i", "j"], "y[i]*(o[j] - t[j])"),
    ("z", ["j"], "o[j] - t[j]"),
    ("b", ["j"], "o[j] - t[j]"),
    ("y", ["i"], "sum(j, w[i,j]*(o[j] - t[j]))"),
    ("o", ["j"], "-t[j]/o[j]"),
])
def test_gradient_json(name, indices, result):
    process = run("gradient", "--wrt", name, "--format", "json")
    assert process.returncode == 0, process.stderr
    data = json.loads(process.stdout)
    assert data["wrt"] == name
    assert data["indices"] == indices
    assert data["result"] == result
    assert data["assumptions"] == ["targets are one-hot: sum(j, t[j]) = 1"]
    assert data["steps"] and all({"equation", "rule", "expression"} <= set(s) for s in data["steps"])


def test_json_result_reads_back_as_the_same_expression():
    derivation = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml")
    data = json.loads(run("gradient", str(EXAMPLES / "two-layer-tanh.toml"), "--wrt", "w1",
                          "--format", "json").stdout)
    parsed = parse_expression(derivation.network, data["result"], tuple(data["indices"]))
    gradient = derivation.gradient("w1")
    assert same_values(derivation.network, parsed, gradient.result, gradient.indices)
    assert "d(" not in data["result"]  # self-contained: no helper names of the derivation


@pytest.mark.parametrize("fmt, marker", [("latex", r"\begin{document}"), ("markdown", "$$"),
                                         ("text", "dE/dw[i,j] = y[i]*(o[j] - t[j])")])
def test_gradient_other_formats(fmt, marker):
    process = run("gradient", "--wrt", "w", "--format", fmt)
    assert process.returncode == 0
    assert marker in process.stdout


def test_unknown_wrt_is_one_line():
    assert_one_line_error(run("gradient", "--wrt", "q"), "'q'", "w, y, b, z, o")


def test_unknown_format_is_one_line():
    assert_one_line_error(run("gradient", "--wrt", "w", "--format", "pdf"), "pdf")


def test_missing_spec_file_is_one_line(tmp_path):
    assert_one_line_error(run("gradient", str(tmp_path / "nope.toml"), "--wrt", "w"), "nope.toml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; the file case below still runs")
def test_unwritable_out_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert_one_line_error(run("build", "--out", str(locked)), str(locked))


def test_out_that_is_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert_one_line_error(run("build", "--out", str(blocker / "sub")), "--out")
    assert blocker.read_text() == "keep me"


def test_failed_build_leaves_earlier_output_intact(tmp_path):
    out = tmp_path / "out"
    assert run("build", str(EXAMPLES / "linear-mse.toml"), "--out", str(out)).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = tmp_path / "broken.toml"
    broken.write_text((EXAMPLES / "linear-mse.toml").read_text().replace('type = "mse"', 'type = "msee"'))
    process = run("build", str(EXAMPLES / "linear-mse.toml"), str(broken), "--out", str(out))
    assert_one_line_error(process, "broken.toml", "msee")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_build_writes_both_formats_per_spec(tmp_path):
    process = run("build", str(EXAMPLES / "softmax-cross-entropy.toml"), "--out", str(tmp_path))
    assert process.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["softmax-cross-entropy.md", "softmax-cross-entropy.tex"]
