"""The step verifier catches wrong steps, and every example passes it."""
import dataclasses

import pytest
import sympy as sp

from derive import VerificationError
from derive.engine import Engine
from derive.rules import REWRITES, Step, StepKind
from derive.numeric.verify import verify


def _drop_off_diagonal(expr, ctx):
    """The classic mistake: treat d o_j / d z_k as if only k = j mattered (delta -> 1)."""
    if not expr.has(sp.KroneckerDelta) or expr.has(sp.Sum):
        return None
    return expr.replace(lambda e: isinstance(e, sp.KroneckerDelta), lambda e: sp.S.One), {}


def _forget_the_minus_sign(expr, ctx):
    if expr.could_extract_minus_sign() and not expr.has(sp.Sum):
        return -expr, {}
    return None


@pytest.mark.parametrize("wrong", [_drop_off_diagonal, _forget_the_minus_sign])
def test_a_deliberately_wrong_step_is_caught(seed, wrong):
    engine = Engine(seed.network, [StepKind("wrong", (), wrong), *REWRITES])
    with pytest.raises(VerificationError, match="step .* \\(wrong\\)"):
        verify(engine, ["z"])


def test_a_wrong_local_derivative_is_caught_against_finite_differences(seed):
    engine = Engine(seed.network)
    block = engine.local_block(seed.network.defining("o"), "z")
    o = block.lhs.numerator
    wrong = Step(o * (1 - o), "wrong")  # the seed question's error
    engine.store.add(dataclasses.replace(block, steps=(*block.steps[:-1], wrong)))
    with pytest.raises(VerificationError, match="finite differences|line before"):
        verify(engine, ["o", "z"])


def test_every_example_passes_the_step_verifier(example, matches_finite_differences):
    report = example.verify()
    assert report.steps_checked > 0 and report.values_compared > 0
    for gradient in example.gradients():
        assert matches_finite_differences(example.network, gradient)


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_central_differences_of_a_known_function_in_any_chunks(chunk):
    import numpy as np
    from derive.numeric.points import central_differences
    x = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])
    jacobian = central_differences(x, lambda copies: np.sin(copies).sum(axis=2), chunk)  # f_a = sum_b sin x_ab
    expected = np.zeros((2, 2, 3))
    for a in range(2):
        expected[a, a, :] = np.cos(x[a])
    assert np.allclose(jacobian, expected, atol=1e-8)


def test_a_gradient_on_its_own_is_verified_without_what_only_documents_show():
    """derive gradient and the backward pass check the derivation, not the tempting mistakes or
    the worked example, which only a document shows (they cost a third of a gradient's check)."""
    from derive import Derivation
    alone = Derivation.builtin().verify(["w"], documents=False)
    assert alone.mistakes == () and alone.worked is None and alone.steps_checked > 0
    full = Derivation.builtin().verify(["w"])
    assert full.mistakes and full.worked is not None and full.steps_checked == alone.steps_checked
