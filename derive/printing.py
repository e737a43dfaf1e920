"""Printers for index expressions: LaTeX as a person writes it, and the plain-text syntax.

LaTeX: ``o_{j}`` not ``o[j]``, ``\\sum_{k}`` without ranges, ``\\delta_{jk}``, ``w^{(1)}_{ij}``
for a name with a layer number, and partial derivatives as fractions.
Text: ``w[i,j]``, ``sum(k, expr)``, ``delta(j,k)`` — the syntax the equation parser reads.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .notation import Partial

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
         "Psi", "Omega"}
_NUMBERED = re.compile(r"([A-Za-z]+?)(\d+)\Z")


def name_tex(name: str) -> str:
    """A quantity's name in TeX: z1 -> z^{(1)}, tau -> \\tau, logits -> \\mathrm{logits}.

    Names are identifiers (checked by the parser), so nothing here needs escaping.
    """
    numbered = _NUMBERED.match(name)
    if numbered:
        return f"{name_tex(numbered.group(1))}^{{({numbered.group(2)})}}"
    if name in GREEK:
        return "\\" + name
    if len(name) == 1:
        return name
    return f"\\mathrm{{{name}}}"


def index_tex(name: str) -> str:
    numbered = _NUMBERED.match(name)
    if numbered:
        return f"{numbered.group(1)}_{{{numbered.group(2)}}}"
    return name_tex(name)


class ReadingOrder:
    """Print products and sums in the order a person writes them, for any SymPy printer."""

    def _print_Mul(self, expr):
        if sp.Mul(*expr.args) != expr:
            return self._print_unevaluated_Mul(expr)
        ordered = sp.Mul._from_args(sorted(expr.args, key=_reading_order))
        return self._with_order_none(super()._print_Mul, ordered)

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
    def __init__(self, inline: bool = False):
        super().__init__({"fold_short_frac": inline, "mul_symbol": None})
        self.inline = inline
        self._inline = self if inline else None

    def _print_Idx(self, expr):
        return index_tex(expr.name)

    def _print_unevaluated_Mul(self, expr):
        # a substitution before cancelling: keep its factors in order, each in brackets if needed
        factors = []
        for arg in expr.args:
            tex = self._print(arg)
            if isinstance(arg, sp.Add) or arg.could_extract_minus_sign():
                tex = rf"\left({tex}\right)"
            factors.append(tex)
        return " ".join(factors)

    def _operator(self, name: str, expr, exp=None) -> str:
        """\\log o_j and \\tanh^{2} z_j without brackets around a single name; brackets otherwise."""
        argument = expr.args[0]
        head = rf"\{name}^{{{exp}}}" if exp else rf"\{name}"
        if isinstance(argument, (sp.Indexed, sp.Symbol)):
            return rf"{head} {self._print(argument)}"
        return rf"{head}\left({self._print(argument)}\right)"

    def _print_log(self, expr, exp=None):
        return self._operator("log", expr, exp)

    def _print_tanh(self, expr, exp=None):
        return self._operator("tanh", expr, exp)

    def _subscript(self, indices) -> str:
        names = [self._print(i) for i in indices]
        return "".join(names) if all(len(n) == 1 for n in names) else ",".join(names)

    def _print_Indexed(self, expr):
        return f"{name_tex(str(expr.base.label))}_{{{self._subscript(expr.indices)}}}"

    def _print_Symbol(self, expr, style="plain"):
        return name_tex(expr.name)

    def _print_Pow(self, expr):
        base, exponent = expr.args
        if isinstance(base, sp.Indexed) and "^" in name_tex(str(base.base.label)) and exponent.is_Integer \
                and exponent > 0:
            return rf"\left({self._print(base)}\right)^{{{self._print(exponent)}}}"
        return super()._print_Pow(expr)

    def _print_Sum(self, expr):
        (idx, _, _), = expr.limits
        body = expr.function
        tex = self._print(body)
        if isinstance(body, sp.Add):
            tex = rf"\left({tex}\right)"
        return rf"\sum_{{{self._print(idx)}}} {tex}"

    def _print_exp(self, expr, exp=None):
        # e^{z_j/T}, not a fraction inside the exponent
        argument = self._inline._print(expr.args[0])
        tex = rf"e^{{{argument}}}"
        return rf"\left({tex}\right)^{{{exp}}}" if exp else tex

    def _print_KroneckerDelta(self, expr, exp=None):
        tex = rf"\delta_{{{self._subscript(expr.args)}}}"
        return f"{tex}^{{{exp}}}" if exp else tex

    def _print_Partial(self, expr):
        numerator, denominator = self._print(expr.numerator), self._print(expr.denominator)
        if self.inline:
            return rf"\partial {numerator}/\partial {denominator}"
        return rf"\frac{{\partial {numerator}}}{{\partial {denominator}}}"

    def _print_DirectPartial(self, expr):
        return rf"\left.{self._print_Partial(expr)}\right|_{{\text{{direct}}}}"

    def _print_Derivative(self, expr):
        (variable, _), = expr.variable_count
        inner = self._print(expr.expr)
        if isinstance(expr.expr, (sp.Add, sp.Mul)) or expr.expr.could_extract_minus_sign():
            inner = rf"\left({inner}\right)"
        return rf"\frac{{\partial}}{{\partial {self._print(variable)}}} {inner}"

    def _print_sigmoid(self, expr, exp=None):
        tex = rf"\sigma\left({self._print(expr.args[0])}\right)"
        return rf"{tex}^{{{exp}}}" if exp else tex

    def _print_relu(self, expr, exp=None):
        tex = rf"\operatorname{{relu}}\left({self._print(expr.args[0])}\right)"
        return rf"{tex}^{{{exp}}}" if exp else tex

    def _print_Heaviside(self, expr, exp=None):
        tex = rf"\mathbf{{1}}\left[{self._print(expr.args[0])} > 0\right]"
        return rf"\left({tex}\right)^{{{exp}}}" if exp else tex

def _reading_order(factor):
    """Factors as a person orders them: number, indicator, names, deltas, functions, derivatives,
    brackets, sums."""
    if factor.is_Number:
        rank = 0
    elif isinstance(factor, sp.Heaviside):
        rank = 0.5  # 1[h_j > 0] x_i, not x_i 1[...], which reads as x_{i1}
    elif isinstance(factor, (sp.Indexed, sp.Symbol)):
        rank = 1
    elif isinstance(factor, sp.KroneckerDelta):
        rank = 1.5
    elif isinstance(factor, Partial):
        rank = 4 if isinstance(factor.numerator, sp.Symbol) else 5
    elif isinstance(factor, sp.Add):
        rank = 6
    elif isinstance(factor, sp.log):
        rank = 6.5  # (1 - t_k) log(1 - o_k): the logarithm last, as it is read
    elif isinstance(factor, sp.Sum) or (isinstance(factor, sp.Pow) and isinstance(factor.base, sp.Sum)):
        rank = 7
    else:
        rank = 2
    return rank, sp.default_sort_key(factor)


class IndexTextPrinter(ReadingOrder, StrPrinter):
    """The plain-text syntax of JSON results; ``parse.parse_equation`` reads it back."""

    printmethod = "_derive_text"  # not Indexed._sympystr, which writes "w[i, j]"

    def _print_Idx(self, expr):
        return expr.name

    def _print_Indexed(self, expr):
        return f"{expr.base.label}[{','.join(self._print(i) for i in expr.indices)}]"

    def _print_Sum(self, expr):
        (idx, _, _), = expr.limits
        return f"sum({self._print(idx)}, {self._print(expr.function)})"

    def _print_KroneckerDelta(self, expr):
        return f"delta({','.join(self._print(a) for a in expr.args)})"

    def _print_Heaviside(self, expr):
        return f"heaviside({self._print(expr.args[0])})"

    def _print_Partial(self, expr):
        return f"d({self._print(expr.numerator)})/d({self._print(expr.denominator)})"

    def _print_DirectPartial(self, expr):
        return f"direct {self._print_Partial(expr)}"


_LATEX = IndexLatexPrinter()
_LATEX_INLINE = IndexLatexPrinter(inline=True)
_LATEX._inline = _LATEX_INLINE
_TEXT = IndexTextPrinter()


def _signs_out_of_sums(expr):
    """Sum_k (-f_k) -> -Sum_k f_k, so a sign is printed once, in front."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Sum):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.function.could_extract_minus_sign(),
                        lambda e: -sp.Sum(-e.function, *e.limits))


def latex(expr) -> str:
    return _LATEX.doprint(_signs_out_of_sums(expr))


def latex_inline(expr) -> str:
    """For running text and headings: d/dx as a slash, short fractions folded."""
    return _LATEX_INLINE.doprint(_signs_out_of_sums(expr))


def text(expr) -> str:
    return _TEXT.doprint(_signs_out_of_sums(expr))
