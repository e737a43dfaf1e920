"""Input derive cannot handle in bounded time and memory is refused with one line naming the limit;
each case here was found by fuzzing and crashed, hung or ran out of memory before its fix."""
import os

import pytest

from derive import Derivation, SpecError
from derive.limits import MAX_EQUATION_LENGTH, MAX_EXPONENT, MAX_NESTING, MAX_RANK

MSE = {"type": "mse", "input": "o", "target": "t"}


def network(define: str, loss=MSE, **extra) -> dict:
    return {"layers": [{"type": "custom", "define": define}], "loss": loss, **extra}


@pytest.mark.parametrize("define, fragment", [
    ("o[j] = " + " + ".join(["x[j]"] * 1000), f"the limit is {MAX_EQUATION_LENGTH}"),
    ("o[j] = " + "-" * 1000 + "x[j]", f"nested more than {MAX_NESTING} levels"),
    ("o[j] = " + "(" * 300 + "x[j]" + ")" * 300, "syntax error"),
    ("o[j] = " + "9" * 300 + "*x[j]", "a number of 300 characters"),
    ("o[j] = 1e300*x[j]", "too large"),
    ("o[j] = 9**9**9*x[j]", f"the exponent 387420489 is too large (at most {MAX_EXPONENT})"),
    ("o[j] = (x[j] + c[j])**10000", "the exponent 10000 is too large"),
    ("o[j] = 10**20*x[j]", "too large"),
    ("o[j] = sum(i, x[j])", "sum over 'i', which its expression does not use"),
    ("o[j] = x[j] +\n 1", "one line of printable characters"),
    ("o[j] = x[j] \x1b[2J", "one line of printable characters"),
    ("o[" + ",".join(f"i{n}" for n in range(MAX_RANK + 1)) + "] = x[" + ",".join(
        f"i{n}" for n in range(MAX_RANK + 1)) + "]", f"at most {MAX_RANK} are supported"),
])
def test_an_equation_beyond_a_limit_is_refused_in_one_line(define, fragment):
    with pytest.raises(SpecError) as error:
        Derivation.from_dict(network(define))
    message = str(error.value)
    assert fragment in message and "\n" not in message and "\x1b" not in message
    assert len(message) < 500


@pytest.mark.parametrize("loss, fragment", [
    ({"type": "custom", "define": "E = T", "target": "t", "targets": "one_hot"}, "does not use the target 't'"),
    ({"type": "custom", "define": "E = t / T", "target": "t", "targets": "one_hot"}, "need a class index"),
])
def test_targets_the_loss_cannot_use_are_refused(loss, fragment):
    with pytest.raises(SpecError, match=fragment):
        Derivation.from_dict(network("o[j] = x[j]", loss))


def test_a_symbolic_exponent_is_derived_without_asking_sympy_for_a_truth_value():
    """Regression: folding compared the power T with 0 (TypeError: cannot determine truth value)."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "h[j] = x[j]**T"}, {"type": "custom", "define": "o[j] = h[j]*x[j]**T"}],
        "loss": MSE})
    assert derivation.gradient("x").result is not None


def test_a_repeated_wrt_name_is_named_in_the_order_written():
    with pytest.raises(SpecError, match="'w' is listed twice"):
        Derivation.from_dict(network("o[j] = x[j]*w[j]", derive={"wrt": ["w", "x", "x", "w"]}))


@pytest.mark.parametrize("path, fragment", [
    ("/dev/zero", "not a regular file"),
    ("a\x00b.toml", "cannot read"),
])
def test_only_regular_files_are_read_as_specs(path, fragment, cli, one_line_error):
    one_line_error(cli("build", path, "--out", "/tmp/never-written"), fragment)


def test_a_fifo_is_not_waited_on(tmp_path, cli, one_line_error):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    one_line_error(cli("build", str(fifo), "--out", str(tmp_path / "out")), "not a regular file")


def test_a_deeply_nested_toml_file_is_one_line(spec_file, cli, one_line_error):
    path = spec_file("x = " + "[" * 5000 + "]" * 5000 + "\n")
    one_line_error(cli("build", str(path), "--out", str(path.parent / "out")), "TOML")


def test_control_characters_in_a_path_are_escaped(tmp_path, cli, one_line_error):
    process = cli("build", str(tmp_path / "a\x1b[2Jb\x07.toml"), "--out", str(tmp_path))
    one_line_error(process, "no such file", r"a\x1b[2Jb\x07.toml")
    assert "\x1b" not in process.stderr and "\x07" not in process.stderr
