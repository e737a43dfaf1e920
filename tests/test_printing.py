"""How index expressions are written: as a person writes them, and as the parser reads them back."""
import pytest
import sympy as sp

from derive.model.indices import make_index, summation
from derive.model.partials import Partial
from derive.model.primitives import function
from derive.printing import latex, latex_inline, name_tex, text
from derive.spec.equations import parse_equation, to_sympy

relu, sigmoid = function("relu"), function("sigmoid")

n = sp.Symbol("n", integer=True, positive=True)
j, k = make_index("j", n), make_index("k", n)
o, t, z, z1, w = (sp.IndexedBase(name) for name in ("o", "t", "z", "z1", "w"))
T, E = sp.Symbol("T"), sp.Symbol("E")


@pytest.mark.parametrize("expr, expected", [
    (o[j], "o_{j}"),
    (w[j, k], "w_{jk}"),
    (summation(t[k], k), r"\sum_{k} t_{k}"),
    (sp.KroneckerDelta(j, k), r"\delta_{jk}"),
    (Partial(E, o[j]), r"\frac{\partial E}{\partial o_{j}}"),
    (1 / T, r"\frac{1}{T}"),                                   # regression: printed "T (-1)"
    (z1[j] ** 2, r"\left(z^{(1)}_{j}\right)^{2}"),             # no double superscript
    (sp.exp(z[j] / T), r"e^{z_{j} / T}"),
    (sp.log(o[j]), r"\log o_{j}"),
    (-summation(-t[k] * sp.KroneckerDelta(j, k), k), r"\sum_{k} t_{k} \delta_{jk}"),  # one sign, in front
    (sp.Heaviside(z[j]) * o[k], r"\left[z_{j} > 0\right] o_{k}"),  # Iverson bracket: bold 1 is the ones vector
    (o[j] * (sp.KroneckerDelta(j, k) - o[k]), r"o_{j} \left(\delta_{jk} - o_{k}\right)"),
])
def test_latex(expr, expected):
    assert latex(expr) == expected


def test_headings_use_a_slash():
    assert latex_inline(Partial(E, o[j])) == r"\partial E/\partial o_{j}"


@pytest.mark.parametrize("name, expected", [("w2", "w^{(2)}"), ("tau", r"\tau"), ("logits", r"\mathrm{logits}")])
def test_names(name, expected):
    assert name_tex(name) == expected


@pytest.mark.parametrize("expr", [
    o[j] * summation(t[k], k) - t[j],
    summation(w[j, k] * sp.tanh(z[k]) * sigmoid(z[k]) * relu(z[k]) * sp.Heaviside(z[k]), k),
    sp.exp(z[j] / T) / summation(sp.exp(z[k] / T), k) + sp.sqrt(o[j]),
    sp.KroneckerDelta(j, k) * o[j] - o[j] * o[k],
])
def test_text_reads_back_through_the_parser(expr):
    printed = text(expr)
    free = ",".join(sorted(i.name for i in expr.free_symbols if isinstance(i, sp.Idx)))
    equation = parse_equation(f"r[{free}] = {printed}")
    index = {("free", "j"): j, ("free", "k"): k}

    def index_for(scope):
        return index.get(scope) or make_index(scope[-1], n)
    _, parsed = to_sympy(equation, index_for)
    assert text(parsed) == printed


def test_minus_sign_survives_a_reciprocal_in_front_of_a_sum():
    B = sp.Symbol("B")
    assert latex(-summation(t[k], k) / B) == r"-\frac{1}{B} \sum_{k} t_{k}"
    assert latex(2 * summation(t[k], k) / B) == r"\frac{2}{B} \sum_{k} t_{k}"


def test_text_of_a_negated_sum_has_one_sign():
    assert text(-summation(-t[k], k)) == "sum(k, t[k])"


def test_the_derivative_of_a_step_is_not_written_as_a_kronecker_delta():
    """Found reading a rendered document: SymPy's DiracDelta printed as delta(...), next to delta_jk."""
    assert latex(sp.DiracDelta(z[j])) == r"\left[z_{j} > 0\right]'"


def test_a_decimal_the_spec_wrote_is_printed_as_a_decimal_and_reads_back():
    """Regression (#9): GELU's 0.044715 came out as 35677408136300126361/1000000000000000000000."""
    from derive import Derivation, parse_expression
    from derive.printing import latex, text
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "o[j] = 0.5*x[j]*(1 + tanh(0.7978845608*(x[j] + 0.044715*x[j]**3)))",
                    "input": "x"}],
        "loss": {"type": "mse", "input": "o", "target": "t"}})
    gradient = derivation.gradient("x")
    shown = text(gradient.result)
    assert "0.7978845608" in shown and "0.035677408136172*x[j]**2" in shown and "/1250000000" not in shown
    assert "0.7978845608" in latex(gradient.result) and "1/2" in shown  # a small fraction stays one
    assert parse_expression(derivation.network, shown, tuple(i.name for i in gradient.indices)) == gradient.result


def test_a_fraction_stays_in_front_of_a_bracket_that_holds_a_sum():
    """Regression (#10): once 1/B left the sums it came back as a fraction bar over the whole bracket."""
    B = sp.Symbol("B", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    j, k = make_index("j", n), make_index("k", n)
    o, t = sp.IndexedBase("o"), sp.IndexedBase("t")
    assert latex((o[j] * summation(t[k], k) - t[j]) / B) == r"\frac{1}{B} \left(o_{j} \sum_{k} t_{k} - t_{j}\right)"
    assert latex((o[j] - t[j]) / B) == r"\frac{o_{j} - t_{j}}{B}"  # no sum: the bar stays


def test_a_fraction_stands_in_front_of_a_product_with_a_sum_and_of_a_square_root():
    """1/n h_j sum_k ..., not a sum above a fraction bar inside a bracket (layer norm's result);
    1/sqrt(v + eps) in front of a bracket with sums; but never a fraction in front of another."""
    n = sp.Symbol("n", integer=True, positive=True)
    v, eps = sp.Symbol("v"), sp.Symbol("eps")
    j, k = make_index("j", n), make_index("k", n)
    h, t = sp.IndexedBase("h"), sp.IndexedBase("t")
    assert latex(h[j] * summation(h[k] * t[k], k) / n) == r"\frac{1}{n} h_{j} \sum_{k} h_{k} t_{k}"
    assert latex((h[j] - summation(t[k], k)) / sp.sqrt(v + eps)) == \
        r"\frac{1}{\sqrt{\varepsilon + v}} \left(h_{j} - \sum_{k} t_{k}\right)"
    assert latex(h[j] * summation(t[k], k) / (n * (v + eps))) == \
        r"\frac{h_{j} \sum_{k} t_{k}}{n \left(\varepsilon + v\right)}"
