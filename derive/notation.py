"""The index-notation model: tensors, their index ranges, layers as defining equations.

A network is a chain of equations ``out[j] = f(...)`` over SymPy ``Indexed`` objects,
ending in a scalar loss ``E = ...``.  Every index is an ``Idx`` that carries its range,
so Kronecker deltas and sums never need Piecewise range guards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


class sigmoid(sp.Function):
    """The logistic function 1 / (1 + e^{-x}), kept whole so it can be named back."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)


class relu(sp.Function):
    """max(0, x); its derivative is the indicator (Heaviside step) of x > 0."""

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0])


class Partial(sp.Expr):
    """An unevaluated partial derivative d(numerator)/d(denominator) of network quantities."""

    is_commutative = True

    def __new__(cls, numerator, denominator):
        return sp.Expr.__new__(cls, numerator, denominator)

    @property
    def numerator(self):
        return self.args[0]

    @property
    def denominator(self):
        return self.args[1]


class DirectPartial(Partial):
    """The loss's own partial derivative, holding every other quantity fixed.

    Needed only when the loss uses a quantity that also reaches it through other layers;
    then dE/dX (total) and this direct part differ.
    """



TARGET_KINDS = ("one_hot", "distribution", "unnormalized")


@dataclass(frozen=True)
class Tensor:
    """A named quantity of the network and the dimension symbol of each of its axes."""

    name: str
    dims: tuple[sp.Symbol, ...]
    role: str  # input | parameter | intermediate | target | constant | loss
    natural_indices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layer:
    """One defining equation ``output[indices] = rhs``, with where it came from."""

    kind: str
    output: str
    indices: tuple[sp.Idx, ...]
    rhs: sp.Expr
    where: str = ""

    @property
    def lhs(self):
        return sp.IndexedBase(self.output)[self.indices] if self.indices else sp.Symbol(self.output)

    def uses(self, name: str) -> bool:
        return name in tensor_names(self.rhs)


@dataclass
class Network:
    title: str
    layers: list[Layer]
    loss: Layer
    tensors: dict[str, Tensor]
    target: str | None = None
    targets: str = "unnormalized"
    wrt: list[str] = field(default_factory=list)
    slug: str = "network"
    layout: str = "denominator"    # matrix forms: the shape of the variable, or "numerator" (Jacobian)
    differential: bool = False     # documents also show dE = G : dW
    batch: object = None           # network.Batch when the spec declares a batch of samples

    @property
    def equations(self) -> list[Layer]:
        return [*self.layers, self.loss]

    def defining(self, name: str) -> Layer | None:
        return next((layer for layer in self.equations if layer.output == name), None)

    def consumers(self, name: str) -> list[Layer]:
        return [layer for layer in self.equations if layer.uses(name)]

    @property
    def targets_sum_to_one(self) -> bool:
        return self.target is not None and self.targets in ("one_hot", "distribution")

    @property
    def dimensions(self) -> list[sp.Symbol]:
        seen = []
        for tensor in self.tensors.values():
            for dim in tensor.dims:
                if dim not in seen:
                    seen.append(dim)
        return seen

    def class_index(self) -> str:
        """The target's class index (its last), over which one-hot targets sum to one."""
        tensor = self.tensors[self.target]
        return tensor.natural_indices[-1] if tensor.natural_indices else "j"

    def differentiable(self) -> list[str]:
        """Names a gradient can be taken with respect to, in network order."""
        return [t.name for t in self.tensors.values() if t.role in ("input", "parameter", "intermediate")]


def tensor_names(expr) -> set[str]:
    """Names of the network quantities an expression mentions (Indexed bases and scalars)."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, sp.Indexed):
            names.add(str(node.base.label))
        elif isinstance(node, Partial):
            visit(node.numerator)
            visit(node.denominator)
        elif isinstance(node, sp.Sum):
            visit(node.function)
        elif isinstance(node, sp.Symbol) and not isinstance(node, sp.Idx) and not node.is_integer:
            names.add(node.name)
        else:
            for arg in node.args:
                visit(arg)

    visit(expr)
    return names


def index_range(idx: sp.Idx) -> sp.Expr:
    """The dimension an index runs over (its upper bound is dim - 1)."""
    return idx.upper + 1


def make_index(name: str, dim: sp.Symbol) -> sp.Idx:
    return sp.Idx(sp.Symbol(name, integer=True), dim)


def summation(body, idx: sp.Idx):
    return sp.Sum(body, (idx, 0, idx.upper))


def bound_indices(expr) -> set[sp.Idx]:
    return {limit[0] for s in expr.atoms(sp.Sum) for limit in s.limits}


def free_indices(expr) -> set[sp.Idx]:
    return {s for s in expr.free_symbols if isinstance(s, sp.Idx)}


def rename_bound(expr, taken: set[str], pool):
    """Rename every summation index whose name is in ``taken`` to a fresh name from ``pool``
    (a sequence of names, or a function from an index's range to one).

    Keeps sums readable (no index means two things) when an expression is moved into a
    context that already uses some index names.
    """
    taken = set(taken)

    def visit(node):
        if isinstance(node, sp.Sum):
            body = visit(node.function)
            limits = []
            for idx, lo, hi in node.limits:
                if idx.name in taken:
                    used = taken | {i.name for i in free_indices(body)} | {i.name for i in bound_indices(body)} \
                        | {limit[0].name for limit in node.limits}
                    names = pool(index_range(idx)) if callable(pool) else pool
                    fresh = make_index(next(p for p in names if p not in used), index_range(idx))
                    body = body.xreplace({idx: fresh})
                    idx = fresh
                taken.add(idx.name)
                limits.append((idx, lo, idx.upper))
            return sp.Sum(body, *limits)
        if node.args and not isinstance(node, (sp.Indexed, sp.Idx)):
            return node.func(*[visit(a) for a in node.args])
        return node

    return visit(expr)


def alpha_normal(expr):
    """The expression with summation indices renamed by position, for comparison up to renaming."""
    counter = iter(range(10**6))

    def visit(node):
        if isinstance(node, sp.Sum):
            body, limits = node.function, []
            for idx, lo, hi in node.limits:
                canon = sp.Idx(sp.Symbol(f"_d{next(counter)}", integer=True), index_range(idx))
                body = body.xreplace({idx: canon})
                limits.append((canon, lo, hi))
            return sp.Sum(visit(body), *limits)
        if node.args and not isinstance(node, (sp.Indexed, sp.Idx)):
            return node.func(*[visit(a) for a in node.args])
        return node

    return visit(expr)
