"""Printing conventions of the index form: how an expression is shown, without changing it.

Each is a named function here, used by the printers in ``index.py``; besides them the index
printers only order factors and terms as a person writes them (``index.reading_order``).
The matrix printers' conventions (1^T (c . t) written c^T t, a square as a . a) are their
``visit_`` methods.  Rewrites that change what a line says are steps, in ``derive/rules``.
"""
from __future__ import annotations

import decimal

import sympy as sp


def signs_out_of_sums(expr):
    """Sum_k (-f_k) is shown as -Sum_k f_k, so a sign is printed once, in front."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Sum):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.function.could_extract_minus_sign(),
                        lambda e: -sp.Sum(-e.function, *e.limits))


def fraction_before_sum(expr):
    """-(2/B) Sum_s ..., rather than a whole sum (or a bracket holding one) above a fraction bar;
    likewise 1/sqrt(v + eps) (...).

    For a product c * Sum (c a fraction) or c * Sum / B..., returns (coefficient, divisors,
    the sum): the printer writes the fraction c / (divisors) in front of the sum.  None otherwise.
    """
    if not isinstance(expr, sp.Mul) or sp.Mul(*expr.args) != expr:
        return None
    coefficient, rest = expr.as_coeff_Mul()
    below = [f for f in sp.Mul.make_args(rest) if isinstance(f, sp.Pow) and f.exp.is_negative and f.exp.is_Rational
             and (f.base.is_Symbol or f.exp != -1) and not f.base.has(sp.Sum)]  # 1/B, 1/sqrt(v + eps); not 1/(a + b)
    above = sp.Mul(*[f for f in sp.Mul.make_args(rest) if f not in below])
    holds_sum = (isinstance(above, sp.Sum) or isinstance(above, sp.Add) and above.has(sp.Sum)
                 or isinstance(above, sp.Mul) and any(isinstance(f, sp.Sum) for f in above.args))
    leftover = any(isinstance(f, sp.Pow) and f.exp.is_negative for f in sp.Mul.make_args(above))
    if not holds_sum or leftover:  # a fraction in front of another fraction helps nobody
        return None  # a bracket or product with a sum in it keeps its fraction in front too: (1/B)(o Sum_k t_k - t)
    if below or (coefficient.is_Rational and not coefficient.is_Integer):
        return coefficient, [1 / f for f in below], above
    return None


MAX_DECIMAL_PLACES = 20  # beyond that (1/2^60, say) the fraction is the shorter


def as_decimal(number) -> str | None:
    """A fraction with a denominator of only 2s and 5s beyond 100 (0.044715 becomes 8943/200000
    when read) is shown as the decimal it is: 0.044715.  Small fractions (1/2, 3/8) stay fractions;
    None for any other number."""
    if not isinstance(number, sp.Rational) or number.is_Integer:
        return None
    rest, places = int(number.q), 0
    for prime in (2, 5):
        power = 0
        while rest % prime == 0:
            rest //= prime
            power += 1
        places = max(places, power)
    if rest != 1 or number.q <= 100 or places > MAX_DECIMAL_PLACES:
        return None
    with decimal.localcontext() as exact:
        exact.prec = len(str(abs(int(number.p)))) + places + 2
        value = decimal.Decimal(int(number.p)) / decimal.Decimal(int(number.q))
    return f"{value:f}"
