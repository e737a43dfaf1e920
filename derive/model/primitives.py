"""The elementwise functions derive knows, one entry each.

Everything about a function is in its entry: the name equations use, the SymPy function and
its derivative, its LaTeX in index form and in matrix form, its NumPy code and the NumPy
callable, and the reason a derivation shows when it differentiates it.  The equation reader,
the printers, the matrix translation, the numerical checks and the templates all read this
table, so adding a function means adding one entry (``tests/test_primitives.py`` then checks
it like every other).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

import numpy as np
import sympy as sp


class TexStyle(StrEnum):
    """How a function's argument and a power of it are written in index-form LaTeX."""

    OPERATOR = "operator"  # \tanh z_j, \tanh\left(a + b\right), \tanh^{2} z_j
    CALL = "call"          # \sigma\left(z_j\right), \sigma\left(z_j\right)^{2}
    EXPONENT = "exponent"  # e^{z_j}: the argument (short fractions folded) as a superscript
    BRACKET = "bracket"    # the template brings its own delimiters: \left[z_j > 0\right]


@dataclass(frozen=True)
class Primitive:
    name: str                      # in equations and text results: name(x)
    function: Callable             # builds the SymPy expression from the argument
    tex: str                       # index form; {x} is the argument
    style: TexStyle
    matrix_tex: str                # matrix form, applied to each element; {x} is the argument
    numpy: str                     # NumPy code; {x} is the argument's code
    array: Callable                # the same function on NumPy arrays
    derivative_tex: str | None = None  # shown where a derivation differentiates it
    reading_rank: float = 2        # where it stands in a product (printing.index.reading_order)
    power: sp.Rational | None = None   # SymPy represents it as this power of its argument
    activation: bool = False       # also a built-in layer type: type = "tanh"
    convention: str | None = None  # a choice its derivative rests on, stated with the assumptions


def defined(name: str, closed_form: Callable, derivative: Callable, doc: str) -> type[sp.Function]:
    """A new SymPy function ``name``, kept whole (so it can be named back), with its derivative.

    ``closed_form`` says what it is in SymPy's own terms; SymPy evaluates it numerically through
    that, and the tests check the derivative and the NumPy forms against it.
    """
    def fdiff(self, argindex=1):
        return derivative(self.args[0])

    def _eval_evalf(self, precision):
        return closed_form(self.args[0])._eval_evalf(precision)
    members = {"fdiff": fdiff, "_eval_evalf": _eval_evalf, "closed_form": staticmethod(closed_form),
               "__doc__": doc, "__module__": __name__}
    return type(name, (sp.Function,), members)


def function(name: str):
    """The SymPy function of the entry ``name`` (derivatives refer to each other through it)."""
    return BY_NAME[name].function


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


PRIMITIVES: tuple[Primitive, ...] = (
    Primitive("exp", sp.exp, "e^{{{x}}}", TexStyle.EXPONENT, r"\exp\left({x}\right)", "np.exp({x})", np.exp),
    Primitive("log", sp.log, r"\log", TexStyle.OPERATOR, r"\log\left({x}\right)", "np.log({x})", np.log,
              reading_rank=6.5),  # (1 - t_k) log(1 - o_k): the logarithm last, as it is read
    Primitive("sqrt", sp.sqrt, r"\sqrt{{{x}}}", TexStyle.BRACKET, r"\sqrt{{{x}}}", "np.sqrt({x})", np.sqrt,
              power=sp.Rational(1, 2)),
    Primitive("tanh", sp.tanh, r"\tanh", TexStyle.OPERATOR, r"\tanh\left({x}\right)", "np.tanh({x})", np.tanh,
              derivative_tex=r"\tanh' = 1 - \tanh^{2}", activation=True),
    Primitive("sigmoid",
              defined("sigmoid", lambda x: 1 / (1 + sp.exp(-x)),
                      lambda x: function("sigmoid")(x) * (1 - function("sigmoid")(x)), "The logistic function."),
              r"\sigma", TexStyle.CALL, r"\sigma\left({x}\right)", "1 / (1 + np.exp(-({x})))", _sigmoid,
              derivative_tex=r"\sigma' = \sigma\,(1 - \sigma)", activation=True),
    Primitive("relu", defined("relu", lambda x: sp.Max(0, x), lambda x: sp.Heaviside(x), "The rectifier."),
              r"\operatorname{relu}", TexStyle.CALL, r"\operatorname{{relu}}\left({x}\right)",
              "np.maximum({x}, 0)", lambda x: np.maximum(x, 0.0),
              derivative_tex=r"\operatorname{relu}'(x) = [x > 0]",
              convention=r"$\operatorname{relu}$ has no derivative at $0$; as PyTorch and JAX do, "
                         r"$\operatorname{relu}'(0)$ is taken to be $0$, so that $\operatorname{relu}'(x) = [x > 0]$: "
                         r"$1$ if $x > 0$, else $0$.",
              activation=True),
    Primitive("softplus", defined("softplus", lambda x: sp.log(1 + sp.exp(x)), lambda x: function("sigmoid")(x),
                                  "A smooth rectifier."),
              r"\operatorname{softplus}", TexStyle.CALL, r"\operatorname{{softplus}}\left({x}\right)",
              "np.logaddexp(0, {x})", lambda x: np.logaddexp(0.0, x),
              derivative_tex=r"\operatorname{softplus}' = \sigma", activation=True),
    Primitive("heaviside", sp.Heaviside, r"\left[{x} > 0\right]", TexStyle.BRACKET, r"\left[{x} > 0\right]",
              "np.heaviside({x}, 0.0)", lambda x: np.heaviside(x, 0.0),
              convention=r"The step $[x > 0]$ is flat, with derivative $0$, wherever $x \neq 0$; at $0$ it has "
                         r"none, and the checks never sample it there.",
              reading_rank=0.5),  # [h_j > 0] x_i, not x_i [...], which reads as x_{i1}
)

BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}
BY_FUNCTION: dict = {p.function: p for p in PRIMITIVES if p.power is None}
BY_POWER: dict = {p.power: p for p in PRIMITIVES if p.power is not None}


def of(expr) -> Primitive | None:
    """The entry an expression is an application of (sqrt(x) included), or None."""
    if isinstance(expr, sp.Pow) and expr.exp in BY_POWER:
        return BY_POWER[expr.exp]
    return BY_FUNCTION.get(expr.func)
