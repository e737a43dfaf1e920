"""The chain rule: dE/dX_a = sum over consumers U of X of sum_b dE/dU_b dU_b/dX_a.

Every consumer's output gets indices of its own; each upstream gradient is substituted where
it is short and referred to (as dE/dU_b) otherwise, so a deep network is not written out
again at every layer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy as sp

from ..model.indices import index_names, rename_bound, rename_free, summation
from ..model.network import Layer
from ..model.partials import Partial, indices_of, quantity
from ..rules.catalogue import CHAIN_RULE, SUBSTITUTE
from ..rules.steps import simplify
from .blocks import Block, BlockKey


@dataclass(frozen=True)
class _Link:
    """One consumer's term of the chain rule."""

    written: sp.Expr                     # sum_b dE/dU_b dU_b/dX_a
    substituted: sp.Expr                 # the same with the derived blocks put in
    through: sp.Expr                     # U_b, for the reason
    used: tuple[BlockKey, ...]           # blocks substituted
    referred: tuple[BlockKey, ...] = ()  # gradients kept as dE/dU_b


def chain_rule(engine, name: str) -> Block:
    """dE/d(name), by the chain rule through every consumer of ``name``."""
    key = BlockKey.gradient(name)
    if (block := engine.store.get(key)) is not None:
        return block
    loss = engine.network.loss
    indices = engine.naming.indices_for(name, set())
    variable = quantity(name, indices)
    consumers = engine.network.consumers(name)
    if consumers == [loss]:  # the loss's own derivative is the gradient
        return engine.store.add(dataclasses.replace(engine.local_block(loss, name, (), indices), key=key))

    links: list[_Link] = []
    for consumer in consumers:
        if consumer is loss:
            links.append(_through_the_loss(engine, name, indices))
        else:
            taken = {i.name for i in indices} | index_names([link.written for link in links])
            links.append(_through_a_layer(engine, consumer, name, indices, variable, taken))

    steps = [CHAIN_RULE.step(sp.Add(*[link.written for link in links]), through=[link.through for link in links],
                             variable=variable, loss=loss.lhs),
             SUBSTITUTE.step(sp.Add(*[link.substituted for link in links]),
                             blocks=[used for link in links for used in link.used])]
    steps += simplify(steps[-1].expr, engine.context, engine.rules, f"d{loss.output}/d{name}")
    depends = tuple(dict.fromkeys(k for link in links for k in (*link.used, *link.referred)))
    return engine.store.add(Block(key, Partial(loss.lhs, variable), tuple(steps), None, depends))


def _through_the_loss(engine, name: str, indices) -> _Link:
    """The loss's own (direct) derivative, where the loss also reads X."""
    loss = engine.network.loss
    local = engine.local_block(loss, name, (), indices)
    value = instantiate(engine, local, indices, {i.name for i in indices})
    return _Link(local.lhs, value, loss.lhs, (local.key,))


def _through_a_layer(engine, consumer: Layer, name: str, indices, variable, taken: set[str]) -> _Link:
    """sum_b dE/dU_b dU_b/dX_a for one layer U that reads X."""
    loss = engine.network.loss
    upstream = engine.gradient_block(consumer.output)
    summed = engine.naming.indices_for(consumer.output, taken)
    local = engine.local_block(consumer, name, summed, indices)
    u = quantity(consumer.output, summed)
    context = {i.name for i in indices} | {i.name for i in summed}
    local_value = instantiate(engine, local, indices, context, out_indices=summed)
    if _compact(upstream.result) and consumer.output not in engine.named_errors:
        upstream_value, used, referred = instantiate(engine, upstream, summed, context), (upstream.key,), ()
    else:
        upstream_value, used, referred = Partial(loss.lhs, u), (), (upstream.key,)
    written = sp.Mul(Partial(loss.lhs, u), Partial(u, variable), evaluate=False)
    substituted = substitution_product(upstream_value, local_value)
    for idx in reversed(summed):
        written, substituted = summation(written, idx), summation(substituted, idx)
    return _Link(written, substituted, u, (*used, local.key), referred)


def instantiate(engine, block: Block, indices, context: set[str], out_indices=()) -> sp.Expr:
    """The block's result with its free indices renamed, without capturing a summation index:
    its variable's to ``indices`` and, for a layer's derivative, its output's to ``out_indices``."""
    own = (indices_of(block.lhs.numerator) if out_indices else ()) + block.indices
    mapping = dict(zip(own, (*out_indices, *indices)))
    renamed = rename_bound(block.result, context | {i.name for i in mapping.values()}, engine.naming.pool)
    return rename_free(renamed, mapping)


def _compact(expr) -> bool:
    """A result short enough to substitute where it is used (no sums, no references)."""
    return not expr.has(sp.Sum) and not expr.has(Partial)


def substitution_product(upstream, local):
    """upstream * local, kept unevaluated when multiplying would silently cancel factors.

    The printers show an unevaluated product factor by factor, so the step after it
    (``cancel``) has something to show.
    """
    evaluated = upstream * local
    if sp.count_ops(evaluated) < sp.count_ops(upstream) + sp.count_ops(local):
        return sp.Mul(upstream, local, evaluate=False)
    return evaluated
