"""Regression tests for problems found in review: each one failed before its fix."""
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from derive import Derivation
from derive.model.indices import make_index, summation
from derive.printing import latex, text
from derive.numeric.points import points

from conftest import EXAMPLES, ROOT
from test_cli import assert_one_line_error, run
from test_spec_errors import GOOD_LAYERS, GOOD_LOSS

LOSS = '''
[loss]
type = "mse"
input = "o"
target = "t"
'''


def test_minus_sign_survives_a_reciprocal_in_front_of_a_sum():
    n = sp.Symbol("n", integer=True, positive=True)
    k, t, B = make_index("k", n), sp.IndexedBase("t"), sp.Symbol("B")
    assert latex(-summation(t[k], k) / B) == r"-\frac{1}{B} \sum_{k} t_{k}"
    assert latex(2 * summation(t[k], k) / B) == r"\frac{2}{B} \sum_{k} t_{k}"


def test_custom_first_layer_must_say_which_name_is_the_input(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text('[[layers]]\ntype = "custom"\ndefine = "o[j] = sum(i, w[i,j]*x[i])"\n' + LOSS)
    assert_one_line_error(run("build", str(spec), "--out", str(tmp_path / "out")), "layer 1", "'input'")
    spec.write_text('[[layers]]\ntype = "custom"\ninput = "x"\ndefine = "o[j] = sum(i, w[i,j]*x[i])"\n' + LOSS)
    network = Derivation.from_spec(spec).network
    assert network.tensors["x"].role == "input" and network.tensors["w"].role == "parameter"


def test_scalar_constant_inside_an_activation_has_a_matrix_form():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},
                   {"type": "custom", "define": "o[j] = tanh(g*z[j])"}],
        "loss": {"type": "mse", "input": "o", "target": "t"}})
    for gradient in derivation.gradients():
        point = points(derivation.network)[1]
        value = derivation.numpy_function(gradient.wrt)(**point.values)
        assert np.allclose(value, point.evaluate(gradient.result, gradient.indices))


@pytest.mark.parametrize("layer, fragment", [
    ('type = "custom"\ndefine = "p[j] = p[j] + o[j]"', "used in its own definition"),
    ('type = "custom"\ndefine = "p[j] = 1e400*o[j]"', "not finite"),
    ('type = "custom"\ndefine = "p[j] = o[j]/0"', "divides by zero"),
    ('type = ["tanh"]', "field 'type': expected a string"),
    ('type = "tanh"\ninput = "in"\noutput = "p"', "field 'input'"),
    ('type = "custom"\ndefine = "p[j] = o[j]*t[j]"', "the target 't' can only be used by the loss"),
])
def test_more_bad_layers(tmp_path, layer, fragment):
    spec = tmp_path / "net.toml"
    spec.write_text(GOOD_LAYERS + "\n[[layers]]\n" + layer + "\n" + GOOD_LOSS.replace('input = "o"', 'input = "p"'))
    assert_one_line_error(run("build", str(spec), "--out", str(tmp_path / "out")), fragment)


@pytest.mark.parametrize("extra, fragment", [
    ('constants = ["zz"]\n', "'zz' is not used"),
    ('title = "two\\nlines"\n', "field 'title'"),
    ('title = "\u03a9"\n', "field 'title'"),
])
def test_more_bad_top_level_fields(tmp_path, extra, fragment):
    spec = tmp_path / "net.toml"
    spec.write_text(extra + GOOD_LAYERS + GOOD_LOSS)
    assert_one_line_error(run("build", str(spec), "--out", str(tmp_path / "out")), fragment)


def test_wrt_listed_twice(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(GOOD_LAYERS + GOOD_LOSS + '[derive]\nwrt = ["w", "w"]\n')
    assert_one_line_error(run("build", str(spec), "--out", str(tmp_path / "out")), "listed twice")


def test_two_specs_with_the_same_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    spec = EXAMPLES / "linear-mse.toml"
    copy = tmp_path / "a" / "linear-mse.toml"
    copy.write_text(spec.read_text())
    assert_one_line_error(run("build", str(spec), str(copy), "--out", str(tmp_path / "out")), "linear-mse")


def test_batch_assumption_sums_over_the_class_index():
    derivation = Derivation.from_spec(EXAMPLES / "batch-mean.toml")
    assert derivation.assumptions() == ["targets are one-hot: sum(j, t[s,j]) = 1"]
    assert r"\sum_{j} t_{sj} = 1" in derivation.markdown()


def test_a_loss_with_another_name_is_called_by_it():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "o", "weight": "w"}],
        "loss": {"type": "custom", "define": "L = sum(j, (o[j] - t[j])**2)", "target": "t"}})
    markdown = derivation.markdown()
    assert r"\frac{\partial L}{\partial \mathbf{W}}" in markdown and r"\partial E" not in markdown
    assert derivation.text("w").startswith("dL/dw[i,j] = ")


def test_build_does_not_depend_on_the_hash_seed(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run([sys.executable, "-m", "derive", "build", "--out", str(out)], cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, timeout=300)
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]


def test_text_of_a_negated_sum_has_one_sign():
    n = sp.Symbol("n", integer=True, positive=True)
    k, t = make_index("k", n), sp.IndexedBase("t")
    assert text(-summation(-t[k], k)) == "sum(k, t[k])"
