"""What a network is: named tensors with roles and index ranges, layers as defining equations.

A network is a chain of equations ``out[j] = f(...)`` over SymPy ``Indexed`` objects, ending
in a scalar loss ``E = ...``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sympy as sp

from .partials import tensor_names


class Role(StrEnum):
    INPUT = "input"
    PARAMETER = "parameter"
    INTERMEDIATE = "intermediate"
    TARGET = "target"
    CONSTANT = "constant"
    LOSS = "loss"


class Targets(StrEnum):
    """What the spec declares of the targets; the first two sum to one over the classes."""

    ONE_HOT = "one_hot"
    DISTRIBUTION = "distribution"
    UNNORMALIZED = "unnormalized"


class Layout(StrEnum):
    """Matrix forms: a gradient has the shape of its variable (denominator), or is a Jacobian."""

    DENOMINATOR = "denominator"
    NUMERATOR = "numerator"


class ShownMistake(StrEnum):
    """The mistake models a document can show (engine/mistakes.py), as a spec names them."""

    DIAGONAL_ONLY = "diagonal_only"   # a Jacobian cut to its diagonal (the first seed question)
    DIVIDED = "divided"               # dE/do by dividing dE/dz by do/dz (the second)


class Reduction(StrEnum):
    MEAN = "mean"
    SUM = "sum"


DIFFERENTIABLE = (Role.INPUT, Role.PARAMETER, Role.INTERMEDIATE)


def is_one_of(value, choices: type[StrEnum]) -> bool:
    """Is ``value`` (of any type, as read from a spec) one of the enum's values?"""
    return isinstance(value, str) and value in choices._value2member_map_


@dataclass(frozen=True)
class Batch:
    """B samples through the same network: a leading sample index, and E summed or averaged."""

    size: str = "B"
    reduction: Reduction = Reduction.MEAN


@dataclass(frozen=True)
class Tensor:
    """A named quantity of the network and the dimension symbol of each of its axes."""

    name: str
    dims: tuple[sp.Symbol, ...]
    role: Role
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


@dataclass(frozen=True)
class Network:
    title: str
    layers: tuple[Layer, ...]
    loss: Layer
    tensors: dict[str, Tensor]
    target: str | None = None
    targets: Targets = Targets.UNNORMALIZED
    wrt: tuple[str, ...] = ()
    slug: str = "network"
    layout: Layout = Layout.DENOMINATOR   # the spec's choice for matrix forms
    differential: bool = False            # documents also show dE = G : dW
    batch: Batch | None = None
    mistakes: tuple[ShownMistake, ...] = (ShownMistake.DIAGONAL_ONLY,)  # shown in documents where they apply

    @property
    def equations(self) -> list[Layer]:
        return [*self.layers, self.loss]

    def defining(self, name: str) -> Layer | None:
        return next((layer for layer in self.equations if layer.output == name), None)

    def consumers(self, name: str) -> list[Layer]:
        return [layer for layer in self.equations if layer.uses(name)]

    @property
    def targets_sum_to_one(self) -> bool:
        return self.target is not None and self.targets in (Targets.ONE_HOT, Targets.DISTRIBUTION)

    @property
    def dimensions(self) -> list[sp.Symbol]:
        seen = []
        for tensor in self.tensors.values():
            for dim in tensor.dims:
                if dim not in seen:
                    seen.append(dim)
        return seen

    @property
    def batch_dimension(self) -> sp.Symbol | None:
        return next((d for d in self.dimensions if self.batch and str(d) == self.batch.size), None)

    def class_index(self) -> str:
        """The target's class index (its last), over which one-hot targets sum to one."""
        tensor = self.tensors[self.target]
        return tensor.natural_indices[-1] if tensor.natural_indices else "j"

    def target_indices(self) -> tuple[str, ...]:
        """The target's indices as written, the class index last: (s, j) for t_sj."""
        return (*self.tensors[self.target].natural_indices[:-1], self.class_index())

    @property
    def sample_index(self) -> str | None:
        """The index that numbers the samples of a batch (the input's first)."""
        if self.batch is None:
            return None
        return next((t.natural_indices[0] for t in self.tensors.values()
                     if t.role == Role.INPUT and t.natural_indices), "s")

    def differentiable(self) -> list[str]:
        """Names a gradient can be taken with respect to, in network order."""
        return [t.name for t in self.tensors.values() if t.role in DIFFERENTIABLE]

    def gradient_shape(self, name: str, layout: Layout) -> tuple:
        """The shape of dE/d(name): the variable's own (denominator layout) or its transpose."""
        dims = self.tensors[name].dims
        if layout == Layout.NUMERATOR:
            return tuple(reversed(dims)) if len(dims) == 2 else ((1, *dims) if dims else ())
        return dims
