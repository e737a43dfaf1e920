"""Printers for index expressions: LaTeX as a person writes it, and the plain-text syntax.

LaTeX: ``o_{j}`` not ``o[j]``, ``\\sum_{k}`` without ranges, ``\\delta_{jk}``, ``w^{(1)}_{ij}``
for a name with a layer number, and partial derivatives as fractions.
Text: ``w[i,j]``, ``sum(k, expr)``, ``delta(j,k)`` — the syntax the equation reader reads.
Both are SymPy printers (``_print_<Class>`` methods); the methods for the primitive functions
are made from the primitive table at the bottom of this file.
"""
from __future__ import annotations

import functools

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..model.partials import Abbreviation, Partial, is_unevaluated_product
from ..model.primitives import BY_POWER, PRIMITIVES, Primitive, TexStyle
from ..model.primitives import of as primitive_of
from .conventions import as_decimal, fraction_before_sum, signs_out_of_sums
from .names import index_tex, name_tex


def reading_order(factor):
    """Factors as a person orders them: number, names, deltas, functions, derivatives, brackets,
    sums (a primitive's own ``reading_rank`` says where it stands)."""
    if factor.is_Number:
        rank = 0
    elif isinstance(factor, (sp.Indexed, sp.Symbol, Abbreviation)):
        rank = 1
    elif isinstance(factor, sp.KroneckerDelta):
        rank = 1.5
    elif isinstance(factor, Partial):
        rank = 4 if isinstance(factor.numerator, sp.Symbol) else 5
    elif isinstance(factor, sp.Add):
        rank = 6
    elif isinstance(factor, sp.Sum) or (isinstance(factor, sp.Pow) and isinstance(factor.base, sp.Sum)):
        rank = 7
    elif (primitive := primitive_of(factor)) is not None:
        rank = primitive.reading_rank
    else:
        rank = 2
    return rank, sp.default_sort_key(factor)


class ReadingOrder:
    """Print products and sums in the order a person writes them, for any SymPy printer."""

    def _print_Mul(self, expr):
        if not isinstance(expr, sp.Mul):  # SymPy prints 1/x through _print_Mul
            return super()._print_Mul(expr)
        if is_unevaluated_product(expr):
            return self._print_unevaluated_Mul(expr)
        coefficient, rest = expr.as_coeff_Mul()
        if (shown := as_decimal(abs(coefficient))) is not None:  # 0.044715 x^3, not a fraction around it
            sign = "-" if coefficient < 0 else ""
            return f"{sign}{shown}{self.decimal_times}{self.parenthesize(rest, PRECEDENCE['Mul'], strict=True)}"
        ordered = sp.Mul._from_args(sorted(expr.args, key=reading_order))
        return self._with_order_none(super()._print_Mul, ordered)

    def _print_Rational(self, expr):
        shown = as_decimal(abs(expr))
        if shown is None:
            return super()._print_Rational(expr)
        return f"-{shown}" if expr < 0 else shown

    def _print_unevaluated_Mul(self, expr):
        return self._with_order_none(super()._print_Mul, expr)

    def _print_Add(self, expr, order=None):
        terms = list(expr.as_ordered_terms())
        positive = next((t for t in terms if not t.could_extract_minus_sign()), None)
        if positive is not None:
            terms.remove(positive)
            terms.insert(0, positive)
        return self._with_order_none(super()._print_Add, sp.Add._from_args(terms))

    def _with_order_none(self, method, expr):
        saved = self._settings["order"]
        self._settings["order"] = "none"
        try:
            return method(expr)
        finally:
            self._settings["order"] = saved


