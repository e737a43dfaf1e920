"""Numerical helpers for tests: compare index expressions at random points of a network."""
from __future__ import annotations

import numpy as np

from derive.numeric.points import points


def same_values(network, first, second, order) -> bool:
    """True when two index expressions agree at every test point and every index value."""
    for point in points(network):
        if not np.allclose(point.evaluate(first, order), point.evaluate(second, order), atol=1e-9):
            return False
    return True


def matches_finite_differences(network, gradient) -> bool:
    from derive.model.partials import Partial
    lhs = gradient.block.lhs
    order = tuple(gradient.indices)
    for point in points(network):
        if not np.allclose(point.evaluate(gradient.result, order), point.evaluate(lhs, order), atol=1e-6):
            return False
    return isinstance(lhs, Partial)
