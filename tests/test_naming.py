"""Errors a result would repeat are called by their name, as a person writes g = dE/dh once and
uses g: a gradient the result refers to more than once stays dE/dU, and a substituted value the
rules have put in more than once is named back (``name_error``).  The full result, in the
network's own quantities, stays beside the named form and is checked like every line."""
import json

import numpy as np
import pytest
import sympy as sp

from derive import Derivation
from derive.model.partials import Partial
from derive.numeric.points import points
from derive.printing import text
from derive.rules import rewrites as rw
from derive.rules.steps import RuleContext

MSE = {"type": "mse", "input": "y", "target": "t"}


def attention(extra_layers=(), wrt=None):
    layers = [{"type": "custom", "name": "scores", "define": "s[j] = sum(i, q[i]*K[j,i])/sqrt(d)", "input": "q",
               "parameters": ["K"]},
              {"type": "softmax", "input": "s", "output": "a"},
              {"type": "custom", "name": "mix", "define": "y[i] = sum(j, a[j]*V[j,i])", "parameters": ["V"]},
              *extra_layers]
    spec = {"layers": layers, "loss": MSE, "dimensions": {"q": ["d"]}}
    return {**spec, "derive": {"wrt": wrt}} if wrt else spec


def references(expr) -> set[str]:
    return {text(p.denominator) for p in expr.atoms(Partial)}


def test_a_gradient_referred_to_twice_stays_by_name():
    derivation = Derivation.from_dict(attention())
    gradient = derivation.gradient("s")
    assert text(gradient.named) == "a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k])))"
    assert [(e.wrt, text(e.named)) for e in gradient.definitions] == [("a", "sum(i, V[j,i]*(y[i] - t[i]))")]
    # the full result names only the network's quantities
    assert not gradient.result.has(Partial)
    assert text(gradient.result) == "a[j]*(sum(i, V[j,i]*(y[i] - t[i])) - sum(k, a[k]*sum(i, V[k,i]*(y[i] - t[i]))))"


def test_the_full_result_agrees_with_the_named_one_at_every_point():
    derivation = Derivation.from_dict(attention())
    for name in ("q", "K", "s"):
        gradient = derivation.gradient(name)
        assert gradient.written is not None
        for point in points(derivation.network):
            order = tuple(gradient.indices)
            np.testing.assert_allclose(point.evaluate(gradient.written, order),
                                       point.evaluate(gradient.named, order), rtol=1e-5, atol=1e-6)


def test_a_gradient_referred_to_once_is_written_in():
    """dE/dq refers to dE/ds once: it is written in; dE/da, twice inside it, stays by name."""
    gradient = Derivation.from_dict(attention()).gradient("q")
    assert {text(p) for p in gradient.named.atoms(Partial)} == {"partial(E, a[j])", "partial(E, a[k])"}
    assert gradient.block.steps[-1].rule == "substitute_derived"
    assert [text(r) for r in gradient.block.steps[-1].detail["references"]] == ["partial(E, s[j])"]


def test_deeper_than_the_example_each_repeated_error_is_named_once():
    """Two attention steps in a row: each mix's error is named where it would repeat."""
    second = [{"type": "custom", "name": "scores2", "define": "r[j] = sum(i, y[i]*L[j,i])", "parameters": ["L"]},
              {"type": "softmax", "input": "r", "output": "b"},
              {"type": "custom", "name": "mix2", "define": "u[i] = sum(j, b[j]*W[j,i])", "parameters": ["W"]}]
    spec = attention(second)
    spec["loss"] = {"type": "mse", "input": "u", "target": "t"}
    derivation = Derivation.from_dict(spec)
    gradient = derivation.gradient("q")
    names = [e.wrt for e in gradient.definitions]
    assert names == sorted(set(names), key=names.index) and "a" in names
    derivation.verify(["q", "K", "L"])


