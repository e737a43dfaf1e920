"""Matrix forms evaluated on NumPy arrays named as in the spec (vectors as 1-D arrays)."""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ..matrix import nodes as n
from ..model.primitives import BY_NAME


def floating(value) -> np.ndarray:
    """An array as it is when it holds floats (float32 stays float32), else as float64."""
    array = np.asarray(value)
    return array if array.dtype.kind == "f" else array.astype(float)


def precision(values: dict) -> np.dtype:
    """The float type to compute in: the widest of the arrays' (float32 arrays alone give float32)."""
    found = set()
    for value in values.values():
        dtype = value.dtype if isinstance(value, np.ndarray) else np.asarray(value).dtype
        if np.ndim(value):
            found.add(dtype if dtype.kind == "f" else np.dtype(float))
    return np.result_type(*found) if found else np.dtype(float)


class MatrixEvaluator(n.NodeVisitor):
    """Computes in the precision of its arrays: float32 inputs give a float32 gradient."""

    def __init__(self, arrays: dict, sizes: dict, dtype: np.dtype | None = None):
        self.arrays, self.sizes = arrays, sizes
        if dtype is not None:  # known to the caller (sample points are float64)
            self.dtype = dtype

    @functools.cached_property
    def dtype(self) -> np.dtype:
        return precision(self.arrays)

    def visit_Leaf(self, node):
        return floating(self.arrays[node.name])

    def visit_Error(self, node):
        return floating(self.arrays[f"delta_{node.of}"])

    def visit_Scalar(self, node):
        known = {s: sp.Float(float(np.asarray(self.arrays[s.name]))) for s in node.value.free_symbols
                 if s.name in self.arrays}
        return float(node.value.xreplace(known).xreplace(self.sizes))

    def visit_Ones(self, node):
        return np.ones(int(node.size.xreplace(self.sizes)), dtype=self.dtype)

    def visit_Identity(self, node):
        return np.eye(int(node.size.xreplace(self.sizes)), dtype=self.dtype)

    def visit_Transpose(self, node):
        return self.visit(node.inner).T

    def visit_Diag(self, node):
        return np.diag(self.visit(node.inner))

    def visit_SumAll(self, node):
        return np.sum(self.visit(node.inner))

    def visit_MatMul(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        if left.ndim == 1 and right.ndim == 1 and node.right.row:
            return np.outer(left, right)
        return left @ right

    def visit_Hadamard(self, node):
        values = [self.visit(f) for f in node.factors]
        result = values[0]
        for value in values[1:]:
            result = result * value
        return result

    def visit_Add(self, node):
        return sum(self.visit(t) for t in node.terms)

    def visit_Scale(self, node):
        return self.visit(node.factor) * self.visit(node.inner)

    def visit_Apply(self, node):
        return BY_NAME[node.function].array(self.visit(node.inner))

    def visit_Power(self, node):
        exponent = node.exponent
        return self.visit(node.base) ** (int(exponent) if exponent.is_Integer else float(exponent))


def evaluate_matrix(node: n.Node, arrays: dict, sizes: dict, dtype: np.dtype | None = None):
    """The node's value from NumPy arrays named as in the spec (computed in ``dtype``, if given,
    else in the arrays' own precision)."""
    return MatrixEvaluator(arrays, sizes, dtype).visit(node)