class IndexLatexPrinter(ReadingOrder, LatexPrinter):
    decimal_times = " "  # 0.044715 x_{j}^{3}
    def __init__(self, inline: bool = False):
        super().__init__({"fold_short_frac": inline, "mul_symbol": None})
        self.inline = inline
        self._inline = self if inline else IndexLatexPrinter(inline=True)
        self._printed: dict = {}

    def _print(self, expr, **kwargs) -> str:
        # A subexpression prints the same wherever it stands (its parent adds any brackets), and
        # the lines of a derivation share most of theirs: each is printed once per setting.
        key = (expr, self._settings["order"], tuple(sorted(kwargs.items())))
        try:
            return self._printed[key]
        except KeyError:
            pass
        except TypeError:  # an argument that cannot be a key
            return super()._print(expr, **kwargs)
        printed = self._printed[key] = super()._print(expr, **kwargs)
        return printed

    def _print_Idx(self, expr):
        return index_tex(expr.name)

    def _print_Mul(self, expr):
        found = fraction_before_sum(expr)
        if found is not None:
            coefficient, divisors, total = found
            sign = "-" if coefficient < 0 else ""
            if divisors:
                fraction = rf"\frac{{{self._print(abs(coefficient))}}}{{{self._print(sp.Mul(*divisors))}}}"
            else:
                fraction = rf"\frac{{{abs(coefficient.p)}}}{{{coefficient.q}}}"
            shown = self._print(total)
            return f"{sign}{fraction} " + (rf"\left({shown}\right)" if isinstance(total, sp.Add) else shown)
        return super()._print_Mul(expr)

    def _print_unevaluated_Mul(self, expr):
        factors = []
        for arg in expr.args:
            tex = self._print(arg)
            if isinstance(arg, sp.Add) or arg.could_extract_minus_sign():
                tex = rf"\left({tex}\right)"
            factors.append(tex)
        return " ".join(factors)

    def _print_primitive(self, primitive: Primitive, expr, exp=None) -> str:
        """A primitive function, written in its entry's TexStyle; ``exp``: a power of it."""
        argument = expr.args[0]
        if primitive.style == TexStyle.OPERATOR:  # \log o_j, \tanh^{2} z_j, \tanh\left(a + b\right)
            head = rf"{primitive.tex}^{{{exp}}}" if exp else primitive.tex
            if isinstance(argument, (sp.Indexed, sp.Symbol)):
                return rf"{head} {self._print(argument)}"
            return rf"{head}\left({self._print(argument)}\right)"
        if primitive.style == TexStyle.CALL:
            tex = rf"{primitive.tex}\left({self._print(argument)}\right)"
            return rf"{tex}^{{{exp}}}" if exp else tex
        printer = self._inline if primitive.style == TexStyle.EXPONENT else self  # e^{z_j/T}
        tex = primitive.tex.format(x=printer._print(argument))
        return rf"\left({tex}\right)^{{{exp}}}" if exp else tex

    def _subscript(self, indices) -> str:
        names = [self._print(i) for i in indices]
        return "".join(names) if all(len(n) == 1 for n in names) else ",".join(names)

    def _print_Indexed(self, expr):
        return f"{name_tex(str(expr.base.label))}_{{{self._subscript(expr.indices)}}}"

    def _print_Symbol(self, expr, style="plain"):
        return name_tex(expr.name)

    def _print_Pow(self, expr):
        base, exponent = expr.args
        if exponent in BY_POWER:
            return BY_POWER[exponent].tex.format(x=self._print(base))
        if isinstance(base, sp.Indexed) and "^" in name_tex(str(base.base.label)) and exponent.is_Integer \
                and exponent > 0:
            return rf"\left({self._print(base)}\right)^{{{self._print(exponent)}}}"
        return super()._print_Pow(expr)

    def _print_Sum(self, expr):
        body = expr.function
        tex = self._print(body)
        if isinstance(body, sp.Add):
            tex = rf"\left({tex}\right)"
        sums = "".join(rf"\sum_{{{self._print(limit[0])}}} " for limit in reversed(expr.limits))
        return sums + tex

    def _print_KroneckerDelta(self, expr, exp=None):
        tex = rf"\delta_{{{self._subscript(expr.args)}}}"
        return f"{tex}^{{{exp}}}" if exp else tex

    def _print_DiracDelta(self, expr, exp=None):
        # the derivative of a step [x > 0], written so; delta is the Kronecker delta here
        tex = rf"\left[{self._print(expr.args[0])} > 0\right]'"
        return rf"\left({tex}\right)^{{{exp}}}" if exp else tex

    def _print_Partial(self, expr):
        numerator, denominator = self._print(expr.numerator), self._print(expr.denominator)
        if self.inline:
            return rf"\partial {numerator}/\partial {denominator}"
        return rf"\frac{{\partial {numerator}}}{{\partial {denominator}}}"

    def _print_DirectPartial(self, expr):
        return rf"\left.{self._print_Partial(expr)}\right|_{{\text{{direct}}}}"

    def _print_Abbreviation(self, expr):
        return self._print(expr.name)

    def _print_Derivative(self, expr):
        (variable, _), = expr.variable_count
        inner = self._print(expr.expr)
        if isinstance(expr.expr, (sp.Add, sp.Mul)) or expr.expr.could_extract_minus_sign():
            inner = rf"\left({inner}\right)"
        return rf"\frac{{\partial}}{{\partial {self._print(variable)}}} {inner}"


class IndexTextPrinter(ReadingOrder, StrPrinter):
    decimal_times = "*"  # 0.044715*x[j]**3
    """The plain-text syntax of JSON results; ``spec.equations.parse_equation`` reads it back."""

    printmethod = "_derive_text"  # not Indexed._sympystr, which writes "w[i, j]"

    def _print_Idx(self, expr):
        return expr.name

    def _print_Indexed(self, expr):
        return f"{expr.base.label}[{','.join(self._print(i) for i in expr.indices)}]"

    def _print_Sum(self, expr):
        text = self._print(expr.function)
        for limit in expr.limits:  # the first limit is the innermost sum
            text = f"sum({self._print(limit[0])}, {text})"
        return text

    def _print_KroneckerDelta(self, expr):
        return f"delta({','.join(self._print(a) for a in expr.args)})"

    def _print_primitive(self, primitive: Primitive, expr, exp=None) -> str:
        return f"{primitive.name}({self._print(expr.args[0])})"

    def _print_Partial(self, expr):
        return f"partial({self._print(expr.numerator)}, {self._print(expr.denominator)})"  # as claims write it

    def _print_DirectPartial(self, expr):
        return f"direct {self._print_Partial(expr)}"

    def _print_Abbreviation(self, expr):
        return self._print(expr.name)


def _primitive_method(primitive: Primitive):
    def print_primitive(self, expr, exp=None):
        return self._print_primitive(primitive, expr, exp)
    return print_primitive


for _primitive in PRIMITIVES:
    if _primitive.power is None:  # powers (sqrt) are printed by _print_Pow
        for _printer in (IndexLatexPrinter, IndexTextPrinter):
            setattr(_printer, f"_print_{_primitive.function.__name__}", _primitive_method(_primitive))

_LATEX = IndexLatexPrinter()
_LATEX_INLINE = IndexLatexPrinter(inline=True)
_TEXT = IndexTextPrinter()


# printing is a pure function of the expression, and documents print the same lines many times
@functools.lru_cache(maxsize=8192)
def latex(expr) -> str:
    return _LATEX.doprint(signs_out_of_sums(expr))


@functools.lru_cache(maxsize=4096)
def latex_inline(expr) -> str:
    """For running text and headings: d/dx as a slash, short fractions folded."""
    return _LATEX_INLINE.doprint(signs_out_of_sums(expr))


@functools.lru_cache(maxsize=8192)
def text(expr) -> str:
    return _TEXT.doprint(signs_out_of_sums(expr))
