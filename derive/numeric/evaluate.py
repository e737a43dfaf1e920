"""Index expressions evaluated on NumPy arrays: one array axis per free index, no element loops."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..model.partials import Partial
from ..model.primitives import of as primitive_of


def evaluate(expr, values: dict, size, partial):
    """(array, axes): the value of ``expr`` with one array axis per free index, in ``axes`` order."""
    if isinstance(expr, sp.Indexed):
        name = str(expr.base.label)
        array = np.asarray(values[name], dtype=float)
        return diagonal(array, tuple(expr.indices))
    if isinstance(expr, sp.Symbol):
        return np.asarray(float(values[expr.name])), ()
    if expr.is_Number or expr.is_NumberSymbol:  # 2, 1/2, e, pi
        return np.asarray(float(expr)), ()
    if isinstance(expr, sp.KroneckerDelta):
        first, second = expr.args
        if first == second:
            return np.asarray(1.0), ()
        return np.eye(size(first)), (first, second)
    if isinstance(expr, sp.Add):
        return _combine([evaluate(a, values, size, partial) for a in expr.args], np.add, size)
    if isinstance(expr, sp.Mul):
        return _combine([evaluate(a, values, size, partial) for a in expr.args], np.multiply, size)
    if (primitive := primitive_of(expr)) is not None:
        array, axes = evaluate(expr.args[0], values, size, partial)
        return primitive.array(array), axes
    if isinstance(expr, sp.Pow):
        return _combine([evaluate(a, values, size, partial) for a in expr.args], np.power, size)
    if isinstance(expr, sp.Sum):
        array, axes = evaluate(expr.function, values, size, partial)
        for idx, _, _ in expr.limits:
            if idx in axes:
                array, axes = array.sum(axis=axes.index(idx)), tuple(a for a in axes if a != idx)
            else:
                array = array * size(idx)
        return array, axes
    if isinstance(expr, sp.DiracDelta):
        # the derivative of a step: zero wherever it is evaluated (sample points are never on the kink)
        array, axes = evaluate(expr.args[0], values, size, partial)
        return np.zeros_like(array, dtype=float), axes
    if isinstance(expr, sp.Derivative):
        # diff, not doit(): doit would also try to sum every Sum in closed form
        return evaluate(sp.diff(expr.expr, *expr.variables), values, size, partial)
    if isinstance(expr, Partial):
        return partial(expr)
    raise TypeError(f"cannot evaluate {expr.func.__name__} numerically")


def evaluate_aligned(expr, values: dict, size, order, partial=None) -> np.ndarray:
    """The value of ``expr`` as an array with one axis per index of ``order``, in that order."""
    array, axes = evaluate(expr, values, size, partial)
    return align(array, axes, tuple(order), size)


def diagonal(array, indices):
    """Take repeated indices (x[j, j]) as a diagonal; return (array, unique axes)."""
    unique = tuple(dict.fromkeys(indices))
    if len(unique) == len(indices):
        return array, unique
    letters = {idx: chr(97 + n) for n, idx in enumerate(unique)}
    spec = "".join(letters[i] for i in indices) + "->" + "".join(letters[i] for i in unique)
    return np.einsum(spec, array), unique


def _combine(parts, operation, size):
    axes = tuple(dict.fromkeys(a for _, part_axes in parts for a in part_axes))
    result = None
    for array, part_axes in parts:
        aligned = _broadcast(array, part_axes, axes)
        result = aligned if result is None else operation(result, aligned)
    return result, axes


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


