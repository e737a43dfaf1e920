"""The cases of a Jacobian and the mistakes shown in a document, checked like every other line,
and the small numbers that show a mistake is one."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.cases import JacobianCases
from ..engine.mistakes import Mistake
from ..errors import VerificationError
from ..model.indices import make_sum, rename_bound, rename_free
from ..model.partials import indices_of, tensor_names
from .points import Point

TOLERANCE = 1e-9


def _order_of(block) -> tuple:
    return tuple(dict.fromkeys((*indices_of(block.lhs.numerator), *block.indices)))


def check_cases(block, cases: JacobianCases, point: Point) -> int:
    """The derivative's entries where the two indices are equal, and where they differ, are the
    two cases; return the values compared."""
    order = _order_of(block)
    full = point.evaluate(block.result, order)
    out, into = order.index(cases.output_index), order.index(cases.input_index)
    without_out = tuple(i for i in order if i != cases.output_index)
    equal = np.moveaxis(point.evaluate(cases.equal, without_out), without_out.index(cases.input_index), -1)
    different = point.evaluate(cases.different, order)
    shape = [1] * len(order)
    shape[out], shape[into] = full.shape[out], full.shape[into]
    off_diagonal = np.broadcast_to(1 - np.eye(full.shape[out]).reshape(shape), full.shape).astype(bool)
    if not np.allclose(np.diagonal(full, axis1=out, axis2=into), equal, rtol=TOLERANCE, atol=TOLERANCE) or \
            not np.allclose(full[off_diagonal], different[off_diagonal], rtol=TOLERANCE, atol=TOLERANCE):
        raise VerificationError(f"the cases of {block.lhs} do not agree with it")
    return int(full.size)


def check_mistake(engine, mistake: Mistake, point: Point) -> None:
    """What the mistake gives, checked against what it is, the way its model says (below)."""
    if not CHECKS[mistake.model](engine, mistake, point):
        raise VerificationError(f"what the {mistake.model} mistake gives for dE/d{mistake.variable} "
                                f"does not follow from its model")


def _diagonal_only(engine, mistake: Mistake, point: Point) -> bool:
    """What the mistake changes is the chain rule through its layer with its Jacobian put in:
    wrong - right = sum_k dE/dU_k (J_mistake - J)_kj (every other path is the same in both)."""
    upstream = engine.gradient_of(mistake.layer.output)
    own = indices_of(mistake.block.lhs.numerator)
    taken = {i.name for i in (*own, *mistake.block.indices)}
    # upstream's summation indices moved out of the way before its free ones take the names of own
    moved = rename_bound(upstream.result, taken, engine.naming.pool)
    upstream_value = rename_free(moved, dict(zip(upstream.indices, own)))
    summand = upstream_value * (mistake.detail["jacobian"] - mistake.block.result)
    expected = point.evaluate(make_sum(summand, *[(i, 0, i.upper) for i in own]), mistake.indices)
    difference = point.evaluate(mistake.wrong - mistake.right, mistake.indices)
    return bool(np.allclose(difference, expected, rtol=TOLERANCE, atol=TOLERANCE))


def _divided(engine, mistake: Mistake, point: Point) -> bool:
    """The quotient of the two derivatives, each by finite differences of the forward pass."""
    division = mistake.detail["divided"]
    expected = point.evaluate(division["gradient"] / division["by"], mistake.indices)
    return bool(np.allclose(point.evaluate(mistake.wrong, mistake.indices), expected, rtol=1e-6, atol=1e-6))


CHECKS = {"diagonal_only": _diagonal_only, "divided": _divided}


@dataclass(frozen=True)
class Counterexample:
    """Sizes and values where the mistake's gradient and the right one differ."""

    sizes: dict
    values: dict        # name -> array: the quantities the two gradients read
    right: np.ndarray
    wrong: np.ndarray


def counterexample(mistake: Mistake, points: list[Point]) -> Counterexample | None:
    """At the first sample point (the smallest sizes come first) where the two differ."""
    for point in points:
        right = point.evaluate(mistake.right, mistake.indices)
        wrong = point.evaluate(mistake.wrong, mistake.indices)
        if not np.allclose(right, wrong, rtol=1e-6, atol=1e-6):
            names = sorted(tensor_names(mistake.right) | tensor_names(mistake.wrong))
            return Counterexample({str(d): v for d, v in point.sizes.items()},
                                  {name: np.asarray(point.values[name]) for name in names}, right, wrong)
    return None
