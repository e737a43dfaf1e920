"""Input derive cannot handle in bounded time and memory is refused with one line naming the limit;
each case here was found by fuzzing and crashed, hung or ran out of memory before its fix."""
import math
import os

import pytest

from derive import DeriveError, Derivation, SpecError
from derive.errors import LimitReached
from derive.limits import MAX_EQUATION_LENGTH, MAX_EXPONENT, MAX_NESTING, MAX_RANK, MAX_SAMPLED

from conftest import EXAMPLES

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


def test_a_network_undefined_at_random_inputs_is_a_verdict_not_a_warning(cli, spec_file, one_line_error):
    path = spec_file('[[layers]]\ntype = "custom"\ndefine = "o[j] = x[j]**T"\n'
                     '[loss]\ntype = "mse"\ninput = "o"\ntarget = "t"\n')
    one_line_error(cli("build", str(path), "--out", str(path.parent / "out")), "'o' is not finite", code=3)


def test_a_high_rank_tensor_is_sampled_within_the_budget():
    """Regression: a tensor with many indices made verification allocate gigabytes."""
    indices = ",".join(f"i{n}" for n in range(MAX_RANK))
    sums = "".join(f"sum(i{n}, " for n in range(MAX_RANK))
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "input": "x", "define": f"o[{indices}] = x[{indices}]*w[{indices}]"}],
        "loss": {"type": "custom", "define": f"E = {sums}o[{indices}]" + ")" * MAX_RANK},
        "derive": {"wrt": ["w"]}})
    report = derivation.verify()
    assert all(math.prod(sizes.values()) <= MAX_SAMPLED for sizes in report.sizes)


def test_numpy_code_for_an_identity_matrix():
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "o[j,k] = x[j,k]*w[j,k]", "parameters": ["w"]}],
        "loss": {"type": "custom", "define": "E = sum(j, sum(k, delta(j,k)*o[j,k]))"}})
    assert derivation.numpy_code("o") == "np.eye(x.shape[0])"


def test_a_numpy_function_names_the_arrays_it_misses(seed):
    with pytest.raises(DeriveError, match="needs the arrays o, t, y; missing: t"):
        seed.numpy_function("w")(y=[1.0, 2.0], o=[0.5, 0.5])


def test_an_expression_that_grows_past_the_limit_stops_naming_where(monkeypatch):
    import derive.rules.steps as steps
    monkeypatch.setattr(steps, "MAX_EXPRESSION_SIZE", 30)
    small_loss = {"type": "custom", "define": "E = sum(j, o[j])"}
    with pytest.raises(LimitReached, match=r"layer 1 \(custom\), do/dx: the expression has grown past 30"):
        Derivation.from_dict(network("o[j] = exp(x[j]*x[j]*x[j]/(1 + x[j]**2))", small_loss)).gradient("x")


@pytest.mark.parametrize("define", ["o[j] = -log(-1)*x[j]", "o[j] = (-1)**0.5*x[j]"])
def test_numbers_that_are_not_real_are_refused(define):
    """Found by fuzzing: log(-1) became I*pi, which nothing can evaluate."""
    with pytest.raises(SpecError, match="is not real"):
        Derivation.from_dict(network(define))


def test_an_index_that_labels_no_axis_is_refused():
    """Found by fuzzing: sum(j, delta(j,j)*T) gave j a range no array has (TypeError in verification)."""
    with pytest.raises(SpecError, match="the range of index 'j' is unknown"):
        Derivation.from_dict(network("o[i] = x[i] - sum(j, delta(j,j)*T)"))


def test_a_declared_input_the_equation_does_not_use_is_refused():
    """Regression: a custom first layer 'z = g' with input = "x" ended in KeyError: 'x'."""
    with pytest.raises(SpecError, match="the input 'x' is not used by its equation"):
        Derivation.from_dict({"layers": [{"type": "custom", "define": "z = g", "input": "x"}],
                              "loss": {"type": "custom", "define": "E = z"}})


def test_a_hundred_nested_functions_are_refused_at_once():
    with pytest.raises(SpecError, match="nested more than"):
        Derivation.from_dict(network("o[j] = " + "tanh(" * 100 + "x[j]" + ")" * 100))


