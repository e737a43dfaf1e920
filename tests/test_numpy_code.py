"""NumPy code for every gradient: from the matrix form where there is one, else np.einsum from
the index form; each run (our own generated code, in the test) against the index form."""
import numpy as np
import sympy as sp
import pytest

from derive import Derivation
from derive.numeric.points import points
from derive.printing.einsum import einsum_code

from conftest import SPECS


def run(code: str, values: dict) -> np.ndarray:
    return eval(code, {"np": np}, {name: np.asarray(value, dtype=float) for name, value in values.items()})


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_the_einsum_code_of_every_gradient_is_its_index_form(spec):
    derivation = Derivation.from_spec(spec)
    for point in points(derivation.network):
        for name in derivation.network.differentiable():
            gradient = derivation.gradient(name)
            code = einsum_code(gradient.result, gradient.indices, derivation._size_code(name))
            assert np.allclose(run(code, point.values), point.evaluate(gradient.result, tuple(gradient.indices))), code


BILINEAR = {  # a rank-3 weight: no matrix form
    "layers": [{"type": "custom", "define": "z[k] = sum(i, sum(j, x[i]*u[i,j,k]*y[j]))", "input": "x",
                "parameters": ["u"]},
               {"type": "softmax", "input": "z", "output": "o"}],
    "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}}


def test_a_gradient_without_a_matrix_form_still_has_numpy_code():
    derivation = Derivation.from_dict(BILINEAR)
    assert derivation.matrix("u") is None
    code = derivation.numpy_code("u")
    assert "np.einsum(" in code and "for " not in code
    point = points(derivation.network)[1]
    gradient = derivation.gradient("u")
    assert np.allclose(run(code, point.values), point.evaluate(gradient.result, tuple(gradient.indices)))
    assert derivation.as_json("u")["numpy"] == code


def test_the_numerator_layout_transposes_a_matrix_gradient_without_a_matrix_form():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z1", "weight": "w1"},
                   {"type": "tanh", "input": "z1", "output": "a1"},
                   {"type": "affine", "input": "a1", "output": "z2", "weight": "w2"},
                   {"type": "softmax", "input": "z2", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
        "batch": {"size": "B", "reduction": "mean"}})
    assert derivation.matrix("w1") is None
    point = points(derivation.network)[1]
    denominator = run(derivation.numpy_code("w1"), point.values)
    assert denominator.shape == point.values["w1"].shape
    assert np.allclose(run(derivation.numpy_code("w1", layout="numerator"), point.values), denominator.T)


def test_a_scalar_below_the_line_is_bracketed_and_its_functions_are_numpy():
    """Regression (#9): a layer norm's backward pass read `x / eps + s` for x / (eps + s), and
    called `sqrt` for np.sqrt (its generated code failed; found by tests/test_generality.py)."""
    from derive.matrix import nodes as n
    from derive.printing import numpy_code
    eps, s = sp.symbols("eps s")
    vector = n.Leaf("g", 1)
    assert numpy_code(n.Scale(n.Scalar(1 / (eps + s)), vector)) == "g / (eps + s)"
    code = numpy_code(n.Scale(n.Scalar(1 / sp.sqrt(eps + s)), vector))
    assert np.allclose(run(code, {"g": [1.0, 2.0], "eps": 0.5, "s": 3.5}), [0.5, 1.0]), code
