"""Steps, step kinds, and the driver that applies rewrites one at a time.

A derivation is a list of Steps.  Every Step names its StepKind; the kinds, the rewrites
among them, and their order are listed in ``catalogue.py``.  The driver ``simplify`` applies
the first rewrite of its list that changes the expression, records a Step, and starts over,
so every step is one rewrite applied everywhere it fits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from ..errors import LimitReached, UnfinishedSimplification
from ..limits import MAX_EXPRESSION_SIZE
from ..model.network import Layer, Targets

MAX_STEPS = 40


def check_size(expr, where: str) -> None:
    """Stop a derivation whose expression has grown past MAX_EXPRESSION_SIZE nodes (counted
    only up to the limit, so the check stays cheap)."""
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count >= MAX_EXPRESSION_SIZE:
            raise LimitReached(f"{where + ': ' if where else ''}the expression has grown past "
                               f"{MAX_EXPRESSION_SIZE} terms and factors, derive's limit")


@dataclass(frozen=True)
class Step:
    """One line of a derivation: the expression after applying ``rule``, and why."""

    expr: sp.Expr
    rule: str
    detail: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class RuleContext:
    definitions: tuple[Layer, ...] = ()   # layers whose outputs may be named back
    target: str | None = None             # a target tensor known to sum to one
    targets: Targets = Targets.UNNORMALIZED
    errors: tuple = ()                    # (dE/dU, its value, its block): errors that may be named back
    names: frozenset = frozenset()        # every name the network uses: an abbreviation takes another
    abbreviations: tuple = ()             # (name, value) given before, in other results: used alike


@dataclass(frozen=True)
class StepKind:
    """One kind of step: its name, the detail its reason reads, and its rewrite.

    ``detail`` names the keys handed to the reason macro of the same name in
    ``templates/reasons.j2``.  ``rewrite`` is None for the steps the engine writes itself.
    """

    name: str
    detail: tuple[str, ...] = ()
    rewrite: Callable[[sp.Expr, RuleContext], tuple[sp.Expr, dict] | None] | None = None

    def step(self, expr, **detail) -> Step:
        """A step of this kind, its detail checked against what the reason reads."""
        if set(detail) != set(self.detail):
            raise TypeError(f"step '{self.name}' hands over {sorted(detail)}, its reason reads {sorted(self.detail)}")
        return Step(expr, self.name, detail)


def simplify(expr, ctx: RuleContext, rules, where: str = "") -> list[Step]:
    """Apply the first rule that changes the expression, again and again; return the steps.

    ``where`` names what is being simplified, for the error when an expression grows too large.
    """
    steps: list[Step] = []
    seen = {expr}
    check_size(expr, where)
    for _ in range(MAX_STEPS):
        for kind in rules:
            outcome = kind.rewrite(expr, ctx)
            if outcome is None:
                continue
            new, detail = outcome
            if new == expr or new in seen:
                continue
            check_size(new, where)
            steps.append(kind.step(new, **detail))
            seen.add(new)
            expr = new
            break
        else:
            return steps
    raise UnfinishedSimplification(
        f"{where + ': ' if where else ''}the rules were still changing the expression after {MAX_STEPS} steps; "
        f"it reached {expr}")
