"""Printers for matrix forms: LaTeX, and NumPy code.  Each is a NodeVisitor (one method per node class).

Bracket decisions are named predicates (``_needs_brackets``); functions come from the primitive table.
"""
from __future__ import annotations

import re

import sympy as sp

from ..matrix import nodes as n
from ..model.primitives import BY_NAME, BY_POWER
from .einsum import einsum_code
from .index import latex, text
from .names import error_tex, matrix_name_tex


class MatrixLatexPrinter(n.NodeVisitor):
    def visit_Leaf(self, node):
        return matrix_name_tex(node.name, node.rank)

    def visit_Scalar(self, node):
        return latex(node.value)

    def visit_Error(self, node):
        return error_tex(node.of)

    def visit_Ones(self, node):
        return r"\mathbf{1}"

    def visit_Identity(self, node):
        return "I"

    def visit_Transpose(self, node):
        return self.transposed(node.inner)

    def transposed(self, inner) -> str:
        """The one place a transpose meets a superscript: W^{(1)} transposed is W^{(1)\top}, never
        W^{(1)}^\top (a double superscript, which pdflatex and KaTeX refuse)."""
        tex = self.atom(inner)
        if isinstance(inner, (n.Leaf, n.Error)) and tex.endswith(")}"):
            return tex[:-1] + r"\top}"
        return rf"{tex}^\top"

    def visit_Diag(self, node):
        return rf"\operatorname{{diag}}\left({self.visit(node.inner)}\right)"

    def visit_SumAll(self, node):
        inner = node.inner
        if isinstance(inner, n.Hadamard) and len(inner.factors) == 2 \
                and not any(n.is_reciprocal(f) for f in inner.factors):
            return rf"{self.transposed(inner.factors[0])} {self.atom(inner.factors[1])}"  # 1^T (c . t) = c^T t
        return rf"\mathbf{{1}}^\top {self.atom(inner)}"

    def visit_MatMul(self, node):
        return " ".join(self.atom(f) for f in (node.left, node.right))

    def visit_Hadamard(self, node):
        above = [f for f in node.factors if not n.is_reciprocal(f)]
        below = [f.base for f in node.factors if n.is_reciprocal(f)]
        tex = r" \odot ".join(self.atom(f) for f in above) if above else r"\mathbf{1}"
        return tex + "".join(rf" \oslash {self.atom(b)}" for b in below)

    def visit_Add(self, node):
        parts = []
        for number, term in enumerate(n.positive_first(node.terms)):
            negative = n.is_negative(term)
            tex = self.visit(n.negated(term)) if negative else self.visit(term)
            parts.append((" - " if negative else (" + " if number else "")) + tex)
        return ("-" if parts[0].startswith(" - ") else "") + "".join(parts).removeprefix(" - ")

    def visit_Scale(self, node):
        factor, inner = node.factor, node.inner
        inner_tex = self.atom(inner) if isinstance(inner, (n.Add, n.Scale)) else self.visit(inner)
        if isinstance(factor, n.Scalar) and factor.value == -1:
            return "-" + inner_tex
        if n.is_reciprocal(factor):
            return rf"\frac{{{self.visit(inner)}}}{{{self.visit(factor.base)}}}"
        return f"{self.scalar_atom(factor)} {inner_tex}"

    def visit_Apply(self, node):
        return BY_NAME[node.function].matrix_tex.format(x=self.visit(node.inner))

    def visit_Power(self, node):
        base, exponent = node.base, node.exponent
        if exponent == -1:
            return rf"\mathbf{{1}} \oslash {self.atom(base)}" if node.rank else rf"\frac{{1}}{{{self.visit(base)}}}"
        if exponent == 2:
            return rf"{self.atom(base)} \odot {self.atom(base)}"
        if exponent in BY_POWER:
            return BY_POWER[exponent].matrix_tex.format(x=self.visit(base))
        return rf"{self.atom(base)}^{{\circ {latex(exponent)}}}"

    def atom(self, node) -> str:
        """The node's TeX, in brackets where it would not read as one factor."""
        tex = self.visit(node)
        return rf"\left({tex}\right)" if _needs_brackets(node) else tex

    def scalar_atom(self, node) -> str:
        tex = latex(node.value) if isinstance(node, n.Scalar) else self.visit(node)
        if (isinstance(node, n.Scalar) and isinstance(node.value, sp.Add)) or isinstance(node, (n.SumAll, n.Add)):
            return rf"\left({tex}\right)"
        return tex


def _needs_brackets(node) -> bool:
    return isinstance(node, (n.Add, n.Scale, n.Hadamard, n.MatMul)) or \
        (isinstance(node, n.Power) and node.exponent == 2)


_CALL = re.compile(r"np\.\w+\(.*\)\Z")


