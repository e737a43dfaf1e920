"""The engine on networks the rules were not written for: new layers, two paths, depth, fresh names."""
import pytest
import sympy as sp

from derive import Derivation, SpecError
from derive.model.indices import (NamePool, make_index, reletter_bound, rename_bound, rename_symbols, summation,
                                  up_to_names)
from derive.printing import text
from derive.spec import deep_tanh_network

from conftest import EXAMPLES


def deep(depth: int, wrt=("w1",)) -> Derivation:
    return Derivation.from_dict(deep_tanh_network(depth, wrt))


def test_fold_names_back_a_layer_it_has_never_seen():
    """A normaliser s_j = x_j^2 / sum_k x_k^2 is recognised inside its own derivative."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "s[j] = x[j]**2 / sum(k, x[k]**2)"}],
        "loss": {"type": "mse", "input": "s", "target": "t"},
        "derive": {"wrt": ["x"]},
    })
    local = derivation.engine.local_block(derivation.network.defining("s"), "x")
    assert "fold_definition" in [step.rule for step in local.steps]
    assert text(local.result) == "2*(x[j]*delta(j,k) - s[j]*x[k])/sum(l, x[l]**2)"
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
    derivation = deep(4)
    hidden = derivation.engine.gradient_of("z1").block
    assert [s.rule for s in hidden.steps][-1] == "substitute_derived"
    assert text(hidden.steps[-2].expr) == "partial(E, a1[j])*(1 - a1[j]**2)"
    derivation.verify()


def test_the_first_weights_of_64_hidden_layers_derive():
    """Regression: the index names ran out (StopIteration in rename_bound) past 16 layers."""
    derivation = deep(64)
    result = text(derivation.gradient("w1").result)
    assert result.startswith("x[i]*(1 - a1[j]**2)*") and "d(" not in result
    assert result.count("sum(") == 64 and "w65[" in result


def test_more_than_ten_index_ranges_are_verified():
    """Regression: size settings had ten entries, so 11 or more ranges failed with TypeError."""
    derivation = deep(10)
    assert len(derivation.network.dimensions) == 12
    derivation.verify(["w1", "b11"])


def test_a_layer_norm_in_one_equation_derives_and_verifies():
    """Regression: the rule that names definitions back ran out of fresh index names."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},
                   {"type": "custom", "parameters": ["be"],
                    "define": "y[j] = (z[j] - sum(k, z[k])/D)/sqrt(sum(k, (z[k] - sum(l, z[l])/D)**2)/D) + be[j]"},
                   {"type": "softmax", "input": "y", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
        "derive": {"wrt": ["w", "x", "be"]},
    })
    assert text(derivation.gradient("be").result) == "o[j] - t[j]"
    derivation.verify()


