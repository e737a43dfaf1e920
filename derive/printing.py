"""Printers for index expressions: LaTeX as a person writes it, and the plain-text syntax.

LaTeX: ``o_{j}`` not ``o[j]``, ``\\sum_{k}`` without ranges, ``\\delta_{jk}``, ``w^{(1)}_{ij}``
for a name with a layer number, and partial derivatives as fractions.
Text: ``w[i,j]``, ``sum(k, expr)``, ``delta(j,k)`` — the syntax the equation parser reads.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
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
        if not isinstance(expr, sp.Mul):  # SymPy prints 1/x through _print_Mul
            return super()._print_Mul(expr)
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

    def _print_Mul(self, expr):
        # -(2/B) sum_s ..., rather than a whole sum above a fraction bar
        if isinstance(expr, sp.Mul) and sp.Mul(*expr.args) == expr:
            coefficient, rest = expr.as_coeff_Mul()
            below = [f for f in sp.Mul.make_args(rest) if isinstance(f, sp.Pow) and f.exp == -1 and f.base.is_Symbol]
            above = sp.Mul(*[f for f in sp.Mul.make_args(rest) if f not in below])
            if isinstance(above, sp.Sum) and not below and coefficient.is_Rational and not coefficient.is_Integer:
                sign = "-" if coefficient < 0 else ""
                return rf"{sign}\frac{{{abs(coefficient.p)}}}{{{coefficient.q}}} {self._print(above)}"
            if below and isinstance(above, sp.Sum):
                sign = "-" if coefficient < 0 else ""
                fraction = rf"\frac{{{self._print(abs(coefficient))}}}{{{self._print(sp.Mul(*[f.base for f in below]))}}}"
                return f"{sign}{fraction} {self._print(above)}"
        return super()._print_Mul(expr)

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
        body = expr.function
        tex = self._print(body)
        if isinstance(body, sp.Add):
            tex = rf"\left({tex}\right)"
        sums = "".join(rf"\sum_{{{self._print(limit[0])}}} " for limit in reversed(expr.limits))
        return sums + tex

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
        tex = rf"\left[{self._print(expr.args[0])} > 0\right]"
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
        text = self._print(expr.function)
        for limit in expr.limits:  # the first limit is the innermost sum
            text = f"sum({self._print(limit[0])}, {text})"
        return text

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


# --- matrix notation ------------------------------------------------------------------------------

def matrix_name_tex(name: str, rank: int) -> str:
    """y -> bold y (a vector), w -> bold W (a matrix), w2 -> bold W^{(2)}."""
    numbered = _NUMBERED.match(name)
    stem, number = (numbered.group(1), numbered.group(2)) if numbered else (name, None)
    if rank == 2 and len(stem) == 1:
        stem = stem.upper()
    if stem in GREEK:
        tex = rf"\boldsymbol{{\{stem}}}"
    elif len(stem) == 1:
        tex = rf"\mathbf{{{stem}}}"
    else:
        tex = rf"\mathbf{{{stem}}}"
    return f"{tex}^{{({number})}}" if number else tex


_MATRIX_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "sigmoid": r"\sigma",
                     "relu": r"\operatorname{relu}"}


def matrix_latex(node) -> str:
    kind, args = node.kind, node.args
    if kind == "leaf":
        return matrix_name_tex(args[0], node.rank)
    if kind == "scalar":
        return latex(args[0])
    if kind == "ones":
        return r"\mathbf{1}"
    if kind == "eye":
        return "I"
    if kind == "T":
        return rf"{_matrix_atom(args[0])}^\top"
    if kind == "diag":
        return rf"\operatorname{{diag}}\left({matrix_latex(args[0])}\right)"
    if kind == "sum":
        inner = args[0]
        if inner.kind == "hadamard" and len(inner.args) == 2 and not any(_reciprocal(a) for a in inner.args):
            return rf"{_matrix_atom(inner.args[0])}^\top {_matrix_atom(inner.args[1])}"  # 1^T (c . t) = c^T t
        return rf"\mathbf{{1}}^\top {_matrix_atom(inner)}"
    if kind == "matmul":
        return " ".join(_matrix_atom(a) for a in args)
    if kind == "hadamard":
        above = [a for a in args if not _reciprocal(a)]
        below = [a.args[0] for a in args if _reciprocal(a)]
        tex = r" \odot ".join(_matrix_atom(a) for a in above) if above else r"\mathbf{1}"
        return tex + "".join(rf" \oslash {_matrix_atom(b)}" for b in below)
    if kind == "add":
        parts = []
        for number, arg in enumerate(_positive_first(args)):
            negative = _is_negative(arg)
            tex = matrix_latex(_negated(arg)) if negative else matrix_latex(arg)
            parts.append((" - " if negative else (" + " if number else "")) + tex)
        return ("-" if parts[0].startswith(" - ") else "") + "".join(parts).removeprefix(" - ")
    if kind == "scale":
        factor, inner = args
        value = factor.args[0] if factor.kind == "scalar" else None
        if value == -1:
            return "-" + (_matrix_atom(inner) if inner.kind in ("add", "scale") else matrix_latex(inner))
        if _reciprocal(factor):
            return rf"\frac{{{matrix_latex(inner)}}}{{{matrix_latex(factor.args[0])}}}"
        inner_tex = _matrix_atom(inner) if inner.kind in ("add", "scale") else matrix_latex(inner)
        return f"{_scalar_atom(factor)} {inner_tex}"
    if kind == "func":
        if args[0] == "heaviside":
            return rf"\left[{matrix_latex(args[1])} > 0\right]"
        return rf"{_MATRIX_FUNCTIONS[args[0]]}\left({matrix_latex(args[1])}\right)"
    if kind == "power":
        base, exponent = args
        if exponent == -1:
            return rf"\mathbf{{1}} \oslash {_matrix_atom(base)}" if node.rank else rf"\frac{{1}}{{{matrix_latex(base)}}}"
        if exponent == 2:
            return rf"{_matrix_atom(base)} \odot {_matrix_atom(base)}"
        return rf"{_matrix_atom(base)}^{{\circ {exponent}}}"
    raise ValueError(kind)


def _negated(node):
    factor, inner = node.args
    value = -factor.args[0]
    if value == 1:
        return inner
    from .matrix import Node, scalar
    return Node("scale", (scalar(value), inner), node.rank, node.row)


def _matrix_atom(node) -> str:
    tex = matrix_latex(node)
    if node.kind in ("add", "scale", "hadamard", "matmul") or (node.kind == "power" and node.args[1] == 2):
        return rf"\left({tex}\right)"
    return tex


def _scalar_atom(node) -> str:
    tex = latex(node.args[0]) if node.kind == "scalar" else matrix_latex(node)
    if (node.kind == "scalar" and isinstance(node.args[0], sp.Add)) or node.kind in ("sum", "add"):
        return rf"\left({tex}\right)"
    return tex


_NUMPY_FUNCTIONS = {"exp": "np.exp({})", "log": "np.log({})", "tanh": "np.tanh({})",
                    "sigmoid": "1 / (1 + np.exp(-({})))", "relu": "np.maximum({}, 0)",
                    "heaviside": "np.heaviside({}, 0.0)"}


def numpy_code(node, sizes: dict | None = None) -> str:
    """A NumPy expression (``np`` being numpy) over arrays named as in the spec.

    ``sizes`` maps a dimension symbol (a batch size B, say) to code that reads it off an array.
    """
    sizes = sizes or {}
    kind, args = node.kind, node.args
    if kind == "leaf":
        return args[0]
    if kind == "scalar":
        return _sized(args[0], sizes)
    if kind == "ones":
        return "1"
    if kind == "T":
        return f"{_numpy_atom(args[0], sizes)}.T" if args[0].rank == 2 else numpy_code(args[0], sizes)
    if kind == "diag":
        return f"np.diag({numpy_code(args[0], sizes)})"
    if kind == "sum":
        return f"np.sum({numpy_code(args[0], sizes)})"
    if kind == "matmul":
        left, right = args
        if right.kind == "ones":
            return f"{_numpy_atom(left, sizes)}.sum(axis=1)"
        if left.rank == 1 and right.rank == 1 and right.row:
            return f"np.outer({numpy_code(left, sizes)}, {numpy_code(right, sizes)})"
        return f"{_numpy_atom(left, sizes)} @ {_numpy_atom(right, sizes)}"
    if kind == "hadamard":
        above = [a for a in args if not _reciprocal(a)]
        below = [a.args[0] for a in args if _reciprocal(a)]
        code = " * ".join(_numpy_atom(a, sizes) for a in above) if above else "1"
        return code + "".join(f" / {_numpy_atom(b, sizes)}" for b in below)
    if kind == "add":
        args = _positive_first(args)
        code = numpy_code(args[0], sizes)
        for arg in args[1:]:
            negative = _is_negative(arg)
            code += f" - {_numpy_atom(_negated(arg), sizes)}" if negative else f" + {numpy_code(arg, sizes)}"
        return code
    if kind == "scale":
        factor, inner = args
        if factor.kind == "scalar" and factor.args[0] == -1:
            return f"-{_numpy_atom(inner, sizes)}"
        if _reciprocal(factor):
            return f"{_numpy_atom(inner, sizes)} / {_numpy_atom(factor.args[0], sizes)}"
        if factor.kind == "scalar" and isinstance(factor.args[0], sp.Pow) and factor.args[0].exp == -1:
            return f"{_numpy_atom(inner, sizes)} / {_sized(factor.args[0].base, sizes)}"
        return f"{_numpy_atom(factor, sizes)} * {_numpy_atom(inner, sizes)}"
    if kind == "func":
        return _NUMPY_FUNCTIONS[args[0]].format(numpy_code(args[1], sizes))
    if kind == "power":
        if args[1] == -1:
            return f"1 / {_numpy_atom(args[0], sizes)}"
        return f"{_numpy_atom(args[0], sizes)} ** {args[1]}"
    if kind == "eye":
        raise ValueError("an identity matrix has no size in NumPy code")
    raise ValueError(kind)


def _sized(value, sizes) -> str:
    """A scalar in NumPy code, a dimension such as B read off an array: y.shape[0]."""
    named = {d: sp.Symbol(code) for d, code in sizes.items() if d in value.free_symbols}
    return text(value.xreplace(named))


def _numpy_atom(node, sizes=None) -> str:
    code = numpy_code(node, sizes)
    if node.kind in ("add", "scale", "hadamard", "matmul", "power") or node.kind == "func" and node.args[0] == "sigmoid":
        return f"({code})"
    if node.kind == "scalar" and not (node.args[0].is_Atom):
        return f"({code})"
    return code


def _reciprocal(node) -> bool:
    return node.kind == "power" and node.args[1] == -1


def _is_negative(node) -> bool:
    return node.kind == "scale" and node.args[0].kind == "scalar" and node.args[0].args[0].could_extract_minus_sign()


def _positive_first(args):
    positive = [a for a in args if not _is_negative(a)]
    return tuple(positive[:1]) + tuple(a for a in args if a is not (positive[0] if positive else None))