class NumpyPrinter(n.NodeVisitor):
    """A NumPy expression (``np`` being numpy) over arrays named as in the spec.

    ``sizes`` maps a dimension symbol (a batch size B, say) to code that reads it off an array.
    """

    def __init__(self, sizes: dict | None = None):
        self.sizes = sizes or {}

    def visit_Leaf(self, node):
        return node.name

    def visit_Scalar(self, node):
        return self.sized(node.value)

    def visit_Error(self, node):
        return f"delta_{node.of}"

    def visit_Ones(self, node):
        return "1"

    def visit_Identity(self, node):
        return f"np.eye({self.sized(node.size)})"

    def visit_Transpose(self, node):
        return f"{self.atom(node.inner)}.T" if node.inner.rank == 2 else self.atom(node.inner)

    def visit_Diag(self, node):
        return f"np.diag({self.visit(node.inner)})"

    def visit_SumAll(self, node):
        return f"np.sum({self.visit(node.inner)})"

    def visit_MatMul(self, node):
        left, right = node.left, node.right
        # a diagonal matrix scales rows (or columns): never formed, which at B samples is B x B
        if isinstance(left, n.Diag) and right.rank == 2:
            return f"{self.atom(left.inner)}[:, None] * {self.atom(right)}"
        if isinstance(right, n.Diag) and left.rank == 2:
            return f"{self.atom(left)} * {self.atom(right.inner)}"
        if isinstance(right, n.Ones) and isinstance(left, n.Transpose) and left.rank == 2:
            return f"{self.atom(left.inner)}.sum(axis=0)"
        if isinstance(right, n.Ones):
            return f"{self.atom(left)}.sum(axis=1)"
        if left.rank == 1 and right.rank == 1 and right.row:
            return f"np.outer({self.vector(left)}, {self.vector(right)})"
        return f"{self.atom(left)} @ {self.atom(right)}"

    def visit_Hadamard(self, node):
        above = [f for f in node.factors if not n.is_reciprocal(f)]
        below = [f.base for f in node.factors if n.is_reciprocal(f)]
        code = " * ".join(self.atom(f) for f in above) if above else "1"
        return code + "".join(f" / {self.atom(b)}" for b in below)

    def visit_Add(self, node):
        terms = n.positive_first(node.terms)
        code = self.visit(terms[0])
        for term in terms[1:]:
            code += f" - {self.atom(n.negated(term))}" if n.is_negative(term) else f" + {self.visit(term)}"
        return code

    def visit_Scale(self, node):
        factor, inner = node.factor, node.inner
        if isinstance(factor, n.Scalar) and factor.value == -1:
            return f"-{self.atom(inner)}"
        if n.is_reciprocal(factor):
            return f"{self.atom(inner)} / {self.atom(factor.base)}"
        if isinstance(factor, n.Scalar) and isinstance(factor.value, sp.Pow) and factor.value.exp == -1:
            base = factor.value.base
            below = self.sized(base) if base.is_Atom else f"({self.sized(base)})"  # x / (eps + s), not x / eps + s
            return f"{self.atom(inner)} / {below}"
        return f"{self.atom(factor)} * {self.atom(inner)}"

    def visit_Apply(self, node):
        return BY_NAME[node.function].numpy.format(x=self.visit(node.inner))

    def visit_Power(self, node):
        if node.exponent == -1:
            return f"1 / {self.atom(node.base)}"
        if node.exponent in BY_POWER:
            return BY_POWER[node.exponent].numpy.format(x=self.visit(node.base))
        exponent = text(node.exponent) if node.exponent.is_Integer else f"({text(node.exponent)})"
        return f"{self.atom(node.base)} ** {exponent}"

    def vector(self, node) -> str:
        """A vector's code where rows and columns do not matter (1-D arrays have no orientation)."""
        return self.visit(node.inner) if isinstance(node, n.Transpose) and node.rank == 1 else self.visit(node)

    def sized(self, value) -> str:
        """A scalar in NumPy code, a dimension such as B read off an array: y.shape[0]; a function
        of scalars (1/sqrt(eps + s)) as NumPy calls."""
        if value.has(sp.Function) or any(isinstance(p, sp.Pow) and not p.exp.is_Integer
                                         for p in sp.preorder_traversal(value)):
            return einsum_code(value, (), self.sizes)
        named = {d: sp.Symbol(code) for d, code in self.sizes.items() if d in value.free_symbols}
        return text(value.xreplace(named))

    def atom(self, node) -> str:
        code = self.visit(node)
        if isinstance(node, (n.Add, n.Scale, n.Hadamard, n.MatMul)) or \
                (isinstance(node, n.Power) and node.exponent not in BY_POWER) or \
                (isinstance(node, n.Apply) and not _CALL.match(BY_NAME[node.function].numpy)):
            return f"({code})"
        if isinstance(node, n.Scalar) and not node.value.is_Atom:
            return f"({code})"
        return code


def matrix_latex(node: n.Node) -> str:
    return MatrixLatexPrinter().visit(node)


def numpy_code(node: n.Node, sizes: dict | None = None) -> str:
    return NumpyPrinter(sizes).visit(node)
