"""Matrix-expression nodes: a small closed set of classes.

Every consumer (the LaTeX and NumPy printers, the evaluator on arrays) is a NodeVisitor with
one ``visit_<Class>`` method per node class.  ``rank`` is 0 for a scalar, 1 for a vector
(a column, or a row when ``row``), 2 for a matrix.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Node:
    @property
    def row(self) -> bool:
        return False

    def transposed(self) -> "Node":
        """The transpose, pushed inwards where that reads better: (A B)^T = B^T A^T."""
        return self if self.rank == 0 else Transpose(self)


@dataclass(frozen=True)
class Leaf(Node):
    """A quantity of the network: y (a vector), w (a matrix), T (a scalar)."""

    name: str
    rank: int


@dataclass(frozen=True)
class Error(Node):
    """The backpropagated error of a quantity z: the gradient dE/dz, named where the backward
    recursion uses it (matrix/recursion.py)."""

    of: str
    rank: int


@dataclass(frozen=True)
class Scalar(Node):
    """A scalar expression without indices: a number, a constant T, a size B."""

    value: sp.Expr
    rank = 0


@dataclass(frozen=True)
class Ones(Node):
    """The vector of ones, 1."""

    size: sp.Expr
    rank = 1


@dataclass(frozen=True)
class Identity(Node):
    size: sp.Expr
    rank = 2


@dataclass(frozen=True)
class Transpose(Node):
    inner: Node

    @property
    def rank(self) -> int:
        return self.inner.rank

    @property
    def row(self) -> bool:
        return not self.inner.row if self.inner.rank == 1 else False

    def transposed(self) -> Node:
        return self.inner


@dataclass(frozen=True)
class MatMul(Node):
    """left right: a matrix product, a matrix times a vector, or an outer product u v^T."""

    left: Node
    right: Node
    rank: int
    is_row: bool = False

    @property
    def row(self) -> bool:
        return self.is_row

    def transposed(self) -> Node:
        return MatMul(self.right.transposed(), self.left.transposed(), self.rank, not self.is_row)


@dataclass(frozen=True)
class Hadamard(Node):
    """Element-by-element product of factors of one shape."""

    factors: tuple[Node, ...]

    @property
    def rank(self) -> int:
        return self.factors[0].rank


@dataclass(frozen=True)
class Add(Node):
    terms: tuple[Node, ...]

    @property
    def rank(self) -> int:
        return self.terms[0].rank


@dataclass(frozen=True)
class Scale(Node):
    """A scalar times a node."""

    factor: Node
    inner: Node

    @property
    def rank(self) -> int:
        return self.inner.rank

    @property
    def row(self) -> bool:
        return self.inner.row

    def transposed(self) -> Node:
        return Scale(self.factor, self.inner.transposed())


@dataclass(frozen=True)
class Apply(Node):
    """A primitive function (derive.model.primitives) applied to each element."""

    function: str
    inner: Node

    @property
    def rank(self) -> int:
        return self.inner.rank


@dataclass(frozen=True)
class Power(Node):
    """Each element to a power (-1: the reciprocal, 1/2: the square root)."""

    base: Node
    exponent: sp.Rational

    @property
    def rank(self) -> int:
        return self.base.rank


@dataclass(frozen=True)
class SumAll(Node):
    """1^T v: the sum of a vector's elements."""

    inner: Node
    rank = 0


@dataclass(frozen=True)
class Diag(Node):
    """The diagonal matrix with a vector's elements on its diagonal."""

    inner: Node
    rank = 2


def children(node: Node) -> list[Node]:
    """The nodes a node is made of, in field order."""
    found = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        found += [v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, Node)]
    return found


def size(node: Node) -> int:
    return 1 + sum(size(child) for child in children(node))


def subtrees(node: Node):
    """Every node of the tree, the node itself first."""
    yield node
    for child in children(node):
        yield from subtrees(child)


def replaced(node: Node, mapping: dict) -> Node:
    """The tree with each subtree that is a key of ``mapping`` replaced by its value."""
    if node in mapping:
        return mapping[node]
    changes = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, Node):
            new = replaced(value, mapping)
        elif isinstance(value, tuple) and value and all(isinstance(v, Node) for v in value):
            new = tuple(replaced(v, mapping) for v in value)
        else:
            continue
        if new != value:
            changes[field.name] = new
    return dataclasses.replace(node, **changes) if changes else node


class NodeVisitor:
    """Dispatch on the node's class: ``visit`` calls ``visit_<ClassName>``."""

    def visit(self, node: Node, *args):
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise NotImplementedError(f"{type(self).__name__} has no visit_{type(node).__name__}")
        return method(node, *args)


def is_reciprocal(node: Node) -> bool:
    return isinstance(node, Power) and node.exponent == -1


def is_negative(node: Node) -> bool:
    """-c X, with c a scalar that carries a minus sign."""
    return isinstance(node, Scale) and isinstance(node.factor, Scalar) and node.factor.value.could_extract_minus_sign()


def negated(node: Scale) -> Node:
    """X for -X, c X for -c X."""
    value = -node.factor.value
    return node.inner if value == 1 else Scale(Scalar(value), node.inner)


def positive_first(terms) -> tuple:
    positive = [t for t in terms if not is_negative(t)]
    return tuple(positive[:1]) + tuple(t for t in terms if t is not (positive[0] if positive else None))
