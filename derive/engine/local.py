"""Local derivatives: dU/dX of one layer output U, from U's defining equation, by SymPy's diff."""
from __future__ import annotations

import sympy as sp

from ..model.indices import rename_bound, rename_free
from ..model.network import Layer
from ..model.partials import DirectPartial, Partial, quantity
from ..model.primitives import of as primitive_of
from ..rules.catalogue import BEFORE_DIFFERENTIATING, DEFINITION, DIFFERENTIATE
from ..rules.steps import simplify
from .blocks import Block, BlockKey


def local_derivative(engine, layer: Layer, wrt: str, out_indices=None, wrt_indices=None) -> Block:
    """d(layer output)/d(wrt) from the layer's defining equation.

    Derived once, with the index names of its first use, so that the chain rule that asked
    for it can substitute it as it stands.
    """
    key = BlockKey.local(layer.output, wrt)
    if (block := engine.store.get(key)) is not None:
        return block
    network, naming = engine.network, engine.naming
    out_indices = tuple(layer.indices if out_indices is None else out_indices)
    if wrt_indices is None:
        wrt_indices = naming.indices_for(wrt, {i.name for i in out_indices})
    variable = quantity(wrt, wrt_indices)
    taken = {i.name for i in out_indices} | {i.name for i in wrt_indices}
    definition = rename_free(rename_bound(layer.rhs, taken, naming.pool), dict(zip(layer.indices, out_indices)))
    output = quantity(layer.output, out_indices)
    direct = layer is network.loss and len(network.consumers(wrt)) > 1
    lhs = (DirectPartial if direct else Partial)(output, variable)

    steps = [DEFINITION.step(sp.Derivative(definition, variable), output=output)]
    where = f"{layer.where}, d{layer.output}/d{wrt}"
    before = simplify(definition, engine.context, BEFORE_DIFFERENTIATING, where)
    steps += [type(s)(sp.Derivative(s.expr, variable), s.rule, s.detail) for s in before]
    if before:
        definition = before[-1].expr
    differentiated = sp.diff(definition, variable)
    steps.append(DIFFERENTIATE.step(differentiated, variable=variable, functions=_primitives_in(definition)))
    steps += simplify(differentiated, engine.context, engine.rules, where)
    return engine.store.add(Block(key, lhs, tuple(steps), layer))


def _primitives_in(expr) -> tuple:
    """The primitive functions applied in ``expr``, in name order (their derivatives are the reason)."""
    found = {primitive_of(node) for node in sp.preorder_traversal(expr)} - {None}
    return tuple(sorted(found, key=lambda p: p.name))
