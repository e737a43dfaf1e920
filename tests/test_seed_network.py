"""The softmax + cross-entropy network of the seed questions: every result, both target kinds."""
import pytest

from derive import Derivation, parse_expression
from derive.printing import text

from conftest import EXAMPLES

EXPECTED_ONE_HOT = {
    "o": ("j", "-t[j]/o[j]"),
    "z": ("j", "o[j] - t[j]"),
    "w": ("i,j", "y[i]*(o[j] - t[j])"),
    "b": ("j", "o[j] - t[j]"),
    "y": ("i", "sum(j, w[i,j]*(o[j] - t[j]))"),
}


@pytest.mark.parametrize("name", list(EXPECTED_ONE_HOT))
def test_one_hot_results_match_the_hand_derivation(seed, same_values, name):
    indices, expected = EXPECTED_ONE_HOT[name]
    gradient = seed.gradient(name)
    assert ",".join(i.name for i in gradient.indices) == indices
    assert text(gradient.result) == expected
    expected_expr = parse_expression(seed.network, expected, tuple(indices.split(",")))
    assert same_values(seed.network, gradient.result, expected_expr, gradient.indices)


@pytest.mark.parametrize("name", list(EXPECTED_ONE_HOT))
def test_results_agree_with_finite_differences_of_the_loss(seed, matches_finite_differences, name):
    assert matches_finite_differences(seed.network, seed.gradient(name))


def test_softmax_jacobian_keeps_the_off_diagonal_terms(seed):
    local = seed.engine.local_block(seed.network.defining("o"), "z")
    assert text(local.lhs) == "partial(o[k], z[j])"
    assert text(local.result) == "o[k]*(delta(j,k) - o[j])"


def test_unnormalized_targets_keep_the_sum_of_targets(derivation_of):
    soft = derivation_of("soft-targets")
    assert text(soft.gradient("z").result) == "o[j]*sum(k, t[k]) - t[j]"
    assert text(soft.gradient("w").result) == "y[i]*(o[j]*sum(k, t[k]) - t[j])"  # lettered as dE/dz is
    assert "normalized_targets" not in [s.rule for s in soft.gradient("z").steps]


def test_general_form_is_shown_before_the_target_constraint(seed):
    steps = seed.gradient("z").block.steps
    rules = [s.rule for s in steps]
    assert rules[-1] == "normalized_targets"
    assert text(steps[-2].expr) == "o[j]*sum(k, t[k]) - t[j]"


def test_distribution_targets_also_sum_to_one():
    data = {
        "layers": [{"type": "affine", "input": "y", "output": "z", "weight": "w"},
                   {"type": "softmax", "input": "z", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "distribution"},
    }
    derivation = Derivation.from_dict(data)
    assert text(derivation.gradient("z").result) == "o[j] - t[j]"
    derivation.verify(["z", "w"])


def test_chain_rule_sums_over_every_output_with_a_fresh_index(seed):
    chain = seed.gradient("z").block.steps[0]
    assert chain.rule == "chain_rule"
    assert text(chain.expr) == "sum(k, partial(E, o[k])*partial(o[k], z[j]))"


def test_derivation_is_deterministic():
    """Two fresh derivations of one spec in one process print the same documents."""
    first = Derivation.from_spec(EXAMPLES / "softmax-cross-entropy.toml")
    second = Derivation.from_spec(EXAMPLES / "softmax-cross-entropy.toml")
    assert first.markdown() == second.markdown()
    assert first.latex() == second.latex()
