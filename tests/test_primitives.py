"""Every entry of the primitive table, checked the same way: its derivative, its NumPy forms,
its LaTeX (KaTeX and pdflatex), its text (read back by the parser), and a network through it."""
import json
import subprocess

import numpy as np
import pytest
import sympy as sp

from derive import Derivation, parse_expression
from derive.matrix.nodes import Apply, Leaf, Power
from derive.model.primitives import PRIMITIVES
from derive.numeric.evaluate import evaluate
from derive.printing import latex, matrix_latex, numpy_code, text

IDS = [p.name for p in PRIMITIVES]
x = sp.Symbol("x")
POINTS = np.array([-1.7, -0.4, 0.3, 0.7, 1.3, 2.1])


def where_defined(primitive) -> np.ndarray:
    with np.errstate(all="ignore"):
        values = primitive.array(POINTS)
    return POINTS[np.isfinite(values)]


def scalar_value(expr, at: np.ndarray) -> np.ndarray:
    """The expression in x, evaluated at each point by derive's own evaluator."""
    return np.array([float(evaluate(expr, {"x": a}, None, None)[0]) for a in at])


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_derivative_matches_finite_differences(primitive):
    at = where_defined(primitive)
    derivative = sp.diff(primitive.function(x), x)
    h = 1e-6
    numeric = (primitive.array(at + h) - primitive.array(at - h)) / (2 * h)
    assert np.allclose(scalar_value(derivative, at), numeric, atol=1e-6)


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_numpy_callable_and_code_agree_with_sympy(primitive):
    at = where_defined(primitive)
    exact = np.array([float(primitive.function(sp.Float(a)).evalf()) for a in at])
    assert np.allclose(primitive.array(at), exact, atol=1e-12)
    code = numpy_code(_matrix_node(primitive))
    assert np.allclose(eval(code, {"__builtins__": {}, "np": np}, {"x": at}), exact, atol=1e-12)


def _matrix_node(primitive):
    leaf = Leaf("x", 1)
    return Power(leaf, primitive.power) if primitive.power is not None else Apply(primitive.name, leaf)


def _network(primitive) -> Derivation:
    return Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w", "bias": "b"},
                   {"type": "custom", "define": f"a[j] = z[j]*{primitive.name}(1 + z[j]**2/4)"}],
        "loss": {"type": "mse", "input": "a", "target": "t"},
        "derive": {"wrt": ["z", "w"]},
    })


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_a_network_through_it_is_derived_verified_and_has_numpy_code(primitive):
    derivation = _network(primitive)
    report = derivation.verify()
    assert report.gradients_checked == ("z", "w")
    assert set(report.matrix_forms) == {"z", "w"}
    assert derivation.numpy_code("w") is not None


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_text_reads_back_as_the_same_expression(primitive):
    derivation = _network(primitive)
    rhs = derivation.network.defining("a").rhs
    written = text(rhs)
    assert f"{primitive.name}(" in written
    j = derivation.network.defining("a").indices
    assert parse_expression(derivation.network, written, tuple(i.name for i in j)) == rhs


def formulas(primitive) -> list[str]:
    z = sp.IndexedBase("z1")
    j = sp.Idx(sp.Symbol("j", integer=True), sp.Symbol("n", integer=True, positive=True))
    index_forms = [primitive.function(z[j]), primitive.function(z[j] + 1) ** 2, 2 * primitive.function(z[j] / 3)]
    tex = [latex(f) for f in index_forms] + [matrix_latex(_matrix_node(primitive))]
    if primitive.derivative_tex:
        tex.append(primitive.derivative_tex)
    return tex


@pytest.fixture(scope="module")
def katex_errors(katex_node):
    items = [{"tex": tex, "display": True, "entry": p.name} for p in PRIMITIVES for tex in formulas(p)]
    process = subprocess.run(katex_node, input=json.dumps(items), capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    return {items[e["position"]]["entry"]: e for e in json.loads(process.stdout)}


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_latex_parses_with_katex(primitive, katex_errors):
    assert primitive.name not in katex_errors, katex_errors.get(primitive.name)


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_latex_compiles_with_pdflatex(primitive, pdflatex, tmp_path):
    body = "\n".join(rf"\[ {tex} \]" for tex in formulas(primitive))
    source = tmp_path / "entry.tex"
    source.write_text("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
                      f"{body}\n\\end{{document}}\n")
    process = subprocess.run([pdflatex, "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                              str(source)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stdout[-1500:]
