"""Matrix forms and NumPy code: checked against the index form and finite differences, every example."""
import ast
import json

import numpy as np
import pytest

from derive import Derivation
from derive.printing import matrix_latex
from derive.numeric.points import points

ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Attribute, ast.Constant, ast.Load,
           ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.USub, ast.keyword, ast.Subscript)


# ndarray.sum and np.einsum(optimize=True) import helpers on their first call, from C, with the
# builtins of the calling frame: called first inside the restricted eval below, that would fail
np.zeros((1, 1)).sum(axis=0)
np.einsum("i->", np.zeros(1), optimize=True)


def run_numpy(code: str, arrays: dict):
    """Evaluate generated NumPy code after checking it uses nothing but arithmetic and np calls."""
    tree = ast.parse(code, mode="eval")
    assert all(isinstance(node, ALLOWED) for node in ast.walk(tree)), code
    return eval(compile(tree, "<numpy>", "eval"), {"__builtins__": {}, "np": np}, dict(arrays))


def test_matrix_forms_match_index_form_and_finite_differences(example):
    derivation = example
    for gradient in derivation.gradients():
        code = derivation.numpy_code(gradient.wrt)
        function = derivation.numpy_function(gradient.wrt)
        assert code is not None, f"no matrix form for {gradient.wrt}"
        for point in points(derivation.network):
            index_form = point.evaluate(gradient.result, gradient.indices)
            finite_differences = point.evaluate(gradient.block.lhs, gradient.indices)
            arrays = {name: value for name, value in point.values.items()}
            for value in (run_numpy(code, arrays), function(**arrays)):
                assert np.shape(value) == np.shape(index_form)
                assert np.allclose(value, index_form, atol=1e-9)
                assert np.allclose(value, finite_differences, atol=1e-6)


@pytest.mark.parametrize("name, latex, code", [
    ("z", r"\mathbf{o} - \mathbf{t}", "o - t"),
    ("w", r"\mathbf{y} \left(\mathbf{o} - \mathbf{t}\right)^\top", "np.outer(y, o - t)"),
    ("y", r"\mathbf{W} \left(\mathbf{o} - \mathbf{t}\right)", "w @ (o - t)"),
])
def test_seed_matrix_forms(seed, name, latex, code):
    assert matrix_latex(seed.matrix(name)) == latex
    assert seed.numpy_code(name) == code


def test_hidden_layer_uses_a_hadamard_product(derivation_of):
    derivation = derivation_of("two-layer-tanh")
    assert derivation.numpy_code("z1") == "(1 - (a1 ** 2)) * (w2 @ (o - t))"
    assert r"\odot" in matrix_latex(derivation.matrix("z1"))


def test_numerator_layout_transposes_matrices_and_only_them(seed):
    arrays = {name: value for name, value in points(seed.network)[1].values.items()}
    for name in ("w", "z", "y", "b", "o"):
        shape = np.shape(arrays[name])
        by_variable = seed.numpy_function(name, "denominator")(**arrays)
        jacobian = seed.numpy_function(name, "numerator")(**arrays)
        assert np.shape(by_variable) == shape
        assert np.allclose(jacobian, by_variable.T)
        assert np.shape(jacobian) == tuple(reversed(shape))
    assert matrix_latex(seed.matrix("w", "numerator")) == r"\left(\mathbf{o} - \mathbf{t}\right) \mathbf{y}^\top"
    assert seed.numpy_code("w", "numerator") == "np.outer(o - t, y)"


def test_transpose_of_a_product_reverses_it(seed):
    node = seed.matrix("w")
    assert node.transposed().transposed() == node


def test_scalar_constant_inside_an_activation_has_a_matrix_form():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},
                   {"type": "custom", "define": "o[j] = tanh(g*z[j])"}],
        "loss": {"type": "mse", "input": "o", "target": "t"}})
    for gradient in derivation.gradients():
        point = points(derivation.network)[1]
        value = derivation.numpy_function(gradient.wrt)(**point.values)
        assert np.allclose(value, point.evaluate(gradient.result, gradient.indices))


def test_json_carries_matrix_and_numpy(cli):
    data = json.loads(cli("gradient", "--wrt", "w", "--format", "json").stdout)
    assert data["matrix"] == r"\mathbf{y} \left(\mathbf{o} - \mathbf{t}\right)^\top"
    assert data["numpy"] == "np.outer(y, o - t)"
    assert data["layout"] == "denominator" and data["shape"] == ["m", "n"]
    numerator = json.loads(cli("gradient", "--wrt", "w", "--format", "json", "--layout", "numerator").stdout)
    assert numerator["numpy"] == "np.outer(o - t, y)" and numerator["shape"] == ["n", "m"]


def test_documents_state_the_layout_and_shapes(seed):
    markdown = seed.markdown()
    assert "## Matrix form" in markdown
    assert "shape of its variable" in markdown
    assert r"\mathbf{W} \in \mathbb{R}^{m \times n}" in markdown
    assert r"dE &= \mathbf{y} \left(\mathbf{o} - \mathbf{t}\right)^\top : d\mathbf{W}" in markdown


def test_a_spec_can_ask_for_the_jacobian_layout():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "y", "output": "z", "weight": "w"},
                   {"type": "softmax", "input": "z", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
        "derive": {"wrt": ["w"], "layout": "numerator"},
    })
    assert derivation.numpy_code("w") == "np.outer(o - t, y)"
    markdown = derivation.markdown()
    assert "Jacobian (numerator) layout" in markdown and "(n \\times m)" in markdown


def _batch_network(activation: str) -> Derivation:
    return Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z1", "weight": "w1", "bias": "b1"},
                   {"type": activation, "input": "z1", "output": "a1"},
                   {"type": "affine", "input": "a1", "output": "z2", "weight": "w2", "bias": "b2"},
                   {"type": "softmax", "input": "z2", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
        "batch": {"size": "B", "reduction": "mean"}})


