"""Index expressions evaluated on NumPy arrays: one array axis per free index, no element loops.

Each expression is compiled once (``compiled``: one closure per node, made by the function for
its class, like a SymPy printer's ``_print_<Class>``) and then evaluated at any number of points
without walking the SymPy tree again.  A ``budget`` caps the numbers any one array may hold
(verification sets it), so an expression that would need more is refused before it is allocated.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import sympy as sp

from ..errors import LimitReached
from ..model.indices import make_sum, rename_symbols, up_to_names
from ..model.partials import Abbreviation, Partial
from ..model.primitives import of as primitive_of
from .matrix import floating, precision

Value = tuple[np.ndarray, tuple]  # an array and the index each of its axes stands for


PROBE = sp.Idx(sp.Symbol("probe", integer=True), sp.Symbol("probes", integer=True, positive=True))


class IndexEvaluator:
    """``size(idx)`` gives an index's range; ``partial(Partial)`` evaluates an unevaluated
    derivative (by finite differences); ``budget`` caps the size of every array.

    ``probed`` names quantities whose arrays carry one more, leading axis of ``probes`` copies
    (the PROBE index): finite differences move all their values at once through one evaluation.
    """

    def __init__(self, values: dict, size, partial=None, budget: int | None = None,
                 probed: frozenset = frozenset(), probes: int = 0, dtype: np.dtype | None = None,
                 memo: dict | None = None):
        self.values, self.partial, self.budget, self.probed = values, partial, budget, probed
        if dtype is not None:  # known to the caller (sample points are float64)
            self.dtype = dtype
        self.memo = memo
        self.size = size if not probed else (lambda idx: probes if idx is PROBE else size(idx))

    @functools.cached_property
    def dtype(self) -> np.dtype:
        # computed in the precision of the arrays (float32 in, float32 out); constants are Python
        # floats, which NumPy does not let widen an array
        return precision(self.values)

    def value(self, expr) -> Value:
        """(array, axes): the value of ``expr`` with one array axis per free index, in ``axes`` order."""
        return compiled(expr)(self)

    def aligned(self, expr, order) -> np.ndarray:
        """The value as an array with one axis per index of ``order``, in that order."""
        array, axes = self.value(expr)
        return align(array, axes, tuple(order), self.size)

    def combine(self, parts: list[Value], operation) -> Value:
        axes = tuple(dict.fromkeys(a for _, part_axes in parts for a in part_axes))
        if self.budget is not None and math.prod(self.size(a) for a in axes) > self.budget:
            raise LimitReached(f"checking this would need arrays of {math.prod(self.size(a) for a in axes)} "
                               f"numbers (over {len(axes)} indices); verification is limited to {self.budget}")
        result = None
        for array, part_axes in parts:
            aligned = _broadcast(array, part_axes, axes)
            result = aligned if result is None else operation(result, aligned)
        return result, axes


    def contract(self, parts: list[Value], summed: tuple) -> Value:
        """The product of ``parts`` summed over the indices ``summed``, in one einsum."""
        axes = tuple(dict.fromkeys(a for _, part_axes in parts for a in part_axes))
        kept = tuple(a for a in axes if a not in summed)
        # the work is the product over every index, summed ones included: bounded like the arrays
        work = math.prod(self.size(a) for a in axes)
        if self.budget is not None and work > self.budget:
            raise LimitReached(f"checking this would need {work} products (over {len(axes)} indices); "
                               f"verification is limited to {self.budget}")
        if len(axes) > len(_LETTERS) or len(parts) > MAX_EINSUM_OPERANDS:  # beyond what einsum takes
            return self._summed(self.combine(parts, np.multiply), summed)
        scale = math.prod(float(array) for array, part_axes in parts if not part_axes)
        parts = [(array, part_axes) for array, part_axes in parts if part_axes]
        if not parts:
            return scale * math.prod(self.size(idx) for idx in summed), ()
        letters = {a: _LETTERS[n] for n, a in enumerate(axes)}
        subscripts = ",".join("".join(letters[a] for a in part_axes) for _, part_axes in parts)
        arrays = [array for array, _ in parts]
        large = any(np.size(array) > 4096 for array in arrays)  # then BLAS and a contraction order pay off
        result = np.einsum(f"{subscripts}->{''.join(letters[a] for a in kept)}", *arrays,
                           optimize="greedy" if large else False)
        for idx in summed:
            if idx not in letters:  # summing what does not depend on the index: times its range
                result = result * self.size(idx)
        return (result * scale if scale != 1 else result), kept

    def _summed(self, value: Value, summed: tuple) -> Value:
        array, axes = value
        for idx in summed:
            if idx in axes:
                array, axes = array.sum(axis=axes.index(idx)), tuple(a for a in axes if a != idx)
            else:
                array = array * self.size(idx)
        return array, axes


MAX_EINSUM_OPERANDS = 32
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

Compiled = Callable[[IndexEvaluator], Value]
_LEAVES = (sp.Indexed, sp.KroneckerDelta)


@functools.lru_cache(maxsize=16384)
def compiled(expr) -> Compiled:
    """A function of an IndexEvaluator that gives the value of ``expr``, made once per expression."""
    if (primitive := primitive_of(expr)) is not None:
        return _remembered(_apply(primitive.array, compiled(expr.args[0])))
    for cls in type(expr).__mro__:
        if cls in _COMPILERS:
            made = _COMPILERS[cls](expr)
            return made if not expr.args or isinstance(expr, _LEAVES) else _remembered(made)
    raise TypeError(f"cannot evaluate {type(expr).__name__} numerically")


def _remembered(value: Compiled) -> Compiled:
    """``value``, kept in the evaluator's ``memo`` (if it has one): the lines of one point's
    derivations share most of their subexpressions."""
    def remembered(env):
        memo = env.memo
        if memo is None:
            return value(env)
        found = memo.get(value)  # keyed by the compiled function, one per expression: hashed by identity
        if found is None:
            found = memo[value] = value(env)
        return found
    return remembered


def _apply(function, inner: Compiled) -> Compiled:
    def value(env):
        array, axes = inner(env)
        return function(array), axes
    return value


def _indexed(expr) -> Compiled:
    name, indices = expr.base.label.name, tuple(expr.indices)

    def value(env):
        axes = (PROBE, *indices) if name in env.probed else indices
        return diagonal(floating(env.values[name]), axes)
    return value


def _symbol(expr) -> Compiled:
    name = expr.name

    def value(env):
        if name in env.probed:
            return floating(env.values[name]), (PROBE,)
        return float(env.values[name]), ()
    return value


def _number(expr) -> Compiled:  # 2, 1/2, e, pi
    constant = float(expr)
    return lambda env: (constant, ())


def _kronecker_delta(expr) -> Compiled:
    first, second = expr.args
    if first == second:
        return lambda env: (1.0, ())
    return lambda env: (np.eye(env.size(first), dtype=env.dtype), (first, second))


def _operation(operation):
    def compile_(expr) -> Compiled:
        parts = [compiled(arg) for arg in expr.args]
        return lambda env: env.combine([part(env) for part in parts], operation)
    return compile_


def _sum(expr) -> Compiled:
    """A sum of a product is one contraction (einsum): the product over all the indices of its
    factors is never formed.  A sum of terms is the sum of their sums, so that no term is spread
    over the indices of another."""
    summed, body = tuple(limit[0] for limit in expr.limits), expr.function
    if isinstance(body, sp.Add):
        terms = [compiled(make_sum(term, *expr.limits)) for term in body.args]
        return lambda env: env.combine([term(env) for term in terms], np.add)
    factors = [compiled(factor) for factor in (body.args if isinstance(body, sp.Mul) else (body,))]
    return lambda env: env.contract([factor(env) for factor in factors], summed)


def _dirac_delta(expr) -> Compiled:
    # the derivative of a step (heaviside): zero wherever it is evaluated, since sample points
    # are never exactly on its edge
    inner = compiled(expr.args[0])

    def value(env):
        array, axes = inner(env)
        return np.zeros_like(array, dtype=env.dtype), axes
    return value


def _derivative(expr) -> Compiled:
    return compiled(_differentiated(expr))


_DIFFERENTIATED: dict = {}  # the derivative of each form (up to names), as first differentiated


def _differentiated(expr):
    """diff, not doit(): doit would also try to sum every Sum in closed form.  A derivative of the
    same form as an earlier one (the next of 16 affine layers) is the earlier one renamed."""
    form, names = up_to_names(expr)
    if form in _DIFFERENTIATED:
        first_names, derivative = _DIFFERENTIATED[form]
        return rename_symbols(derivative, dict(zip(first_names, names)))
    derivative = sp.diff(expr.expr, *expr.variables)
    if derivative.atoms(sp.Symbol) <= set(names) and len(_DIFFERENTIATED) < 4096:
        _DIFFERENTIATED[form] = (names, derivative)
    return derivative


def _partial(expr) -> Compiled:
    return lambda env: env.partial(expr)


_COMPILERS = {
    sp.Indexed: _indexed, sp.Symbol: _symbol, sp.Number: _number, sp.NumberSymbol: _number,
    sp.KroneckerDelta: _kronecker_delta, sp.Add: _operation(np.add), sp.Mul: _operation(np.multiply),
    sp.Pow: _operation(np.power), sp.Sum: _sum, sp.DiracDelta: _dirac_delta, sp.Derivative: _derivative,
    Partial: _partial, Abbreviation: lambda expr: compiled(expr.value),
}


def evaluate(expr, values: dict, size, partial=None) -> Value:
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
    if not axes:  # a scalar broadcasts as it is
        return array
    position = {a: n for n, a in enumerate(axes)}  # by hash: SymPy's == on indices is slow
    order = [position[a] for a in target if a in position]
    if order != sorted(order):
        array = np.transpose(array, order)
    if len(axes) == len(target):
        return array
    present = iter(array.shape)
    return np.reshape(array, [next(present) if a in position else 1 for a in target])


def align(array, axes, order, size) -> np.ndarray:
    """The array with axes in ``order``, broadcast to full size where an index is absent."""
    aligned = _broadcast(array, axes, tuple(order))
    return np.broadcast_to(aligned, tuple(size(i) for i in order)).copy()
