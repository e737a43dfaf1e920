"""Write-out: a requested gradient that refers to other gradients gets them substituted, at the end."""
from __future__ import annotations


import sympy as sp

from ..errors import LimitReached
from ..limits import MAX_EXPRESSION_SIZE
from ..model.indices import index_names, reletter_bound, rename_free
from ..model.partials import Partial, indices_of, name_of
from ..rules.catalogue import AFTER_WRITE_OUT, SUBSTITUTE_DERIVED
from ..rules.rewrites import rewrite
from ..rules.steps import simplify
from .blocks import Block, BlockKey


def written_out(engine, block: Block) -> Block | None:
    """The block with one more step in which every dE/dU it refers to is replaced by U's result
    (recursively), so that the result names only the network's own quantities; None if it has none."""
    references = sorted(block.result.atoms(Partial), key=str)
    if not references:
        return None
    size = _written_size(engine, block.result, engine.written_sizes)
    if size > MAX_EXPRESSION_SIZE:  # e.g. softmax on softmax: each layer refers to the next one twice
        raise LimitReached(f"d{engine.network.loss.output}/d{block.key.wrt} written out would have about {size} "
                           f"terms and factors, past derive's limit of {MAX_EXPRESSION_SIZE}")
    taken = index_names([step.expr for step in block.steps])
    # lettered afresh in reading order, each range's natural letter first, so every result reads alike
    expanded = reletter_bound(_expand(engine, block.result, taken), set(), engine.naming.natural_pool)
    keys = [BlockKey.gradient(name_of(p.denominator)) for p in references]
    final = SUBSTITUTE_DERIVED.step(expanded, references=references, blocks=keys)
    # the outputs the substituted results bring together are named back: (z_j - mu)/(eps + v) = h_j/sqrt(eps + v)
    named = simplify(expanded, engine.context, AFTER_WRITE_OUT, f"d{engine.network.loss.output}/d{block.key.wrt}")
    return Block(block.key, block.lhs, (*block.steps, final, *named), block.layer, block.depends)


def _written_size(engine, expr, sizes: dict) -> int:
    """How many terms and factors ``expr`` has once every reference in it is written out,
    worked out before writing anything (``sizes`` remembers each referred gradient's, for
    the engine's life)."""
    loss, size = engine.network.loss.lhs, 0
    for node in sp.preorder_traversal(expr):
        size += 1
        if type(node) is Partial and node.numerator == loss:
            name = name_of(node.denominator)
            if name not in sizes:
                sizes[name] = _written_size(engine, engine.gradient_block(name).result, sizes)
            size += sizes[name]
        if size > MAX_EXPRESSION_SIZE:
            break
    return size


def _expand(engine, expr, taken: set[str]):
    """``expr`` with each dE/dU in it replaced by U's written-out result, renamed into place."""
    loss = engine.network.loss.lhs

    def visit(node):
        if type(node) is Partial and node.numerator == loss:
            name = name_of(node.denominator)
            block = engine.gradient_block(name)
            mapping = dict(zip(block.indices, indices_of(node.denominator)))
            value = reletter_bound(_written_result(engine, name), taken | {i.name for i in mapping.values()},
                                   engine.naming.pool)
            value = rename_free(value, mapping)
            taken.update(index_names([value]))
            return value
        return None
    return rewrite(expr, visit)


def _written_result(engine, name: str):
    """dE/d(name)'s result written out, in its own index names; worked out once per gradient, so
    that writing out L layers costs L substitutions, not L at each layer."""
    if name not in engine.written_results:
        result = engine.gradient_block(name).result
        engine.written_results[name] = _expand(engine, result, set(index_names([result])))
    return engine.written_results[name]