def test_a_network_of_110_layers_is_built():
    """Regression: 110 layers ran out of dimension names (StopIteration)."""
    from derive.spec import deep_tanh_network
    derivation = Derivation.from_dict(deep_tanh_network(55))
    assert len(derivation.network.layers) == 112 and len(derivation.network.dimensions) == 57


def test_an_error_about_a_huge_field_is_one_short_line(cli, spec_file, one_line_error):
    path = spec_file('title = "t"\n[[layers]]\ntype = "' + "q" * 20000 + '"\n[loss]\ntype = "mse"\n')
    process = cli("build", str(path), "--out", str(path.parent / "out"))
    one_line_error(process, "unknown layer type")
    assert len(process.stderr) < 600


def test_a_tiny_exponent_is_refused_before_it_can_loop():
    """Found in review: x**1e-300 folded its definition back 10^300 times, one power at a time."""
    with pytest.raises(SpecError, match="too small"):
        Derivation.from_dict(network("o[j] = x[j]**1e-300"))


def test_a_small_exponent_is_derived_in_bounded_time():
    derivation = Derivation.from_dict({"layers": [{"type": "custom", "define": "o[j] = x[j]**0.00001"}],
                                       "loss": {"type": "custom", "define": "E = sum(j, o[j])"}})
    assert "x[j]" in str(derivation.gradient("x").result)


def test_a_network_of_more_layers_than_the_limit_is_refused():
    """Found in review: 320 layers recursed past Python's limit (RecursionError, exit 70)."""
    from derive.limits import MAX_LAYERS
    from derive.spec import deep_tanh_network
    with pytest.raises(SpecError, match=f"at most {MAX_LAYERS} layers"):
        Derivation.from_dict(deep_tanh_network(MAX_LAYERS // 2))


def test_a_batched_custom_first_layer_keeps_its_declared_input():
    """Found in review: batching dropped the layer's 'input', so x was asked for again."""
    derivation = Derivation.from_dict({"batch": {"size": "B"},
                                       "layers": [{"type": "custom", "input": "x", "define": "o[j] = x[j]*w[j]"}],
                                       "loss": {"type": "mse", "input": "o", "target": "t"}})
    derivation.verify()
    assert str(derivation.network.tensors["x"].role) == "input"


def test_a_large_spec_file_is_refused(spec_file, cli, one_line_error):
    path = spec_file("# " + "x" * 1_100_000 + "\n")
    one_line_error(cli("build", str(path), "--out", str(path.parent / "out")), "more than 1000000 bytes")


def test_a_document_behind_a_link_is_written_where_the_link_points(cli, tmp_path):
    out, target = tmp_path / "out", tmp_path / "elsewhere.md"
    out.mkdir()
    (out / "linear-mse.md").symlink_to(target)
    assert cli("build", str(EXAMPLES / "linear-mse.toml"), "--out", str(out)).returncode == 0
    assert (out / "linear-mse.md").is_symlink() and target.read_text().startswith("# ")


def test_a_write_out_that_would_explode_is_refused_before_it_starts():
    """Found in review: softmax on softmax refers to the layer above twice, so writing out ten of
    them doubled ten times (over 100 s); the size is now worked out first."""
    layers = [{"type": "affine", "input": "x", "output": "s0", "weight": "w"}]
    layers += [{"type": "softmax", "input": f"s{n - 1}", "output": f"s{n}"} for n in range(1, 16)]
    derivation = Derivation.from_dict({"layers": layers, "loss": {"type": "mse", "input": "s15", "target": "t"},
                                       "derive": {"wrt": ["w"]}})
    with pytest.raises(LimitReached, match="written out would have about"):
        derivation.gradient("w")


def test_a_name_longer_than_the_limit_is_refused():
    with pytest.raises(SpecError, match="at most 32"):
        Derivation.from_dict(network("o[j] = " + "x" * 40 + "[j]"))


@pytest.mark.parametrize("size", ["x", "o", "t"])
def test_a_batch_size_named_like_a_quantity_is_refused_by_name(size):
    with pytest.raises(SpecError, match=f"the batch size '{size}' is also a quantity"):
        Derivation.from_dict({**network("o[j] = x[j]*w[j]"), "batch": {"size": size}})
