"""The chain rule: dE/dX_a = sum over consumers U of X of sum_b dE/dU_b dU_b/dX_a.

Every consumer's output gets indices of its own; each upstream gradient is substituted where
it is short and referred to (as dE/dU_b) otherwise, so the cost grows linearly with depth.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..model.indices import index_names, rename_bound, rename_free, summation
from ..model.partials import Partial, quantity
from ..rules.catalogue import CHAIN_RULE, SUBSTITUTE
from ..rules.steps import simplify
from .blocks import Block, BlockKey


@dataclass
class _Terms:
    """The chain rule's sum, term by term: as written, as substituted, and what it rests on."""

    written: list = field(default_factory=list)       # sum_b dE/dU_b dU_b/dX_a
    substituted: list = field(default_factory=list)   # the same with the derived blocks put in
    through: list = field(default_factory=list)       # U_b, for the reason
    used: list = field(default_factory=list)          # keys of blocks substituted
    referred: list = field(default_factory=list)      # keys of gradients kept as dE/dU_b


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
        return engine.store.add(engine.local(loss, name, (), indices), key)

    free = {i.name for i in indices}
    terms = _Terms()
    for consumer in consumers:
        if consumer is loss:
            local = engine.local(loss, name, (), indices)
            terms.written.append(local.lhs)
            terms.substituted.append(instantiate(engine, local, indices, free))
            terms.through.append(loss.lhs)
            terms.used.append(local.key)
            continue
        upstream = engine.gradient(consumer.output)
        summed = engine.naming.indices_for(consumer.output, free | index_names(terms.written))
        local = engine.local(consumer, name, summed, indices)
        u = quantity(consumer.output, summed)
        context = free | {i.name for i in summed}
        local_value = _instantiate_local(engine, local, summed, indices, context)
        if _compact(upstream.result):
            upstream_value = instantiate(engine, upstream, summed, context)
            terms.used.append(upstream.key)
        else:
            upstream_value = Partial(loss.lhs, u)
            terms.referred.append(upstream.key)
        terms.used.append(local.key)
        written = sp.Mul(Partial(loss.lhs, u), Partial(u, variable), evaluate=False)
        product = substitution_product(upstream_value, local_value)
        for idx in reversed(summed):
            written, product = summation(written, idx), summation(product, idx)
        terms.written.append(written)
        terms.substituted.append(product)
        terms.through.append(u)

    steps = [CHAIN_RULE.step(sp.Add(*terms.written), through=terms.through, variable=variable, loss=loss.lhs),
             SUBSTITUTE.step(sp.Add(*terms.substituted), blocks=terms.used)]
    steps += simplify(steps[-1].expr, engine.context, engine.rules)
    depends = tuple(dict.fromkeys(terms.used + terms.referred))
    return engine.store.add(Block(key, Partial(loss.lhs, variable), tuple(steps), None, depends))


def instantiate(engine, block: Block, indices, context: set[str]) -> sp.Expr:
    """The block's result with its free indices renamed to ``indices``, without capture."""
    mapping = dict(zip(block.indices, indices))
    renamed = rename_bound(block.result, context | {i.name for i in indices}, engine.naming.pool)
    return rename_free(renamed, mapping)


def _instantiate_local(engine, local: Block, out_indices, wrt_indices, context):
    layer_out = local.lhs.numerator
    out_free = tuple(layer_out.indices) if isinstance(layer_out, sp.Indexed) else ()
    mapping = dict(zip(out_free + local.indices, tuple(out_indices) + tuple(wrt_indices)))
    renamed = rename_bound(local.result, context | {i.name for i in mapping.values()}, engine.naming.pool)
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
