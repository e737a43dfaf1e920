"""Unevaluated partial derivatives of network quantities, and the names an expression mentions."""
from __future__ import annotations

import functools

import sympy as sp


class Partial(sp.Expr):
    """An unevaluated partial derivative d(numerator)/d(denominator) of network quantities."""

    is_commutative = True

    def __new__(cls, numerator, denominator):
        return sp.Expr.__new__(cls, numerator, denominator)

    @property
    def numerator(self):
        return self.args[0]

    @property
    def denominator(self):
        return self.args[1]


class DirectPartial(Partial):
    """The loss's own partial derivative, holding every other quantity fixed.

    Needed only when the loss uses a quantity that also reaches it through other layers;
    then dE/dX (total) and this direct part differ.
    """


class Abbreviation(sp.Expr):
    """A name a result gives a sub-expression it repeats (u_j for tanh(...)): printed as its
    ``name`` (an Indexed or a Symbol that is no quantity of the network), evaluated as its ``value``."""

    is_commutative = True

    def __new__(cls, name, value):
        return sp.Expr.__new__(cls, name, value)

    @property
    def name(self):
        return self.args[0]

    @property
    def value(self):
        return self.args[1]


@functools.lru_cache(maxsize=4096)
def tensor_names(expr) -> frozenset[str]:
    """Names of the network quantities an expression mentions (Indexed bases and scalars)."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, sp.Indexed):
            names.add(str(node.base.label))
        elif isinstance(node, Partial):
            visit(node.numerator)
            visit(node.denominator)
        elif isinstance(node, sp.Sum):
            visit(node.function)
        elif isinstance(node, Abbreviation):
            visit(node.value)
        elif isinstance(node, sp.Symbol) and not isinstance(node, sp.Idx) and not node.is_integer:
            names.add(node.name)
        else:
            for arg in node.args:
                visit(arg)

    visit(expr)
    return frozenset(names)


def is_unevaluated_product(expr) -> bool:
    """A product kept as it was substituted (engine.chain.substitution_product): the printers
    show it factor by factor, and the ``cancel`` step multiplies it together."""
    return isinstance(expr, sp.Mul) and sp.Mul(*expr.args) != expr


def quantity(name: str, indices):
    """The network quantity ``name`` at ``indices`` (a Symbol when it is a scalar)."""
    return sp.IndexedBase(name)[tuple(indices)] if indices else sp.Symbol(name)


def name_of(quantity_) -> str:
    return str(quantity_.base.label) if isinstance(quantity_, sp.Indexed) else quantity_.name


def indices_of(quantity_) -> tuple:
    return tuple(quantity_.indices) if isinstance(quantity_, sp.Indexed) else ()
