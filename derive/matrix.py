"""Index form -> matrix form: vectors, matrices, transposes, outer products, Hadamard products.

A final gradient in index notation (free indices = the variable's indices) is translated into
a small matrix-expression tree.  The same tree is printed as LaTeX, printed as a NumPy
expression, and evaluated directly on NumPy arrays (no eval, no per-element loops).

Conventions: a tensor with one index is a column vector, with two a matrix whose rows run
over its first index.  A product of factors with the same single index is a Hadamard
product; with different indices, an outer product; a sum over an index shared by two factors
is a matrix product (transposing where the index order asks for it); a sum over the only
index of a vector is 1^T v.  Where none of this applies, there is no matrix form and the
index form stands.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .notation import relu, sigmoid

GRADIENT_LAYOUTS = ("denominator", "numerator")


class NoMatrixForm(ValueError):
    """The index expression has no translation by these rules."""


@dataclass(frozen=True)
class Node:
    kind: str          # leaf ones eye T matmul hadamard add scale func power sum diag scalar
    args: tuple
    rank: int          # 0 scalar, 1 column vector, 2 matrix (1 with row=True: a row vector)
    row: bool = False


def leaf(name: str, rank: int) -> Node:
    return Node("leaf", (name,), rank)


def scalar(expr) -> Node:
    return Node("scalar", (expr,), 0)


def transpose(node: Node) -> Node:
    """The transpose, pushed inwards: (A B)^T = B^T A^T, so y (o - t)^T becomes (o - t) y^T."""
    if node.rank == 0:
        return node
    if node.kind == "T":
        return node.args[0]
    if node.kind == "matmul":
        left, right = node.args
        return Node("matmul", (transpose(right), transpose(left)), node.rank, not node.row)
    if node.kind == "scale":
        factor, inner = node.args
        return Node("scale", (factor, transpose(inner)), node.rank, not node.row)
    if node.rank == 1:
        return Node("T", (node,), 1, row=not node.row)
    return Node("T", (node,), 2)


@dataclass(frozen=True)
class Term:
    """A translated piece: its node and the free indices its axes stand for (rows, then columns)."""

    node: Node
    axes: tuple


# --- translation -------------------------------------------------------------------------------


def to_matrix(expr, order: tuple) -> Node:
    """The matrix form of ``expr`` whose free indices, in ``order``, become rows then columns."""
    term = _translate(expr)
    if set(term.axes) != set(order):
        raise NoMatrixForm(f"free indices {term.axes} do not match {order}")
    return _orient(term, tuple(order)).node


def _orient(term: Term, order: tuple) -> Term:
    if term.axes == order or len(order) < 2:
        return Term(term.node, order)
    if term.axes == tuple(reversed(order)):
        return Term(transpose(term.node), order)
    raise NoMatrixForm(f"cannot arrange {term.axes} as {order}")


def _translate(expr) -> Term:
    if expr.is_Number or (isinstance(expr, sp.Symbol) and not isinstance(expr, sp.Idx)):
        return Term(scalar(expr), ())
    if isinstance(expr, sp.Indexed):
        indices = tuple(expr.indices)
        if len(set(indices)) != len(indices) or len(indices) > 2:
            raise NoMatrixForm("repeated indices or more than two")
        return Term(leaf(str(expr.base.label), len(indices)), indices)
    if isinstance(expr, sp.KroneckerDelta):
        first, second = expr.args
        return Term(Node("eye", (first.upper + 1,), 2), (first, second))
    if isinstance(expr, sp.Add):
        return _add([_translate(arg) for arg in expr.args])
    if isinstance(expr, sp.Mul):
        return _product([_translate(arg) for arg in expr.args])
    if isinstance(expr, sp.Pow):
        base = _translate(expr.base)
        if not expr.exp.is_Integer:
            raise NoMatrixForm("non-integer power")
        if not expr.has(sp.Indexed):
            return Term(scalar(expr), ())
        return Term(Node("power", (base.node, int(expr.exp)), base.node.rank), base.axes)
    if isinstance(expr, sp.Sum):
        return _sum(expr)
    if isinstance(expr, (sp.exp, sp.log, sp.tanh, sigmoid, relu, sp.Heaviside)):
        if not expr.has(sp.Indexed):
            return Term(scalar(expr), ())
        inner = _translate(expr.args[0])
        return Term(Node("func", (expr.func.__name__.lower(), inner.node), inner.node.rank), inner.axes)
    raise NoMatrixForm(f"no matrix form for {expr.func.__name__}")


def _add(terms: list[Term]) -> Term:
    axes = max((t.axes for t in terms), key=len)
    nodes = []
    for term in terms:
        if not term.axes and axes:
            if len(axes) != 1:
                raise NoMatrixForm("a scalar added to a matrix")
            nodes.append(_scaled(term.node, Node("ones", (axes[0].upper + 1,), 1)))
        else:
            if set(term.axes) != set(axes):
                raise NoMatrixForm("terms with different free indices")
            nodes.append(_orient(term, axes).node)
    return Term(Node("add", tuple(nodes), nodes[0].rank), axes)


def _scaled(factor: Node, node: Node) -> Node:
    if factor.kind == "scalar" and factor.args[0] == 1:
        return node
    return Node("scale", (factor, node), node.rank, node.row)


def _product(terms: list[Term]) -> Term:
    """Multiply translated factors: scalars scale, equal indices Hadamard, different ones outer."""
    scalars = [t.node for t in terms if not t.axes]
    vectors: dict = {}
    matrices: list[Term] = []
    for term in terms:
        if len(term.axes) == 1:
            vectors.setdefault(term.axes[0], []).append(term.node)
        elif len(term.axes) == 2:
            matrices.append(term)
    by_index = {idx: _hadamard(nodes) for idx, nodes in vectors.items()}
    if len(matrices) > 1:
        first = matrices[0]
        if any(set(m.axes) != set(first.axes) for m in matrices):
            raise NoMatrixForm("a product of matrices without a sum")
        matrices = [Term(_hadamard([_orient(m, first.axes).node for m in matrices]), first.axes)]
    if matrices:
        result = matrices[0]
        for idx, vector in by_index.items():
            result = _scale_axis(result, idx, vector)
    elif len(by_index) == 0:
        if not scalars:
            return Term(scalar(sp.S.One), ())
        product = scalars[0]
        for factor in scalars[1:]:
            product = Node("scale", (factor, product), 0)
        return Term(product, ())
    elif len(by_index) == 1:
        (idx, vector), = by_index.items()
        result = Term(vector, (idx,))
    elif len(by_index) == 2:
        (i, u), (j, v) = sorted(by_index.items(), key=lambda item: item[0].name)
        result = Term(Node("matmul", (u, transpose(v)), 2), (i, j))
    else:
        raise NoMatrixForm("more than two free indices")
    for factor in scalars:
        result = Term(_scaled(factor, result.node), result.axes)
    return result


def _hadamard(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Node("hadamard", tuple(nodes), nodes[0].rank)


def _scale_axis(matrix: Term, idx, vector: Node) -> Term:
    """M_ab v_b (no sum) = M diag(v); v_a M_ab = diag(v) M."""
    if idx == matrix.axes[0]:
        return Term(Node("matmul", (Node("diag", (vector,), 2), matrix.node), 2), matrix.axes)
    if idx == matrix.axes[1]:
        return Term(Node("matmul", (matrix.node, Node("diag", (vector,), 2)), 2), matrix.axes)
    raise NoMatrixForm("a vector with an index the matrix does not have")


def _sum(expr: sp.Sum) -> Term:
    if len(expr.limits) != 1:
        raise NoMatrixForm("a sum over several indices at once")
    (k, _, _), = expr.limits
    factors = list(sp.Mul.make_args(expr.function))
    inside = [_translate(f) for f in factors if k in f.free_symbols]
    outside = [_translate(f) for f in factors if k not in f.free_symbols]
    vectors = [t.node for t in inside if t.axes == (k,)]
    matrices = [t for t in inside if len(t.axes) == 2]
    if len(vectors) + len(matrices) != len(inside):
        raise NoMatrixForm("a summed factor that is neither a vector nor a matrix")
    vector = _hadamard(vectors) if vectors else None
    if not matrices:
        if vector is None:
            raise NoMatrixForm("nothing to sum")
        contracted = Term(Node("sum", (vector,), 0), ())
    elif len(matrices) == 1:
        matrix = _put_last(matrices[0], k)
        if vector is None:  # sum over one axis of a matrix: M 1
            vector = Node("ones", (k.upper + 1,), 1)
        contracted = Term(Node("matmul", (matrix.node, vector), 1), (matrix.axes[0],))
    elif len(matrices) == 2:
        left, right = _put_last(matrices[0], k), _put_first(matrices[1], k)
        middle = [left.node] + ([Node("diag", (vector,), 2)] if vector is not None else []) + [right.node]
        node = middle[0]
        for nxt in middle[1:]:
            node = Node("matmul", (node, nxt), 2)
        contracted = Term(node, (left.axes[0], right.axes[1]))
    else:
        raise NoMatrixForm("more than two matrices share a summation index")
    return _product([contracted, *outside])


def _put_last(term: Term, k) -> Term:
    if term.axes[1] == k:
        return term
    return Term(transpose(term.node), (term.axes[1], term.axes[0]))


def _put_first(term: Term, k) -> Term:
    if term.axes[0] == k:
        return term
    return Term(transpose(term.node), (term.axes[1], term.axes[0]))


def in_layout(node: Node, layout: str) -> Node:
    """Gradients have the shape of the variable (denominator layout) unless asked for Jacobians."""
    if layout not in GRADIENT_LAYOUTS:
        raise ValueError(f"unknown layout '{layout}' (expected one of {', '.join(GRADIENT_LAYOUTS)})")
    return transpose(node) if layout == "numerator" else node


# --- evaluation on arrays ------------------------------------------------------------------------

_NUMPY = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0.0),
    "heaviside": lambda x: np.heaviside(x, 0.0),
}


def evaluate(node: Node, arrays: dict, sizes: dict):
    """The node's value from NumPy arrays named as in the spec (vectors as 1-D arrays)."""
    kind, args = node.kind, node.args
    if kind == "leaf":
        return np.asarray(arrays[args[0]], dtype=float)
    if kind == "scalar":
        known = {s: sp.Float(float(np.asarray(arrays[s.name]))) for s in args[0].free_symbols if s.name in arrays}
        return float(args[0].xreplace(known).xreplace(sizes))
    if kind == "ones":
        return np.ones(int(args[0].xreplace(sizes)))
    if kind == "eye":
        return np.eye(int(args[0].xreplace(sizes)))
    if kind == "T":
        value = evaluate(args[0], arrays, sizes)
        return value.T
    if kind == "diag":
        return np.diag(evaluate(args[0], arrays, sizes))
    if kind == "sum":
        return np.sum(evaluate(args[0], arrays, sizes))
    if kind == "matmul":
        left, right = (evaluate(a, arrays, sizes) for a in args)
        if left.ndim == 1 and right.ndim == 1 and args[1].row:
            return np.outer(left, right)
        return left @ right
    if kind == "hadamard":
        values = [evaluate(a, arrays, sizes) for a in args]
        result = values[0]
        for value in values[1:]:
            result = result * value
        return result
    if kind == "add":
        return sum(evaluate(a, arrays, sizes) for a in args)
    if kind == "scale":
        return evaluate(args[0], arrays, sizes) * evaluate(args[1], arrays, sizes)
    if kind == "func":
        return _NUMPY[args[0]](evaluate(args[1], arrays, sizes))
    if kind == "power":
        return evaluate(args[0], arrays, sizes) ** args[1]
    raise NoMatrixForm(kind)
