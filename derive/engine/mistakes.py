"""Mistake models: the wrong derivations people make, derived by the same engine as the right
ones, so a document can show where a tempting shortcut leads (and ``derive check`` can name a
claimed result that one of them gives).  One ordered catalogue, each model one small function
``(engine, block, cases) -> Mistake | None`` for a layer's derivative."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy as sp

from ..model.network import Layer, Role
from ..rules.steps import Step
from .blocks import Block
from .cases import JacobianCases


@dataclass(frozen=True)
class Mistake:
    """What a mistake in a layer's derivative gives for the gradient by the layer's input."""

    model: str                 # the mistake model's name
    layer: Layer
    block: Block               # the layer's true derivative
    cases: JacobianCases
    variable: str              # the gradient it gets wrong: dE/d(variable)
    jacobian: sp.Expr          # the layer's derivative as the mistake has it
    wrong: sp.Expr             # and the gradient that follows from it
    right: sp.Expr
    indices: tuple


def diagonal_only(engine, block: Block, cases: JacobianCases) -> Mistake | None:
    """Keep only the k = j case of a Jacobian whose k != j entries are not zero: the first seed
    question's do_j/dz_j = o_j (1 - o_j), which drops how z_j moves every other output."""
    if cases.diagonal:
        return None
    jacobian = cases.equal * sp.KroneckerDelta(cases.output_index, cases.input_index)
    # the same network, derived again with this one derivative replaced
    shortcut = type(engine)(engine.network, engine.rules)
    shortcut.store.add(dataclasses.replace(block, steps=(Step(jacobian, "diagonal_only"),)))
    variable = block.key.wrt
    wrong, right = shortcut.gradient_of(variable), engine.gradient_of(variable)
    if wrong.result == right.result:
        return None
    return Mistake("diagonal_only", block.layer, block, cases, variable, jacobian, wrong.result, right.result,
                   right.indices)


MISTAKES = (diagonal_only,)


def mistakes_for(engine, blocks) -> list[Mistake]:
    """Every mistake of the catalogue that changes a gradient, for the layers' derivatives among
    ``blocks`` that are by a layer's input (not by its parameters)."""
    found = []
    for block in blocks:
        if block.layer is None or engine.network.tensors[block.key.wrt].role == Role.PARAMETER:
            continue
        cases = engine.jacobian_cases(block)
        if cases is None:
            continue
        for model in MISTAKES:
            if (mistake := model(engine, block, cases)) is not None:
                found.append(mistake)
    return found
