"""NumPy code for any index form: ``np.einsum`` for a sum of products, broadcasting for the rest.

The code of a gradient that has no matrix form (a rank-3 weight, a hidden layer of a batch):
no loops, and a sum of products is contracted in one einsum, so the product over all its
indices is never formed.  Like the other printers it dispatches on the expression's class;
each method returns the code of an array and the index each of its axes stands for.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..model.indices import index_range, make_sum
from ..model.primitives import BY_POWER
from ..model.primitives import of as primitive_of

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Array:
    code: str
    axes: tuple = ()
    atom: bool = True  # reads as one operand (needs no brackets)

    def operand(self) -> str:
        return self.code if self.atom else f"({self.code})"


class EinsumPrinter:
    """``sizes`` maps a dimension symbol to code that reads it off an array (n -> o.shape[1])."""

    def __init__(self, sizes: dict):
        self.sizes = sizes
        self.order: tuple = ()

    def doprint(self, expr, order) -> str:
        """Code for the array of ``expr`` with one axis per index of ``order``, in that order."""
        self.order = tuple(order)  # each einsum gives its axes in this order, so nothing is transposed after
        array = self.visit(expr)
        if set(array.axes) == set(order):
            return self._reordered(array, tuple(order)).code
        shape = ", ".join(self.size(idx) for idx in order)
        return f"np.broadcast_to({self._spread(array, tuple(order)).code}, ({shape},))"

    def visit(self, expr) -> Array:
        if (primitive := primitive_of(expr)) is not None:
            inner = self.visit(expr.args[0])
            return Array(primitive.numpy.format(x=inner.code), inner.axes)
        for cls in type(expr).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(expr)
        raise TypeError(f"no NumPy code for {type(expr).__name__}")

    def size(self, idx) -> str:
        dim = index_range(idx)
        return str(self.sizes.get(dim, dim))

    def _print_Indexed(self, expr):
        indices, name = tuple(expr.indices), expr.base.label.name
        unique = tuple(dict.fromkeys(indices))
        if unique == indices:
            return Array(name, indices)
        letters = {idx: _LETTERS[n] for n, idx in enumerate(unique)}
        spec = "".join(letters[i] for i in indices) + "->" + "".join(letters[i] for i in unique)
        return Array(f"np.einsum('{spec}', {name})", unique)

    def _print_Symbol(self, expr):
        return Array(self.sizes.get(expr, expr.name))

    def _print_Number(self, expr):
        if expr.is_Integer:
            return Array(f"{int(expr)}.0" if expr >= 0 else f"({int(expr)}.0)")
        return Array(f"({float(expr)!r})")

    _print_NumberSymbol = _print_Number

    def _print_KroneckerDelta(self, expr):
        first, second = expr.args[:2]
        return Array("1.0") if first == second else Array(f"np.eye({self.size(first)})", (first, second))

    def _in_order(self, axes) -> tuple:
        """Axes as the printed array will have them: in the order asked for, the others after."""
        def place(axis):
            return self.order.index(axis) if axis in self.order else len(self.order)
        return tuple(sorted(dict.fromkeys(axes), key=place))

    def _print_Add(self, expr):
        terms = [self.visit(term) for term in expr.args]
        axes = self._in_order(a for term in terms for a in term.axes)
        code = ""
        for term in sorted(terms, key=lambda term: term.code.startswith("-")):  # a positive term first
            text = self._spread(term, axes).code if term.code.startswith("-") else self._spread(term, axes).operand()
            code += (" - " + text[1:] if text.startswith("-") else " + " + text) if code else text
        return Array(code, axes, atom=False)

    def _print_Mul(self, expr):
        return self._product([self.visit(factor) for factor in expr.args], ())

    def _print_Pow(self, expr):
        base = self.visit(expr.base)
        if expr.exp == -1:
            return Array(f"1.0 / {base.operand()}", base.axes, atom=False)
        if expr.exp in BY_POWER:  # sqrt
            return Array(BY_POWER[expr.exp].numpy.format(x=base.code), base.axes)
        exponent = self.visit(expr.exp)
        axes = tuple(dict.fromkeys((*base.axes, *exponent.axes)))
        return Array(f"{self._spread(base, axes).operand()} ** {self._spread(exponent, axes).operand()}", axes,
                     atom=False)

    def _print_Sum(self, expr):
        if isinstance(expr.function, sp.Add):  # a sum of terms is the sum of their sums
            return self.visit(sp.Add(*[make_sum(term, *expr.limits) for term in expr.function.args],
                                     evaluate=False))
        factors = expr.function.args if isinstance(expr.function, sp.Mul) else (expr.function,)
        return self._product([self.visit(factor) for factor in factors], tuple(limit[0] for limit in expr.limits))

    def _print_DiracDelta(self, expr):  # the derivative of a step: 0 away from its edge
        inner = self.visit(expr.args[0])
        return Array(f"np.zeros_like({inner.code}, dtype=float)", inner.axes)

    def _product(self, factors: list[Array], summed: tuple) -> Array:
        """The product of ``factors``, summed over ``summed``: one einsum for the arrays, the
        scalars multiplied in, an index that no factor has counted by its range."""
        arrays = [f for f in factors if f.axes]
        scalars = [f.operand() for f in factors if not f.axes]
        scalars += [self.size(idx) for idx in summed if not any(idx in f.axes for f in arrays)]
        axes = tuple(dict.fromkeys(a for f in arrays for a in f.axes))
        kept = self._in_order(a for a in axes if a not in summed)
        if not arrays:
            return Array(" * ".join(scalars) or "1.0", (), atom=len(scalars) <= 1)
        if len(arrays) == 1 and kept == arrays[0].axes:
            array = arrays[0]
        elif not summed and all(f.axes == kept for f in arrays):  # element by element: no einsum needed
            array = Array(" * ".join(f.operand() for f in arrays), kept, atom=False)
        elif (product := self._matrix_product(arrays, summed, kept)) is not None:
            array = product
        else:
            letters = {a: _LETTERS[n] for n, a in enumerate(axes)}
            spec = ",".join("".join(letters[a] for a in f.axes) for f in arrays) + "->" + \
                "".join(letters[a] for a in kept)
            array = Array(f"np.einsum('{spec}', {', '.join(f.code for f in arrays)}, optimize=True)", kept)
        if not scalars:
            return array
        if scalars == ["(-1.0)"]:
            return Array(f"-{array.operand()}", kept, atom=False)
        return Array(" * ".join([*scalars, array.operand()]), kept, atom=False)

    def _matrix_product(self, arrays: list[Array], summed: tuple, kept: tuple) -> Array | None:
        """``A @ B`` (BLAS, no copies) for two operands sharing the one index summed over, each
        holding one other index of the result (in the result's order); None otherwise."""
        if len(arrays) != 2 or len(summed) != 1 or len(kept) != 2:
            return None
        (inner,), (row, column) = summed, kept
        left, right = sorted(arrays, key=lambda f: column in f.axes)
        if set(left.axes) != {row, inner} or set(right.axes) != {inner, column} or len(left.axes) != 2 \
                or len(right.axes) != 2:
            return None
        return Array(f"{self._reordered(left, (row, inner)).operand()} @ "
                     f"{self._reordered(right, (inner, column)).operand()}", kept, atom=False)

    def _reordered(self, array: Array, order: tuple) -> Array:
        if array.axes == order:
            return array
        if len(order) == 2 and array.axes == order[::-1]:
            return Array(f"{array.operand()}.T", order)
        letters = {a: _LETTERS[n] for n, a in enumerate(array.axes)}
        spec = "".join(letters[a] for a in array.axes) + "->" + "".join(letters[a] for a in order)
        return Array(f"np.einsum('{spec}', {array.code})", order)

    def _spread(self, array: Array, axes: tuple) -> Array:
        """The array with its axes in the order they have in ``axes``, and a new axis (None) for
        each index of ``axes`` it does not have: ready to broadcast against the others."""
        if not array.axes or array.axes == axes:
            return array
        own = tuple(a for a in axes if a in array.axes)
        reordered = self._reordered(array, own)
        if own == axes:
            return reordered
        where = ", ".join(":" if a in array.axes else "None" for a in axes)
        return Array(f"{reordered.operand()}[{where}]", axes)


def einsum_code(expr, order, sizes: dict) -> str:
    """NumPy code (``np`` = numpy) for the array of an index expression, axes in ``order``."""
    return EinsumPrinter(sizes).doprint(expr, tuple(order))