def test_a_square_root_layer_is_named_back_and_has_numpy_code():
    """Regression: sqrt(1 + z_j^2) was named back as sqrt(a_j^2), and had no matrix form."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "a[j] = sqrt(1 + z[j]**2)"}],
        "loss": {"type": "mse", "input": "a", "target": "t"},
    })
    assert text(derivation.gradient("z").result) == "z[j]*(a[j] - t[j])/a[j]"
    assert derivation.numpy_code("z") == "(a - t) * z / a"
    derivation.verify()


def test_name_pools_never_run_out():
    assert list(zip(range(5), NamePool("kl")))[-1] == (4, "i3")
    n = sp.Symbol("n", integer=True, positive=True)
    inner = make_index("k", n)
    taken = set("klpquvijabcdefghr")
    renamed = rename_bound(summation(sp.IndexedBase("x")[inner], inner), taken, NamePool("klp"))
    assert str(renamed.limits[0][0]) == "i1"


def test_a_moved_expression_has_its_sums_lettered_in_reading_order_without_capture():
    n = sp.Symbol("n", integer=True, positive=True)
    j, k, l = (make_index(name, n) for name in "jkl")
    w, c = sp.IndexedBase("w"), sp.IndexedBase("c")
    inner = summation(c[l] * w[k, l], l)
    moved = reletter_bound(summation(w[j, k] * inner, k), {"k"}, NamePool("klpq"))
    assert text(moved) == "sum(l, w[j,l]*sum(p, c[p]*w[l,p]))"  # outer l, inner p; j stays free


def test_renaming_symbols_gives_what_sympy_would_build_kronecker_deltas_included():
    n = sp.Symbol("n", integer=True, positive=True)
    j, k, p, a = (make_index(name, n) for name in "jkpa")
    x = sp.IndexedBase("x")
    expr = sp.KroneckerDelta(j, k) * x[k] + sp.KroneckerDelta(p, j) * sp.tanh(x[p])
    for mapping in ({j.label: a.label}, {k.label: a.label, j.label: k.label}):
        assert rename_symbols(expr, mapping) == expr.xreplace(mapping)


def test_expressions_of_one_form_differ_only_by_names():
    n, m = (sp.Symbol(name, integer=True, positive=True) for name in "nm")
    j, k = make_index("j", n), make_index("k", m)
    x, y = sp.IndexedBase("x"), sp.IndexedBase("y")
    form, names = up_to_names(2 * x[j] + sp.tanh(x[j]))
    renamed, other_names = up_to_names(2 * y[k] + sp.tanh(y[k]))
    assert form == renamed and len(names) == len(other_names)
    assert up_to_names(3 * x[j] + sp.tanh(x[j]))[0] != form            # another number
    assert up_to_names(sp.Float(2) * x[j] + sp.tanh(x[j]))[0] != form  # another kind of number
    assert up_to_names(2 * x[j] + sp.sinh(x[j]))[0] != form            # another function
    assert up_to_names(2 * x[j] + sp.tanh(y[k]))[0] != form            # two names where there was one


def test_documents_show_a_requested_gradient_written_out_and_each_block_once():
    derivation = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml")
    engine = derivation.engine
    blocks = engine.blocks_for(["w1", "z1"])
    assert len({block.key for block in blocks}) == len(blocks)
    shown = next(block for block in blocks if block.key == engine.gradient_of("z1").block.key)
    assert shown.steps[-1].rule == "substitute_derived"
    assert engine.store.get(shown.key).steps == shown.steps[:-1]  # the derived form, as the chain uses it


def test_a_scalar_intermediate_referred_to_is_written_out():
    """Regression: writing out dE/dmu of a scalar mu read mu.base (AttributeError)."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},
                   {"type": "custom", "define": "mu = sum(j, z[j])"},
                   {"type": "custom", "define": "a[j] = z[j] - mu"},
                   {"type": "softmax", "input": "a", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}})
    derivation.verify()
    assert "d(" not in text(derivation.gradient("z").result)


