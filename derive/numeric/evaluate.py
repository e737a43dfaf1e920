"""Index expressions evaluated on NumPy arrays: one array axis per free index, no element loops.

``IndexEvaluator`` dispatches on the expression's class, one ``_<Class>`` method each, like a
SymPy printer.  A ``budget`` caps the numbers any one array may hold (verification sets it), so
an expression that would need more is refused before it is allocated.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from ..errors import LimitReached
from ..model.partials import Partial
from ..model.primitives import of as primitive_of


class IndexEvaluator:
    """``size(idx)`` gives an index's range; ``partial(Partial)`` evaluates an unevaluated
    derivative (by finite differences); ``budget`` caps the size of every array."""

    def __init__(self, values: dict, size, partial=None, budget: int | None = None):
        self.values, self.size, self.partial, self.budget = values, size, partial, budget

    def value(self, expr) -> tuple[np.ndarray, tuple]:
        """(array, axes): the value of ``expr`` with one array axis per free index, in ``axes`` order."""
        if (primitive := primitive_of(expr)) is not None:
            array, axes = self.value(expr.args[0])
            return primitive.array(array), axes
        method = _method_for(type(expr))
        if method is None:
            raise TypeError(f"cannot evaluate {type(expr).__name__} numerically")
        return method(self, expr)

    def aligned(self, expr, order) -> np.ndarray:
        """The value as an array with one axis per index of ``order``, in that order."""
        array, axes = self.value(expr)
        return align(array, axes, tuple(order), self.size)

    def _Indexed(self, expr):
        return diagonal(np.asarray(self.values[str(expr.base.label)], dtype=float), tuple(expr.indices))

    def _Symbol(self, expr):
        return np.asarray(float(self.values[expr.name])), ()

    def _Number(self, expr):  # 2, 1/2
        return np.asarray(float(expr)), ()

    _NumberSymbol = _Number  # e, pi

    def _KroneckerDelta(self, expr):
        first, second = expr.args
        if first == second:
            return np.asarray(1.0), ()
        return np.eye(self.size(first)), (first, second)

    def _Add(self, expr):
        return self._combine([self.value(a) for a in expr.args], np.add)

    def _Mul(self, expr):
        return self._combine([self.value(a) for a in expr.args], np.multiply)

    def _Pow(self, expr):
        return self._combine([self.value(a) for a in expr.args], np.power)

    def _Sum(self, expr):
        array, axes = self.value(expr.function)
        for idx, _, _ in expr.limits:
            if idx in axes:
                array, axes = array.sum(axis=axes.index(idx)), tuple(a for a in axes if a != idx)
            else:
                array = array * self.size(idx)
        return array, axes

    def _DiracDelta(self, expr):
        # the derivative of a step (heaviside): zero wherever it is evaluated, since sample
        # points are never exactly on its edge
        array, axes = self.value(expr.args[0])
        return np.zeros_like(array, dtype=float), axes

    def _Derivative(self, expr):
        # diff, not doit(): doit would also try to sum every Sum in closed form
        return self.value(sp.diff(expr.expr, *expr.variables))

    def _Partial(self, expr: Partial):
        return self.partial(expr)

    def _combine(self, parts, operation):
        axes = tuple(dict.fromkeys(a for _, part_axes in parts for a in part_axes))
        if self.budget is not None and math.prod(self.size(a) for a in axes) > self.budget:
            raise LimitReached(f"checking this would need arrays of {math.prod(self.size(a) for a in axes)} "
                               f"numbers (over {len(axes)} indices); verification is limited to {self.budget}")
        result = None
        for array, part_axes in parts:
            aligned = _broadcast(array, part_axes, axes)
            result = aligned if result is None else operation(result, aligned)
        return result, axes


@functools.cache
def _method_for(cls):
    """The evaluator's method for a class: the nearest one along its MRO (DirectPartial -> _Partial)."""
    return next((getattr(IndexEvaluator, f"_{c.__name__}") for c in cls.__mro__
                 if hasattr(IndexEvaluator, f"_{c.__name__}")), None)


def evaluate(expr, values: dict, size, partial=None):
    """(array, axes) of ``expr``; see IndexEvaluator."""
    return IndexEvaluator(values, size, partial).value(expr)


def evaluate_aligned(expr, values: dict, size, order, partial=None) -> np.ndarray:
    """The value of ``expr`` as an array with one axis per index of ``order``, in that order."""
    return IndexEvaluator(values, size, partial).aligned(expr, order)


def diagonal(array, indices):
    """Take repeated indices (x[j, j]) as a diagonal; return (array, unique axes)."""
    unique = tuple(dict.fromkeys(indices))
    if len(unique) == len(indices):
        return array, unique
    letters = {idx: chr(97 + n) for n, idx in enumerate(unique)}
    spec = "".join(letters[i] for i in indices) + "->" + "".join(letters[i] for i in unique)
    return np.einsum(spec, array), unique


def _broadcast(array, axes, target):
    order = [axes.index(a) for a in target if a in axes]
    array = np.transpose(array, order) if order else array
    shape = []
    present = iter(array.shape)
    for a in target:
        shape.append(next(present) if a in axes else 1)
    return np.reshape(array, shape)


def align(array, axes, order, size) -> np.ndarray:
    """The array with axes in ``order``, broadcast to full size where an index is absent."""
    aligned = _broadcast(array, axes, tuple(order))
    return np.broadcast_to(aligned, tuple(size(i) for i in order)).copy()
