"""Each rule on its own, and the engine on networks the rules were not written for."""
import sympy as sp

from derive import Derivation
from derive.model.indices import make_index, summation
from derive.printing import text
from derive.rules import RuleContext, rules_named, simplify

n = sp.Symbol("n", integer=True, positive=True)
j, k, l = (make_index(name, n) for name in "jkl")
x, t, s = sp.IndexedBase("x"), sp.IndexedBase("t"), sp.IndexedBase("s")


def apply(rule, expr, **context):
    steps = simplify(expr, RuleContext(**context), rules_named(rule))
    return steps[-1].expr if steps else expr


def test_contract_delta_keeps_only_the_matching_term():
    expr = summation(sp.cos(x[k]) * sp.KroneckerDelta(k, j) * x[k] ** 2, k)
    assert apply("contract_delta", expr) == sp.cos(x[j]) * x[j] ** 2


def test_contract_delta_leaves_sums_without_a_delta_alone():
    expr = summation(x[k] * t[k], k)
    assert apply("contract_delta", expr) == expr


def test_split_and_pull_out_constant():
    expr = summation(x[j] * t[k] + t[k] * sp.KroneckerDelta(j, k), k)
    split = apply("split_sum", expr)
    assert split == summation(x[j] * t[k], k) + summation(t[k] * sp.KroneckerDelta(j, k), k)
    assert apply("pull_out_constant", summation(x[j] * t[k], k)) == x[j] * summation(t[k], k)


def test_normalized_targets_only_for_the_declared_target():
    expr = x[j] * summation(t[k], k) - t[j]
    assert apply("normalized_targets", expr, target="t", targets="one_hot") == x[j] - t[j]
    assert apply("normalized_targets", expr) == expr
    assert apply("normalized_targets", x[j] * summation(s[k], k), target="t") == x[j] * summation(s[k], k)


def test_log_rules():
    expr = sp.log(sp.exp(x[j]) / summation(sp.exp(x[k]), k))
    assert apply("log_of_quotient", expr) == sp.log(sp.exp(x[j])) - sp.log(summation(sp.exp(x[k]), k))
    assert apply("log_of_exp", sp.log(sp.exp(x[j]))) == x[j]


def test_common_factor_with_a_quotient():
    T = sp.Symbol("T")
    assert apply("common_factor", x[j] / T - t[j] / T) == (x[j] - t[j]) / T


def test_fold_names_back_a_layer_it_has_never_seen():
    """A normaliser s_j = x_j^2 / sum_k x_k^2 is recognised inside its own derivative."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "s[j] = x[j]**2 / sum(k, x[k]**2)"}],
        "loss": {"type": "mse", "input": "s", "target": "t"},
        "derive": {"wrt": ["x"]},
    })
    local = derivation.engine.local(derivation.network.defining("s"), "x")
    assert "fold_definition" in [step.rule for step in local.steps]
    assert text(local.result) == "(2*x[j]*delta(j,k) - 2*s[j]*x[k])/sum(l, x[l]**2)"
    derivation.verify()


def test_swish_activation_defined_by_its_equation():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},
                   {"type": "custom", "define": "a[j] = z[j]*sigmoid(z[j])"}],
        "loss": {"type": "mse", "input": "a", "target": "t"},
        "derive": {"wrt": ["z", "w"]},
    })
    derivation.verify()
    assert "sigmoid(z[j])" in text(derivation.gradient("z").result)


def test_two_paths_to_one_quantity_are_both_summed():
    """A residual connection: x reaches the loss directly and through the affine layer."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "h", "weight": "w"},
                   {"type": "custom", "define": "r[j] = h[j] + x[j]"},
                   {"type": "softmax", "input": "r", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
        "derive": {"wrt": ["x", "w"]},
    })
    derivation.verify()
    result = text(derivation.gradient("x").result)
    assert "w[" in result and result.count("o[") == 2


def test_deep_chain_refers_to_the_layer_above():
    layers = [{"type": "affine", "input": "x", "output": "z1", "weight": "w1"}]
    for depth in range(1, 5):
        layers.append({"type": "tanh", "input": f"z{depth}", "output": f"a{depth}"})
        layers.append({"type": "affine", "input": f"a{depth}", "output": f"z{depth + 1}", "weight": f"w{depth + 1}"})
    layers.append({"type": "softmax", "input": "z5", "output": "o"})
    derivation = Derivation.from_dict({
        "layers": layers,
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
        "derive": {"wrt": ["w1"]},
    })
    hidden = derivation.engine.gradient_of("z1").block
    assert [s.rule for s in hidden.steps][-1] == "substitute_derived"
    assert text(hidden.steps[-2].expr) == "d(E)/d(a1[j])*(1 - a1[j]**2)"
    derivation.verify()
