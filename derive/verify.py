"""Numerical checks: every step of every block, and every gradient against finite differences.

Index ranges are instantiated at small sizes, the network's inputs and parameters drawn at
random (targets as the spec declares them: one-hot, a distribution, or unnormalized), the
forward pass computed from the same defining equations, and each side of each step
evaluated for every value of its free indices.  A partial derivative dU/dX that appears in
a step is evaluated by central finite differences of the forward pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import matrix
from .derivation import Block, Engine
from .notation import DirectPartial, Network, Partial, index_range, relu, sigmoid

STEP_TOLERANCE = 1e-9       # one line against the line before it
FD_TOLERANCE = 1e-6         # against finite differences: absolute ...
FD_RELATIVE = 1e-5          # ... plus this fraction of the value
FD_STEP = 1e-6              # times max(1, |x|)
SEED = 20161


class VerificationError(AssertionError):
    """A step whose two sides differ numerically."""


@dataclass(frozen=True)
class Report:
    """What was checked: the sizes tried, and how many step and gradient comparisons passed."""

    sizes: tuple[dict, ...]
    steps_checked: int
    values_compared: int
    gradients_checked: tuple[str, ...]
    matrix_forms: tuple[str, ...] = ()
    tolerance: float = FD_TOLERANCE
    relative_tolerance: float = FD_RELATIVE
    step_tolerance: float = STEP_TOLERANCE
    fd_step: float = FD_STEP


# --- evaluating index expressions on arrays ------------------------------------------------

_ELEMENTWISE = {
    sp.exp: np.exp,
    sp.log: np.log,
    sp.tanh: np.tanh,
    sigmoid: lambda x: 1.0 / (1.0 + np.exp(-x)),
    relu: lambda x: np.maximum(x, 0.0),
    sp.Heaviside: lambda x: (x > 0).astype(float),
}


class Point:
    """One numerical instance of a network: sizes, values of every quantity, and derivatives."""

    def __init__(self, network: Network, sizes: dict, values: dict):
        self.network, self.sizes, self.base = network, sizes, values
        self.values = forward(network, sizes, values)
        self._jacobians: dict = {}

    def size(self, idx: sp.Idx) -> int:
        return int(index_range(idx).xreplace(self.sizes))

    def evaluate(self, expr, order: tuple = ()) -> np.ndarray:
        array, axes = evaluate(expr, self.values, self.size, self.partial)
        return _align(array, axes, tuple(order), self.size)

    def partial(self, expr: Partial):
        """(array, axes) of a partial derivative in a step, by finite differences.

        dE/dX is the total derivative through the forward pass; dU/dX of a layer output U, and
        the loss's direct part, hold every other quantity fixed.
        """
        numerator, denominator = expr.numerator, expr.denominator
        total = _name(numerator) == self.network.loss.output and not isinstance(expr, DirectPartial)
        array = self.jacobian(_name(numerator), _name(denominator), total)
        return _diagonal(array, _indices(numerator) + _indices(denominator))

    def jacobian(self, numerator: str, denominator: str, total: bool) -> np.ndarray:
        """d numerator / d denominator by central differences, axes: numerator's then denominator's.

        ``total``: through the whole forward pass (dE/dX); otherwise the partial derivative of
        the numerator's own defining equation, every other quantity held fixed (dU/dX).
        """
        key = (numerator, denominator, total)
        if key not in self._jacobians:
            x = np.array(self.values[denominator], dtype=float)
            result = np.zeros(np.shape(self.values[numerator]) + x.shape)
            for position in np.ndindex(*x.shape):
                shifted = []
                step = FD_STEP * max(1.0, abs(x[position]))
                for sign in (1.0, -1.0):
                    moved = x.copy()
                    moved[position] += sign * step
                    shifted.append(self._value_with(numerator, denominator, moved, total))
                result[(Ellipsis, *position)] = (shifted[0] - shifted[1]) / (2 * step)
            self._jacobians[key] = result
        return self._jacobians[key]

    def _value_with(self, numerator: str, denominator: str, moved: np.ndarray, total: bool):
        if total:
            return forward(self.network, self.sizes, self.values, override={denominator: moved})[numerator]
        layer = self.network.defining(numerator)
        array, axes = evaluate(layer.rhs, {**self.values, denominator: moved}, self.size, None)
        return _align(array, axes, layer.indices, self.size)


def forward(network: Network, sizes: dict, values: dict, override: dict | None = None) -> dict:
    """All quantities of the network from its free ones; names in ``override`` are held fixed."""
    override = override or {}
    result = {**values, **override}

    def size(idx):
        return int(index_range(idx).xreplace(sizes))
    for layer in network.equations:
        if layer.output in override:
            continue
        array, axes = evaluate(layer.rhs, result, size, None)
        result[layer.output] = _align(array, axes, layer.indices, size)
    return result


def evaluate(expr, values: dict, size, partial):
    """(array, axes): the value of ``expr`` with one array axis per free index, in ``axes`` order."""
    if isinstance(expr, sp.Indexed):
        name = str(expr.base.label)
        array = np.asarray(values[name], dtype=float)
        return _diagonal(array, tuple(expr.indices))
    if isinstance(expr, sp.Symbol):
        return np.asarray(float(values[expr.name])), ()
    if expr.is_Number:
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
    if isinstance(expr, sp.Derivative):
        # diff, not doit(): doit would also try to sum every Sum in closed form
        return evaluate(sp.diff(expr.expr, *expr.variables), values, size, partial)
    if isinstance(expr, Partial):
        return partial(expr)
    if expr.func in _ELEMENTWISE:
        array, axes = evaluate(expr.args[0], values, size, partial)
        return _ELEMENTWISE[expr.func](array), axes
    raise TypeError(f"cannot evaluate {expr.func.__name__} numerically")


def _name(quantity) -> str:
    return str(quantity.base.label) if isinstance(quantity, sp.Indexed) else quantity.name


def _indices(quantity) -> tuple:
    return tuple(quantity.indices) if isinstance(quantity, sp.Indexed) else ()


def _diagonal(array, indices):
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


def _align(array, axes, order, size) -> np.ndarray:
    """The array with axes in ``order``, broadcast to full size where an index is absent."""
    aligned = _broadcast(array, axes, tuple(order))
    return np.broadcast_to(aligned, tuple(size(i) for i in order)).copy()


# --- sampling ------------------------------------------------------------------------------


def size_settings(network: Network) -> list[dict]:
    dims = network.dimensions
    ascending = dict(zip(dims, (2, 3, 5, 4, 6, 7, 2, 3, 5, 4)))
    descending = dict(zip(dims, (5, 3, 2, 4, 6, 3, 2, 5, 4, 3)))
    return [{d: 2 for d in dims}, ascending, descending]


def sample(network: Network, sizes: dict, rng: np.random.Generator) -> dict:
    values = {str(dim): size for dim, size in sizes.items()}  # a batch size B also appears as 1/B
    for tensor in network.tensors.values():
        shape = tuple(int(d.xreplace(sizes)) for d in tensor.dims)
        if tensor.role in ("intermediate", "loss"):
            continue
        if tensor.role == "target":
            values[tensor.name] = _targets(network.targets, shape, rng)
        elif tensor.role == "constant":
            values[tensor.name] = rng.uniform(0.5, 2.0, size=shape)
        else:
            values[tensor.name] = rng.normal(0.0, 0.7, size=shape)
    return values


def _targets(kind: str, shape, rng) -> np.ndarray:
    """Targets over the last axis (the classes), one row per sample when there is a batch."""
    if kind == "one_hot":
        rows = np.zeros((int(np.prod(shape[:-1])), shape[-1]))
        rows[np.arange(len(rows)), rng.integers(shape[-1], size=len(rows))] = 1.0
        return rows.reshape(shape)
    if kind == "distribution":
        raw = rng.uniform(0.1, 1.0, size=shape)
        return raw / raw.sum(axis=-1, keepdims=True)
    return rng.uniform(0.1, 1.0, size=shape)


def points(network: Network) -> list[Point]:
    rng = np.random.default_rng(SEED)
    return [Point(network, sizes, sample(network, sizes, rng)) for sizes in size_settings(network)]


# --- checking ------------------------------------------------------------------------------


def check_block(block: Block, point: Point) -> int:
    """Compare each step with the one before and with finite differences; return values compared."""
    order = _order_of(block.lhs)
    reference = point.evaluate(block.lhs, order)
    previous, previous_exact = None, True
    for number, step in enumerate(block.steps):
        value = point.evaluate(step.expr, order)
        # a line that still contains a derivative is itself evaluated by finite differences
        exact = not step.expr.has(Partial)
        rtol, atol = (STEP_TOLERANCE, STEP_TOLERANCE) if exact and previous_exact else (FD_RELATIVE, FD_TOLERANCE)
        if previous is not None and not np.allclose(value, previous, rtol=rtol, atol=atol):
            raise VerificationError(_failure(block, number, step, value, previous, "the line before"))
        if not np.allclose(value, reference, rtol=FD_RELATIVE, atol=FD_TOLERANCE):
            raise VerificationError(_failure(block, number, step, value, reference, "finite differences"))
        previous, previous_exact = value, exact
    return len(block.steps) * int(np.size(reference))


def _order_of(lhs: Partial) -> tuple:
    axes = []
    for part in (lhs.numerator, lhs.denominator):
        if isinstance(part, sp.Indexed):
            axes += [i for i in part.indices if i not in axes]
    return tuple(axes)


def _failure(block, number, step, value, expected, against) -> str:
    gap = float(np.max(np.abs(value - expected)))
    return (f"step {number + 1} ({step.rule}) of {block.lhs} does not agree with {against}: "
            f"largest difference {gap:.3g}")


def check_matrix_form(gradient, point: Point) -> bool:
    """The matrix form, evaluated with NumPy, against the index form (False: there is none)."""
    try:
        node = matrix.to_matrix(gradient.result, gradient.indices)
    except matrix.NoMatrixForm:
        return False
    expected = point.evaluate(gradient.result, tuple(gradient.indices))
    value = matrix.evaluate(node, point.values, point.sizes)
    if not np.allclose(value, expected, rtol=STEP_TOLERANCE, atol=STEP_TOLERANCE):
        raise VerificationError(f"the matrix form of dE/d{gradient.wrt} does not agree with its index form")
    return True


def verify(engine: Engine, names: list[str]) -> Report:
    """Check every block that the gradients with respect to ``names`` are derived from."""
    gradients = [engine.gradient_of(name) for name in names]
    blocks: dict = {}
    for gradient in gradients:
        for block in gradient.blocks:
            if block.key not in blocks or len(block.steps) > len(blocks[block.key].steps):
                blocks[block.key] = block
    compared = 0
    with_matrix_form: set[str] = set()
    all_points = points(engine.network)
    for point in all_points:
        for block in blocks.values():
            compared += check_block(block, point)
        for gradient in gradients:
            if check_matrix_form(gradient, point):
                with_matrix_form.add(gradient.wrt)
    return Report(tuple({str(d): v for d, v in p.sizes.items()} for p in all_points),
                  sum(len(b.steps) for b in blocks.values()), compared, tuple(names),
                  matrix_forms=tuple(n for n in names if n in with_matrix_form))
