"""Sample points: a network at small sizes, random values, the forward pass, finite differences.

Index ranges are instantiated at small sizes, the network's inputs and parameters drawn at
random (targets as the spec declares them: one-hot, a distribution, or unnormalized), and the
forward pass computed from the same defining equations.  A partial derivative dU/dX is
evaluated by central finite differences of the forward pass.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import sympy as sp

from ..errors import VerificationError
from ..limits import MAX_SAMPLED, MAX_VALUES
from ..model.indices import index_range
from ..model.network import Network, Role, Targets
from ..model.partials import DirectPartial, Partial, indices_of, name_of
from .evaluate import PROBE, IndexEvaluator, diagonal

FD_STEP = 1e-6              # times max(1, |x|)
MAX_PROBE_VALUES = 2**16    # numbers per quantity in one batched finite-difference pass
SEED = 20161
SAMPLED = np.dtype(float)  # every value drawn and computed at a sample point


class Point:
    """One numerical instance of a network: sizes, values of every quantity, and derivatives."""

    def __init__(self, network: Network, sizes: dict, values: dict):
        self.network, self.sizes, self.base = network, sizes, values
        self._sizes: dict = {}
        self.values = forward(network, sizes, values)
        self._jacobians: dict = {}
        self._memo: dict = {}  # the value of each subexpression evaluated at this point
        self._total_memo: dict = {}  # the same, with every partial derivative a total one
        self._depends: dict[str, set[str]] = {}
        for layer in network.equations:
            if not np.all(np.isfinite(self.values[layer.output])):
                raise VerificationError(
                    f"{layer.where}: '{layer.output}' is not finite at randomly drawn inputs "
                    f"(sizes {_sizes_text(sizes)}); the network must be defined where it is checked")

    def size(self, idx: sp.Idx) -> int:
        if idx not in self._sizes:
            self._sizes[idx] = int(index_range(idx).xreplace(self.sizes))
        return self._sizes[idx]

    def evaluate(self, expr, order: tuple = ()) -> np.ndarray:
        return IndexEvaluator(self.values, self.size, self.partial, MAX_VALUES, dtype=SAMPLED,
                              memo=self._memo).aligned(expr, order)

    def evaluate_claimed(self, expr, order: tuple = ()) -> np.ndarray:
        """As ``evaluate``, with each partial derivative dU/dX read as a person means it in a
        claim: the partial of U's own equation where that equation reads X (the convention of
        the chain rule: the other inputs held fixed), else the total derivative through the
        network (do_j/dw_ij moves z first); dE/dX, of the loss, always the total."""
        return IndexEvaluator(self.values, self.size, self.claimed_partial, MAX_VALUES, dtype=SAMPLED,
                              memo=self._total_memo).aligned(expr, order)

    def claimed_partial(self, expr: Partial):
        numerator, denominator = name_of(expr.numerator), name_of(expr.denominator)
        layer = self.network.defining(numerator)
        total = numerator == self.network.loss.output or layer is None or not layer.uses(denominator)
        array = self.jacobian(numerator, denominator, total)
        return diagonal(array, indices_of(expr.numerator) + indices_of(expr.denominator))

    def partial(self, expr: Partial):
        """(array, axes) of a partial derivative in a step, by finite differences.

        dE/dX is the total derivative through the forward pass; dU/dX of a layer output U, and
        the loss's direct part, hold every other quantity fixed.
        """
        numerator, denominator = expr.numerator, expr.denominator
        total = name_of(numerator) == self.network.loss.output and not isinstance(expr, DirectPartial)
        array = self.jacobian(name_of(numerator), name_of(denominator), total)
        return diagonal(array, indices_of(numerator) + indices_of(denominator))

    def jacobian(self, numerator: str, denominator: str, total: bool) -> np.ndarray:
        """d numerator / d denominator by central differences, axes: numerator's then denominator's.

        ``total``: through the whole forward pass (dE/dX); otherwise the partial derivative of
        the numerator's own defining equation, every other quantity held fixed (dU/dX).
        """
        key = (numerator, denominator, total)
        if numerator == denominator and key not in self._jacobians:  # dz_j/dz_k = delta_jk
            shape = np.shape(self.values[numerator])
            self._jacobians[key] = np.eye(int(np.prod(shape))).reshape(shape + shape)
        if key not in self._jacobians:
            x = np.array(self.values[denominator], dtype=float)  # at most MAX_SAMPLED values
            chunk = max(1, MAX_PROBE_VALUES // (2 * self._largest))
            self._jacobians[key] = central_differences(
                x, lambda copies: self._values_with(numerator, denominator, copies, total), chunk)
        return self._jacobians[key]

    def _downstream(self, name: str) -> set[str]:
        """The layer outputs that change when ``name`` does."""
        if name not in self._depends:
            changed = {name}
            for layer in self.network.equations:
                if any(layer.uses(n) for n in changed):
                    changed.add(layer.output)
            self._depends[name] = changed - {name}
        return self._depends[name]

    def _values_with(self, numerator: str, denominator: str, moved: np.ndarray, total: bool) -> np.ndarray:
        """The numerator for each copy of the denominator in ``moved`` (its leading axis)."""
        probes = len(moved)
        if total:
            downstream = self._downstream(denominator)
            value = forward(self.network, self.sizes, self.values, override={denominator: moved},
                            only=downstream, probes=probes)[numerator]
            # a quantity the denominator does not reach is the same in every copy
            return value if numerator in downstream else np.broadcast_to(value, (probes, *np.shape(value)))
        layer = self.network.defining(numerator)
        evaluator = IndexEvaluator({**self.values, denominator: moved}, self.size, None, MAX_VALUES,
                                   frozenset({denominator}), probes, SAMPLED)
        return evaluator.aligned(layer.rhs, (PROBE, *layer.indices))

    @functools.cached_property
    def _largest(self) -> int:
        return max([int(np.size(v)) for v in self.values.values()] + [1])


def central_differences(x: np.ndarray, values_at, chunk: int) -> np.ndarray:
    """df/dx at x, axes f's then x's, where ``values_at(copies)`` gives f for a stack of copies of x.

    Every value of x is moved up and down by its own step, chunk values at a time: 2 * chunk
    copies of x go through one evaluation, along their leading axis.
    """
    flat = x.reshape(-1)
    steps = FD_STEP * np.maximum(1.0, np.abs(flat))
    columns = []
    for start in range(0, flat.size, chunk):
        positions = np.arange(start, min(start + chunk, flat.size))
        rows = np.arange(len(positions))
        copies = np.repeat(flat[None, :], 2 * len(positions), axis=0)
        copies[0::2][rows, positions] += steps[positions]
        copies[1::2][rows, positions] -= steps[positions]
        shifted = values_at(copies.reshape((-1, *x.shape)))
        below = (2 * steps[positions]).reshape((-1,) + (1,) * (shifted.ndim - 1))
        columns.append((shifted[0::2] - shifted[1::2]) / below)
    jacobian = np.concatenate(columns).reshape(x.shape + columns[0].shape[1:])  # x's axes first
    return np.moveaxis(jacobian, list(range(x.ndim)), list(range(-x.ndim, 0)))


def forward(network: Network, sizes: dict, values: dict, override: dict | None = None,
            only: set[str] | None = None, probes: int = 0) -> dict:
    """All quantities of the network from its free ones; names in ``override`` are held fixed.
    With ``only``, just those layer outputs are computed again (the rest are taken from ``values``).
    With ``probes``, the arrays in ``override`` hold that many copies along a leading axis, and so
    do the outputs computed again."""
    override = override or {}
    result = {**values, **override}
    probed = set(override) if probes else set()

    @functools.cache
    def size(idx):
        return int(index_range(idx).xreplace(sizes))
    for layer in network.equations:
        if layer.output in override or (only is not None and layer.output not in only):
            continue
        evaluator = IndexEvaluator(result, size, None, MAX_VALUES, frozenset(probed), probes, SAMPLED)
        axes = (PROBE, *layer.indices) if probes else layer.indices
        result[layer.output] = evaluator.aligned(layer.rhs, axes)
        if probes:
            probed.add(layer.output)
    return result


def size_settings(network: Network) -> list[dict]:
    """All sizes 2; then two mixed settings, so that a transposed index shows.  A tensor that
    would hold more than MAX_SAMPLED values at a setting gets size 1 in its largest axes."""
    dims = network.dimensions
    ascending = dict(zip(dims, itertools.cycle((2, 3, 5, 4, 6, 7, 2, 3, 5, 4))))
    descending = dict(zip(dims, itertools.cycle((5, 3, 2, 4, 6, 3, 2, 5, 4, 3))))
    return [_within_budget(network, setting) for setting in ({d: 2 for d in dims}, ascending, descending)]


def _within_budget(network: Network, sizes: dict) -> dict:
    sizes = dict(sizes)
    for tensor in network.tensors.values():
        while math.prod(int(d.xreplace(sizes)) for d in tensor.dims) > MAX_SAMPLED:
            largest = max(tensor.dims, key=lambda d: int(d.xreplace(sizes)))
            sizes[largest] = 1
    return sizes


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{d} = {v}" for d, v in sizes.items())


def sample(network: Network, sizes: dict, rng: np.random.Generator, targets: Targets | None = None) -> dict:
    values = {str(dim): size for dim, size in sizes.items()}  # a batch size B also appears as 1/B
    for tensor in network.tensors.values():
        shape = tuple(int(d.xreplace(sizes)) for d in tensor.dims)
        if tensor.role in (Role.INTERMEDIATE, Role.LOSS):
            continue
        if tensor.role == Role.TARGET:
            values[tensor.name] = _targets(targets or network.targets, shape, rng)
        elif tensor.role == Role.CONSTANT:
            values[tensor.name] = rng.uniform(0.5, 2.0, size=shape)
        else:
            values[tensor.name] = rng.normal(0.0, 0.7, size=shape)
    return values


def _targets(kind: Targets, shape, rng) -> np.ndarray:
    """Targets over the last axis (the classes), one row per sample when there is a batch."""
    if kind == Targets.ONE_HOT:
        rows = np.zeros((int(np.prod(shape[:-1])), shape[-1]))
        rows[np.arange(len(rows)), rng.integers(shape[-1], size=len(rows))] = 1.0
        return rows.reshape(shape)
    if kind == Targets.DISTRIBUTION:
        raw = rng.uniform(0.1, 1.0, size=shape)
        return raw / raw.sum(axis=-1, keepdims=True)
    return rng.uniform(0.1, 1.0, size=shape)


def points(network: Network, targets: Targets | None = None) -> list[Point]:
    """One point at each of the size settings; ``targets``: drawn as that kind, not the spec's."""
    return points_at(network, size_settings(network), SEED, targets)


def points_at(network: Network, settings: list[dict], seed: int, targets: Targets | None = None) -> list[Point]:
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):  # a forward pass that would warn is not finite, and is refused as such
        return [Point(network, sizes, sample(network, sizes, rng, targets)) for sizes in settings]


