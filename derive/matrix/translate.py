"""Index form -> matrix form: vectors, matrices, transposes, outer products, Hadamard products.

A final gradient in index notation (free indices = the variable's indices) is translated into
a small matrix-expression tree (``nodes.py``).  The same tree is printed as LaTeX, printed as
a NumPy expression, and evaluated directly on NumPy arrays (no eval, no per-element loops).

Conventions: a tensor with one index is a column vector, with two a matrix whose rows run
over its first index.  A product of factors with the same single index is a Hadamard
product; with different indices, an outer product; a sum over an index shared by two factors
is a matrix product (transposing where the index order asks for it); a sum over the only
index of a vector is 1^T v.  Where none of this applies, there is no matrix form and the
index form stands.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from ..model.indices import free_indices
from ..model.network import Layout, is_one_of
from ..model.primitives import BY_FUNCTION
from .nodes import (Add, Apply, Diag, Hadamard, Identity, Leaf, MatMul, Node, Ones, Power, Scalar, Scale,
                    SumAll)


class NoMatrixForm(ValueError):
    """The index expression has no translation by these rules."""


@dataclass(frozen=True)
class Term:
    """A translated piece: its node and the free indices its axes stand for (rows, then columns)."""

    node: Node
    axes: tuple


# --- translation -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def matrix_form(expr, order: tuple) -> Node | None:
    """The matrix form of ``expr`` (see to_matrix), or None where it has none; computed once."""
    try:
        return to_matrix(expr, tuple(order))
    except NoMatrixForm:
        return None


def to_matrix(expr, order: tuple) -> Node:
    """The matrix form of ``expr`` whose free indices, in ``order``, become rows then columns."""
    term = _translate(expr)
    if set(term.axes) != set(order) or len(term.axes) != len(order):
        raise NoMatrixForm(f"free indices {term.axes} do not match {order}")
    return _orient(term, tuple(order)).node


def _orient(term: Term, order: tuple) -> Term:
    if term.axes == order or len(order) < 2:
        return Term(term.node, order)
    if term.axes == tuple(reversed(order)):
        return Term(term.node.transposed(), order)
    raise NoMatrixForm(f"cannot arrange {term.axes} as {order}")


def _translate(expr) -> Term:
    if expr.is_Number or (isinstance(expr, sp.Symbol) and not isinstance(expr, sp.Idx)):
        return Term(Scalar(expr), ())
    if isinstance(expr, sp.Indexed):
        indices = tuple(expr.indices)
        if len(set(indices)) != len(indices) or len(indices) > 2:
            raise NoMatrixForm("repeated indices or more than two")
        return Term(Leaf(str(expr.base.label), len(indices)), indices)
    if isinstance(expr, sp.KroneckerDelta):
        first, second = expr.args
        return Term(Identity(first.upper + 1), (first, second))
    if isinstance(expr, sp.Add):
        return _add([_translate(arg) for arg in expr.args])
    if isinstance(expr, sp.Mul):
        return _product([_translate(arg) for arg in expr.args])
    if isinstance(expr, sp.Pow):
        if not expr.exp.is_Rational:
            raise NoMatrixForm("a power with an exponent that is not a number")
        if not expr.has(sp.Indexed):
            return Term(Scalar(expr), ())
        base = _translate(expr.base)
        return Term(Power(base.node, expr.exp), base.axes)
    if isinstance(expr, sp.Sum):
        return _sum(expr)
    if expr.func in BY_FUNCTION:
        if not expr.has(sp.Indexed):
            return Term(Scalar(expr), ())
        inner = _translate(expr.args[0])
        return Term(Apply(BY_FUNCTION[expr.func].name, inner.node), inner.axes)
    raise NoMatrixForm(f"no matrix form for {expr.func.__name__}")


def _add(terms: list[Term]) -> Term:
    axes = max((t.axes for t in terms), key=len)
    nodes = []
    for term in terms:
        if not term.axes and axes:
            if len(axes) != 1:
                raise NoMatrixForm("a scalar added to a matrix")
            nodes.append(_scaled(term.node, Ones(axes[0].upper + 1)))
        else:
            if set(term.axes) != set(axes):
                raise NoMatrixForm("terms with different free indices")
            nodes.append(_orient(term, axes).node)
    return Term(Add(tuple(nodes)), axes)


def _scaled(factor: Node, node: Node) -> Node:
    if isinstance(factor, Scalar) and factor.value == 1:
        return node
    return Scale(factor, node)


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
            return Term(Scalar(sp.S.One), ())
        # a number scales the rest (-t^T log(o)), not the rest a number ((t^T log(o)) -1)
        scalars.sort(key=lambda node: isinstance(node, Scalar))
        numbers = [node for node in scalars if isinstance(node, Scalar)]
        others = [node for node in scalars if not isinstance(node, Scalar)]
        if len(numbers) > 1:  # -1 and mu are one scalar, -mu: not "mu -1"
            numbers = [Scalar(sp.Mul(*(node.value for node in numbers)))]
        scalars = others + numbers
        product = scalars[0]
        for factor in scalars[1:]:
            product = Scale(factor, product)
        return Term(product, ())
    elif len(by_index) == 1:
        (idx, vector), = by_index.items()
        result = Term(vector, (idx,))
    elif len(by_index) == 2:
        (i, u), (j, v) = sorted(by_index.items(), key=lambda item: item[0].name)
        result = Term(MatMul(u, v.transposed(), 2), (i, j))
    else:
        raise NoMatrixForm("more than two free indices")
    for factor in scalars:
        result = Term(_scaled(factor, result.node), result.axes)
    return result


def _hadamard(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Hadamard(tuple(nodes))


def _scale_axis(matrix: Term, idx, vector: Node) -> Term:
    """M_ab v_b (no sum) = M diag(v); v_a M_ab = diag(v) M."""
    if idx == matrix.axes[0]:
        return Term(MatMul(Diag(vector), matrix.node, 2), matrix.axes)
    if idx == matrix.axes[1]:
        return Term(MatMul(matrix.node, Diag(vector), 2), matrix.axes)
    raise NoMatrixForm("a vector with an index the matrix does not have")


def _sum(expr: sp.Sum) -> Term:
    if len(expr.limits) != 1:
        raise NoMatrixForm("a sum over several indices at once")
    (k, _, _), = expr.limits
    factors = list(sp.Mul.make_args(expr.function))
    inside = [_translate(f) for f in factors if k in free_indices(f)]
    outside = [_translate(f) for f in factors if k not in free_indices(f)]
    vectors = [t.node for t in inside if t.axes == (k,)]
    matrices = [t for t in inside if len(t.axes) == 2]
    if len(vectors) + len(matrices) != len(inside):
        raise NoMatrixForm("a summed factor that is neither a vector nor a matrix")
    vector = _hadamard(vectors) if vectors else None
    if not matrices:
        if vector is None:
            raise NoMatrixForm("nothing to sum")
        contracted = Term(SumAll(vector), ())
    elif len(matrices) == 1:
        matrix = _put_last(matrices[0], k)
        if vector is None:  # sum over one axis of a matrix: M 1
            vector = Ones(k.upper + 1)
        contracted = Term(MatMul(matrix.node, vector, 1), (matrix.axes[0],))
    elif len(matrices) == 2 and set(matrices[0].axes) == set(matrices[1].axes):
        # sum_k A_kj B_kj: the column sums of A . B, (A . B)^T 1
        first = _put_first(matrices[0], k)
        product = _hadamard([first.node, _orient(matrices[1], first.axes).node])
        if vector is not None:
            product = MatMul(Diag(vector), product, 2)
        contracted = Term(MatMul(product.transposed(), Ones(k.upper + 1), 1), (first.axes[1],))
    elif len(matrices) == 2:
        left, right = _put_last(matrices[0], k), _put_first(matrices[1], k)
        middle = [left.node] + ([Diag(vector)] if vector is not None else []) + [right.node]
        node = middle[0]
        for nxt in middle[1:]:
            node = MatMul(node, nxt, 2)
        contracted = Term(node, (left.axes[0], right.axes[1]))
    else:
        raise NoMatrixForm("more than two matrices share a summation index")
    return _product([contracted, *outside])


def _put_last(term: Term, k) -> Term:
    if term.axes[1] == k:
        return term
    return Term(term.node.transposed(), (term.axes[1], term.axes[0]))


def _put_first(term: Term, k) -> Term:
    if term.axes[0] == k:
        return term
    return Term(term.node.transposed(), (term.axes[1], term.axes[0]))


def in_layout(node: Node, layout: Layout) -> Node:
    """Gradients have the shape of the variable (denominator layout) unless asked for Jacobians."""
    if not is_one_of(layout, Layout):
        raise ValueError(f"unknown layout '{layout}' (expected one of {', '.join(Layout)})")
    return node.transposed() if layout == Layout.NUMERATOR else node
