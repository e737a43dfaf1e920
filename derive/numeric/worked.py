"""The worked example checked like every other line: each line at a sample point of its own
small sizes, against the line before and against finite differences of the forward pass."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..engine.worked import WorkedExample
from ..errors import VerificationError
from ..model.partials import Partial
from .points import SEED, Point, sample

TOLERANCE = 1e-6  # the lines with derivatives in them are finite differences


@dataclass(frozen=True)
class WorkedChecked:
    """The numbers a reader can check the example with: the entries' values, and the value
    every line has there."""

    values: tuple      # (entry, value) for every entry the example uses
    value: float


def check_worked(engine, worked: WorkedExample) -> WorkedChecked:
    network = engine.network
    entries = dict(worked.entries)
    point = _point(network, worked, entries)
    values = {entry: sp.Float(float(np.asarray(point.values[name])[position]), 17)
              for entry, (name, position) in entries.items()}
    values |= {sp.Symbol(t.name): sp.Float(float(point.values[t.name]), 17)
               for t in network.tensors.values() if not t.dims and t.name in point.values}
    variable = worked.lhs.denominator
    name, position = entries[variable]
    true = float(point.jacobian(network.loss.output, name, True)[position])
    previous = None
    for number, step in enumerate(worked.steps, start=1):
        value = _value(step.expr, values, entries, point, network)
        if not np.isclose(value, true, rtol=TOLERANCE, atol=TOLERANCE) or \
                (previous is not None and not np.isclose(value, previous, rtol=TOLERANCE, atol=TOLERANCE)):
            raise VerificationError(f"line {number} ({step.rule}) of the worked example of {worked.lhs} "
                                    f"does not agree with finite differences")
        previous = value
    used = set().union(*(step.expr.free_symbols for step in worked.steps),
                       *(rhs.free_symbols for _, rhs in worked.equations))
    return WorkedChecked(tuple((entry, float(v)) for entry, v in values.items() if entry in entries or entry in used),
                         true)


def _point(network, worked: WorkedExample, entries: dict) -> Point:
    """A point at the example's sizes where the variable's entries differ (with one sample
    input, a rectifier can make them all 0, and o_1 = o_2 shows less)."""
    name, _ = entries[worked.lhs.denominator]
    for seed in range(SEED, SEED + 20):
        with np.errstate(all="ignore"):
            point = Point(network, worked.sizes, sample(network, worked.sizes, np.random.default_rng(seed)))
        if len(np.unique(np.round(point.values[name], 6))) == np.size(point.values[name]):
            return point
    return point


def _value(expr, values: dict, entries: dict, point: Point, network) -> float:
    """The line at the point: each entry its value, each derivative its finite difference."""
    partials = {}
    for partial in expr.atoms(Partial):
        (top, top_at), (bottom, bottom_at) = (_entry(q, entries) for q in (partial.numerator, partial.denominator))
        jacobian = point.jacobian(top, bottom, top == network.loss.output)
        partials[partial] = sp.Float(float(jacobian[(*top_at, *bottom_at)]), 17)
    return float(expr.xreplace(partials).xreplace(values))


def _entry(quantity, entries: dict) -> tuple[str, tuple]:
    if quantity in entries:
        return entries[quantity]
    return quantity.name, ()  # the loss, a scalar