def test_a_value_the_rules_repeat_is_named_back():
    """Focal loss: dE/do is substituted, and the softmax's Jacobian puts it in twice."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "softmax", "input": "z", "output": "o"}],
        "loss": {"type": "custom", "name": "focal loss", "define": "E = -sum(j, t[j]*(1 - o[j])**g*log(o[j]))",
                 "target": "t", "targets": "one_hot"},
        "constants": ["g"]})
    gradient = derivation.gradient("z")
    assert text(gradient.named) == "o[j]*(partial(E, o[j]) - sum(k, o[k]*partial(E, o[k])))"
    step = gradient.block.steps[-1]
    assert step.rule == "name_error" and step.detail["times"] == 2
    assert text(step.detail["value"]) == "t[j]*(g*(1 - o[j])**(g - 1)*log(o[j]) - (1 - o[j])**g/o[j])"
    derivation.verify(["z"])


@pytest.mark.parametrize("example", ["softmax-cross-entropy", "two-layer-tanh", "batch-mean", "log-softmax-nll"])
def test_a_result_that_repeats_nothing_is_shown_whole(example):
    derivation = Derivation.builtin(example)
    for gradient in derivation.gradients():
        assert gradient.written is None and gradient.named == gradient.result and not gradient.where


def test_documents_give_a_named_error_that_is_not_a_result_beside_the_results():
    markdown = Derivation.from_dict(attention(wrt=["q"])).markdown()
    results = markdown[markdown.index("## Results"):markdown.index("## Matrix form")]
    assert r"\text{where } \frac{\partial E}{\partial a_{j}} = \sum_{i} V_{ji} \left(y_{i} - t_{i}\right)" in results
    assert r"\boxed{\frac{\partial E}{\partial q_{i}} = \frac{1}{\sqrt{d}} \sum_{j}" in results


def test_a_named_error_that_is_a_result_is_not_given_twice():
    markdown = Derivation.from_dict(attention()).markdown()
    assert r"\text{where }" not in markdown


def test_json_carries_the_named_form_and_its_definitions():
    data = Derivation.from_dict(attention()).as_json("s")
    json.dumps(data)
    assert data["named"] == "a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k])))"
    assert data["where"] == [{"name": "partial(E, a[j])", "wrt": "a", "indices": ["j"],
                              "result": "sum(i, V[j,i]*(y[i] - t[i]))"}]
    assert "partial" not in data["result"]


def test_a_named_form_is_a_claim_derive_check_accepts():
    derivation = Derivation.from_dict(attention())
    assert derivation.check(f"dE/ds[j] = {text(derivation.gradient('s').named)}").right


# --- the rule itself ----------------------------------------------------------------------------

j, k = sp.Idx("j", 4), sp.Idx("k", 4)
h, t, o = sp.IndexedBase("h"), sp.IndexedBase("t"), sp.IndexedBase("o")
E = sp.Symbol("E")
ERROR = (Partial(E, h[j]), h[j] - t[j], None)


def test_name_error_needs_two_appearances():
    once = (h[j] - t[j]) * o[j]
    assert rw.name_error(once, RuleContext(errors=(ERROR,))) is None


def test_name_error_finds_the_value_negated_among_terms_and_under_other_indices():
    expr = o[j] * (h[j] - t[j]) + sp.Sum(t[k] - h[k] + o[k], (k, 0, 3))
    new, detail = rw.name_error(expr, RuleContext(errors=(ERROR,)))
    assert new == o[j] * Partial(E, h[j]) + sp.Sum(o[k] - Partial(E, h[k]), (k, 0, 3))
    assert detail["times"] == 2


def test_name_error_leaves_a_value_no_longer_than_its_name():
    expr = -t[j] * o[j] - t[j]
    assert rw.name_error(expr, RuleContext(errors=((Partial(E, o[j]), -t[j], None),))) is None


def test_factors_outside_a_sum_fold_into_a_layer_output_inside_it():
    """sum_l z_l e^{z_l/T} / sum_k e^{z_k/T} = sum_l z_l o_l (a learned temperature's gradient)."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "name": "softmax with temperature", "input": "z", "parameters": ["T"],
                    "define": "o[j] = exp(z[j]/T)/sum(k, exp(z[k]/T))"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}})
    gradient = derivation.gradient("T")
    assert text(gradient.result) == "(sum(j, t[j]*z[j]) - sum(k, o[k]*z[k]))/T**2"
    assert "distribute" in [step.rule for step in gradient.block.steps]
    assert next(s for s in gradient.block.steps if s.rule == "distribute").detail == {"why": "constant"}
    derivation.verify(["T"])


# --- a repeated sub-expression that is no quantity and no error -------------------------------

GELU = {"layers": [affine := {"type": "affine", "input": "x", "output": "z", "weight": "w"},
                   {"type": "custom", "name": "gelu", "input": "z",
                    "define": "a[j] = 0.5*z[j]*(1 + tanh(0.7978845608*(z[j] + 0.044715*z[j]**3)))"}],
        "loss": {"type": "mse", "input": "a", "target": "t"}}


def test_a_repeated_function_of_a_compound_argument_gets_a_name_of_its_own():
    derivation = Derivation.from_dict(GELU)
    gradient = derivation.gradient("z")
    [abbreviation] = gradient.abbreviations
    assert text(abbreviation.name) == "u[j]" and text(abbreviation.value).startswith("tanh(z[j]*")
    assert "tanh" not in text(gradient.named) and text(gradient.named).count("u[j]") == 2
    assert "u[" not in text(gradient.result) and text(gradient.result).count("tanh") == 2
    step = gradient.block.steps[-1]
    assert step.rule == "abbreviate" and step.detail["times"] == 2
    derivation.verify(["z", "w", "x"])


def test_an_abbreviation_has_one_name_in_every_result_and_one_row_in_the_document():
    derivation = Derivation.from_dict({**GELU, "derive": {"wrt": ["z", "w", "x"]}})
    names = {text(a.name).split("[")[0] for name in ("z", "w", "x") for a in derivation.gradient(name).abbreviations}
    assert names == {"u"}
    markdown = derivation.markdown()
    results = markdown[markdown.index("## Results"):markdown.index("## Matrix form")]
    assert results.count(r"\text{where } u_{j} = \tanh") == 1
    assert derivation.as_json("z")["where"] == [
        {"name": "u[j]", "result": text(derivation.gradient("z").abbreviations[0].value)}]


def test_an_abbreviation_takes_a_letter_the_network_does_not_use():
    spec = {**GELU, "layers": [{**affine, "weight": "u"}, GELU["layers"][1]]}
    [abbreviation] = Derivation.from_dict(spec).gradient("z").abbreviations
    assert text(abbreviation.name) == "g[j]"


def test_a_short_repeat_is_left_alone():
    """e^{z_j} twice is shorter than any name for it."""
    expr = sp.exp(sp.IndexedBase("z")[j]) * (1 + sp.exp(sp.IndexedBase("z")[j]))
    assert rw.abbreviate(expr, RuleContext()) is None