@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_a_bias_below_a_batched_activation_sums_over_the_samples(activation):
    """Regression: sum_s H_sj G_sj was read as a matrix product with axes (j, j)."""
    derivation = _batch_network(activation)
    assert "b1" in derivation.verify().matrix_forms
    point = points(derivation.network)[2]
    code = derivation.numpy_code("b1")
    assert code.endswith(".sum(axis=0)) / o.shape[0]") or ".sum(axis=0)" in code
    expected = point.evaluate(derivation.gradient("b1").result, derivation.gradient("b1").indices)
    assert np.allclose(run_numpy(code, point.values), expected)


@pytest.mark.parametrize("name", ["x", "w"])
def test_numpy_code_in_the_jacobian_layout_runs(derivation_of, name):
    """Regression: the numerator layout printed o - t @ w.T for (o - t)^T W^T."""
    derivation = derivation_of("sigmoid-binary-cross-entropy")
    point = points(derivation.network)[2]
    for layout in ("denominator", "numerator"):
        code = derivation.numpy_code(name, layout)
        expected = derivation.numpy_function(name, layout)(**point.values)
        assert np.allclose(run_numpy(code, point.values), expected), (layout, code)


def test_numpy_code_reads_sizes_off_the_arrays_it_uses(derivation_of):
    """Regression: dE/dz of a batch divided by y.shape[0], an array the expression does not need."""
    assert derivation_of("batch-mean").numpy_code("z") == "(o - t) / o.shape[0]"


def test_documents_state_the_forward_pass_in_the_notation_of_the_gradients(derivation_of):
    """A reader who learned z = Wx + b sees which convention the gradients use."""
    seed = derivation_of("softmax-cross-entropy").markdown()
    forward = seed.split("In this notation the network computes")[1].split("and its gradients are")[0]
    assert r"\mathbf{z} &= \mathbf{b} + \mathbf{W}^\top \mathbf{y}" in forward
    assert r"E &= -\mathbf{t}^\top \log\left(\mathbf{o}\right)" in forward  # the number first, not "(...) -1"
    two_layer = derivation_of("two-layer-tanh").latex()
    assert r"\mathbf{W}^{(1)\top} \mathbf{x}" in two_layer and r")}^\top" not in two_layer  # one superscript


def test_a_wrong_forward_matrix_form_is_caught(derivation_of, monkeypatch):
    import sys
    from derive import VerificationError
    from derive.matrix import nodes
    verification = sys.modules["derive.numeric.verify"]  # the module; derive.numeric.verify is its function
    network = derivation_of("linear-mse").network
    monkeypatch.setattr(verification, "matrix_form", lambda expr, indices: nodes.Leaf("t", 1))
    with pytest.raises(VerificationError, match="the matrix form of its equation does not agree"):
        verification.check_forward_matrix_form(network.layers[0], points(network)[0])


def test_the_backward_recursion_names_each_layers_error_and_writes_the_gradients_through_it(derivation_of):
    from derive.matrix.recursion import backward_recursion, gradients_needed
    derivation = derivation_of("two-layer-tanh")
    needed = [derivation.gradient(n) for n in gradients_needed(derivation.network, derivation.wrt)]
    lines = {name: matrix_latex(node) for name, node in backward_recursion(derivation.network, needed)}
    assert lines["z2"] == r"\mathbf{o} - \mathbf{t}"
    assert lines["z1"] == r"\left(\mathbf{1} - \mathbf{a}^{(1)} \odot \mathbf{a}^{(1)}\right) \odot " \
                          r"\left(\mathbf{W}^{(2)} \boldsymbol{\delta}^{(2)}\right)"
    assert lines["w1"] == r"\mathbf{x} \boldsymbol{\delta}^{(1)\top}" and lines["b2"] == r"\boldsymbol{\delta}^{(2)}"
    assert r"\boldsymbol{\delta}^{(1)} &= " in derivation.markdown()
    assert r"\boldsymbol{\delta}" not in derivation.markdown(layout="numerator")  # written for one layout


def test_the_recursion_of_a_deeper_network_it_was_not_written_for_chains_every_layer():
    from derive.spec import deep_tanh_network
    markdown = Derivation.from_dict(deep_tanh_network(3)).markdown()
    for level in (1, 2, 3):
        assert rf"\boldsymbol{{\delta}}^{{({level})}} &= \left(\mathbf{{1}} - \mathbf{{a}}^{{({level})}} \odot " \
               rf"\mathbf{{a}}^{{({level})}}\right) \odot \left(\mathbf{{W}}^{{({level + 1})}} " \
               rf"\boldsymbol{{\delta}}^{{({level + 1})}}\right)" in markdown
    assert "Kronecker" in markdown


def test_a_network_of_one_affine_layer_has_no_recursion(derivation_of):
    assert r"\boldsymbol{\delta}" not in derivation_of("softmax-cross-entropy").markdown()


def test_a_wrong_recursion_line_is_caught(derivation_of):
    from derive import VerificationError
    from derive.matrix import nodes
    from derive.matrix.recursion import backward_recursion, gradients_needed
    from derive.numeric.verify import check_recursion
    derivation = derivation_of("two-layer-tanh")
    needed = [derivation.gradient(n) for n in gradients_needed(derivation.network, derivation.wrt)]
    lines = backward_recursion(derivation.network, needed)
    wrong = [(name, nodes.Error("z2", 1) if name == "b1" else node) for name, node in lines]  # b1 is delta1
    with pytest.raises(VerificationError, match="recursion's line for dE/db1"):
        check_recursion(derivation.network, needed, wrong, points(derivation.network)[0])