def _tanh_chain(depth: int, after_softmax: bool) -> dict:
    layers = [{"type": "affine", "input": "x", "output": "h0", "weight": "w"}]
    previous = "h0"
    if after_softmax:
        layers.append({"type": "softmax", "input": "h0", "output": "s"})
        previous = "s"
    for level in range(1, depth + 1):
        layers.append({"type": "tanh", "input": previous, "output": f"h{level}"})
        previous = f"h{level}"
    if after_softmax:
        return {"layers": layers, "loss": {"type": "mse", "input": previous, "target": "t"}}
    layers.append({"type": "softmax", "input": previous, "output": "o"})
    return {"layers": layers, "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}}


@pytest.mark.parametrize("after_softmax", [False, True])
def test_sixteen_tanh_layers_one_after_another_derive_with_one_factor_each(after_softmax):
    """Regression: multiplying out every bracket of (1 - h16^2)...(1 - h1^2) took exponential time."""
    derivation = Derivation.from_dict(_tanh_chain(16, after_softmax))
    result = text(derivation.gradient("h0").result)
    assert all(f"(1 - h{level}[" in result for level in range(1, 17))
    assert len(result) < 1000


def test_a_layer_whose_output_does_not_reach_the_loss_is_refused():
    """Found by fuzzing (finite differences of a loss the moved quantity does not reach), and by
    a misspelt input, which made the layer before it a dead end and its gradient a silent 0."""
    with pytest.raises(SpecError, match=r"layer 1 \(affine\): its output 'z' is not used by any later layer "
                                        r"or by the loss \(is an input misspelt\?\)"):
        Derivation.from_dict({
            "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w0"},
                       {"type": "custom", "define": "o[j] = w[j]", "parameters": ["w"]}],
            "loss": {"type": "mse", "input": "o", "target": "t"}})
    with pytest.raises(SpecError, match="its output 'z' is not used"):
        Derivation.from_dict({
            "layers": [{"type": "affine", "input": "y", "output": "z", "weight": "w"},
                       {"type": "softmax", "input": "q", "output": "o"}],
            "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}})


def test_sums_built_fast_are_sympys_sums():
    from derive.model.indices import make_sum, replace_indices
    n = sp.Symbol("n", integer=True, positive=True)
    i, k, q = (make_index(name, n) for name in "ikq")
    x, w = sp.IndexedBase("x"), sp.IndexedBase("w")
    inner = sp.Sum(w[i, k] * x[k], (k, 0, k.upper))
    for fast, slow in ((make_sum(w[i, k] * x[k], (k, 0, k.upper)), inner),
                       (make_sum(inner, (i, 0, i.upper)), sp.Sum(inner, (i, 0, i.upper)))):
        assert type(fast) is sp.Sum and fast == slow and hash(fast) == hash(slow) and fast.limits == slow.limits
    assert replace_indices(inner, {k: q}) == inner.xreplace({k: q})


class _Forgetful(dict):
    """A store of local derivations that keeps nothing: every layer derived anew."""

    def setdefault(self, key, default=None):
        return default


DEEP_TANH = deep_tanh_network(4)


@pytest.mark.parametrize("spec", [
    DEEP_TANH,
    {"layers": [{"type": "custom", "define": "h[j] = sigmoid(x[j])*x[j]"},  # swish, twice, then a softmax
                {"type": "custom", "define": "g[j] = sigmoid(h[j])*h[j]"},
                {"type": "affine", "input": "g", "output": "z", "weight": "w", "bias": "b"},
                {"type": "softmax", "input": "z", "output": "o"}],
     "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}},
    {"layers": [{"type": "affine", "input": "x", "output": "z1", "weight": "w1"},
                {"type": "relu", "input": "z1", "output": "a1"},
                {"type": "affine", "input": "a1", "output": "z2", "weight": "w2", "layout": "out_in"},
                {"type": "relu", "input": "z2", "output": "a2"},
                {"type": "affine", "input": "a2", "output": "o", "weight": "w3"}],
     "loss": {"type": "mse", "input": "o", "target": "t"}},
], ids=["deep tanh", "swish twice", "relu, mixed weight layouts"])
def test_layers_of_one_form_are_derived_once_and_renamed_exactly(spec):
    """A layer of the same form as an earlier one gets the earlier derivation with its own names:
    the same steps, rules and details as deriving it anew, and it verifies."""
    renamed, fresh = Derivation.from_dict(spec), Derivation.from_dict(spec)
    fresh.engine.local_forms = _Forgetful()
    for name in renamed.wrt:
        for ours, theirs in zip(renamed.gradient(name).blocks, fresh.gradient(name).blocks, strict=True):
            assert ours.lhs == theirs.lhs
            assert [(s.expr, s.rule, s.detail) for s in ours.steps] == \
                [(s.expr, s.rule, s.detail) for s in theirs.steps]
    if spec is DEEP_TANH:  # its layers of one form share their derivations (elsewhere names may keep them apart)
        assert len(renamed.engine.local_forms) < sum(1 for key in renamed.engine.store._derived if key.output)
    renamed.verify()
    assert renamed.markdown() == fresh.markdown()


def test_a_derivation_holding_a_name_as_text_is_not_renamed():
    from derive.engine.local import _loose_names, _renamed
    from derive.rules.steps import Step
    t, u = sp.Symbol("t"), sp.Symbol("u")
    steps = (Step(t + 1, "normalized_targets", {"sums": [t], "target": "t", "kind": "one_hot"}),)
    assert _renamed(steps, {t: u}, _loose_names(steps, {t})) is None
    cancel = (Step(t + 1, "cancel", {"factors": [t]}),)
    assert _renamed(cancel, {t: u}, _loose_names(cancel, {t}))[0].expr == u + 1


def test_a_derivation_with_a_symbol_no_renaming_covers_is_not_renamed():
    from derive.engine.local import _loose_names, _renamed
    from derive.rules.steps import Step
    t, u, c = sp.Symbol("t"), sp.Symbol("u"), sp.Symbol("c")
    steps = (Step(c * t, "cancel", {"factors": [t]}),)
    assert _loose_names(steps, {t}) is None
    assert _renamed(steps, {t: u}, None) is None


def test_results_are_lettered_alike_with_each_range_s_own_letter_first():
    """Regression (#10): the dummy index changed from box to box (sum over k in one, l in the next)."""
    derivation = Derivation.from_spec(EXAMPLES / "relu-class-weights.toml")
    sums = {name: text(derivation.gradient(name).result) for name in ("r", "h", "v", "b")}
    assert all("sum(k, w[j,k]*(o[k] - t[k])*sum(l, c[l]*t[l]))" in result for result in sums.values()), sums
    two_layer = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml")
    assert text(two_layer.gradient("x").result).startswith("sum(j, w1[i,j]*")  # hidden units are j, as in z1_j
