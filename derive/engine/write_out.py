"""Write-out: a requested gradient that refers to other gradients gets them substituted, at the end.

A gradient it would refer to more than once (the error dE/da_j of an attention step's mix, twice
in dE/ds_j = a_j (dE/da_j - sum_k a_k dE/da_k)) is kept by its name, as a person writes it, and
its value is given where it is derived; so is an error the substitutions have repeated
(``name_error``).  The result written out in full, naming only the network's own quantities,
is kept beside the form shown.
"""
from __future__ import annotations

import dataclasses
from collections import Counter

import sympy as sp

from ..errors import LimitReached
from ..limits import MAX_EXPRESSION_SIZE
from ..model.indices import index_names, reletter_bound, rename_free
from ..model.partials import Abbreviation, Partial, indices_of, name_of
from ..rules.catalogue import AFTER_WRITE_OUT, FINISHING, SUBSTITUTE_DERIVED
from ..rules.rewrites import rewrite
from ..rules.steps import simplify
from .blocks import Block, BlockKey, BlockKind


def finish(engine, block: Block) -> tuple[Block, sp.Expr | None]:
    """The block as documents show it, with the steps that write out each gradient it refers to
    once and name the errors it repeats; and its result written out in full (None where that is
    the result shown)."""
    where = f"d{engine.network.loss.output}/d{block.key.wrt}"
    kept = _repeated(engine, block.result)
    substituted = sorted((p for p in block.result.atoms(Partial) if name_of(p.denominator) not in kept), key=str)
    steps, expr = [], block.result
    if substituted:
        _refuse_if_too_large(engine, expr, kept, where)
        taken = index_names([step.expr for step in block.steps])
        # lettered afresh in reading order, each range's natural letter first, so every result reads alike
        expr = reletter_bound(_expand(engine, expr, taken, kept), set(), engine.naming.natural_pool)
        keys = [BlockKey.gradient(name_of(p.denominator)) for p in substituted]
        steps.append(SUBSTITUTE_DERIVED.step(expr, references=substituted, blocks=keys))
    context = dataclasses.replace(engine.context, errors=_errors(engine, block, kept),
                                  abbreviations=tuple(engine.abbreviations.items()))
    # the outputs the substituted results bring together are named back: (z_j - mu)/(eps + v) = h_j/sqrt(eps + v)
    steps += simplify(expr, context, FINISHING, where)
    shown = Block(block.key, block.lhs, (*block.steps, *steps), block.layer, block.depends) if steps else block
    for abbreviation in sorted(shown.result.atoms(Abbreviation), key=str):
        engine.abbreviations.setdefault(abbreviation.name, abbreviation.value)
    if not shown.result.has(Partial, Abbreviation):
        return shown, None
    _refuse_if_too_large(engine, shown.result, frozenset(), where)
    full = reletter_bound(_expand(engine, shown.result, index_names([shown.result]), frozenset()), set(),
                          engine.naming.natural_pool)
    tidied = simplify(full, engine.context, AFTER_WRITE_OUT, where)
    return shown, tidied[-1].expr if tidied else full


def _repeated(engine, expr) -> frozenset[str]:
    """The gradients ``expr`` would refer to more than once, written out: each is kept by name,
    the one nearest the variable first (it may hold the others' repetitions)."""
    order = {name: position for position, name in enumerate(engine.network.tensors)}
    kept: set[str] = set()
    while True:
        counts = _references(engine, expr, kept, {})
        repeated = [name for name, count in counts.items() if count > 1 and name not in kept]
        if not repeated:
            return frozenset(kept)
        kept.add(min(repeated, key=order.__getitem__))


def _references(engine, expr, kept, memo: dict) -> Counter:
    """How often ``expr`` refers to each gradient once every reference not ``kept`` is written out."""
    counts: Counter = Counter()
    loss = engine.network.loss.lhs
    for node in sp.preorder_traversal(expr):
        if type(node) is Partial and node.numerator == loss:
            name = name_of(node.denominator)
            counts[name] += 1
            if name not in kept:
                if name not in memo:
                    memo[name] = _references(engine, engine.gradient_block(name).result, kept, memo)
                counts.update(memo[name])
    return counts


def _errors(engine, block: Block, kept) -> tuple:
    """(dE/dU, its value, its block) for each gradient the block rests on that was substituted
    as it stands (its value refers to no other gradient), which ``name_error`` may call by name;
    the longest value first (it may hold a shorter one)."""
    seen: set[BlockKey] = set()
    found = []

    def collect(key: BlockKey):
        for dependency in engine.store.get(key).depends:
            if dependency in seen:
                continue
            seen.add(dependency)
            known = engine.store.get(dependency)
            if dependency.kind == BlockKind.GRADIENT and dependency.wrt not in kept and not known.result.has(Partial):
                found.append((known.lhs, known.result, dependency))
            collect(dependency)
    collect(block.key)
    return tuple(sorted(found, key=lambda error: -sp.count_ops(error[1])))


def _refuse_if_too_large(engine, expr, kept, where: str) -> None:
    """LimitReached where writing ``expr`` out would pass the size limit (softmax on softmax
    refers to the layer above twice, and doubles at every layer), before anything is written."""
    size = _written_size(engine, expr, kept, {})
    if size > MAX_EXPRESSION_SIZE:
        raise LimitReached(f"{where} written out would have about {size} terms and factors, past derive's "
                           f"limit of {MAX_EXPRESSION_SIZE}")


def _written_size(engine, expr, kept, sizes: dict) -> int:
    """How many terms and factors ``expr`` has once every reference in it not ``kept`` is
    written out, worked out before writing anything (``sizes`` remembers each referred gradient's)."""
    loss, size = engine.network.loss.lhs, 0
    for node in sp.preorder_traversal(expr):
        size += 1
        if type(node) is Partial and node.numerator == loss and (name := name_of(node.denominator)) not in kept:
            if name not in sizes:
                sizes[name] = _written_size(engine, engine.gradient_block(name).result, kept, sizes)
            size += sizes[name]
        if size > MAX_EXPRESSION_SIZE:
            break
    return size


def _expand(engine, expr, taken: set[str], kept):
    """``expr`` with each dE/dU in it not ``kept`` replaced by U's written-out result, renamed into place."""
    loss = engine.network.loss.lhs

    def visit(node):
        if isinstance(node, Abbreviation):
            return node.value
        if type(node) is Partial and node.numerator == loss and (name := name_of(node.denominator)) not in kept:
            block = engine.gradient_block(name)
            mapping = dict(zip(block.indices, indices_of(node.denominator)))
            value = reletter_bound(_written_result(engine, name, kept), taken | {i.name for i in mapping.values()},
                                   engine.naming.pool)
            value = rename_free(value, mapping)
            taken.update(index_names([value]))
            return value
        return None
    return rewrite(expr, visit)


def _written_result(engine, name: str, kept):
    """dE/d(name)'s result written out (but for the ``kept`` references), in its own index names;
    worked out once per gradient, so that writing out L layers costs L substitutions, not L at each layer."""
    if (name, kept) not in engine.written_results:
        result = engine.gradient_block(name).result
        engine.written_results[name, kept] = _expand(engine, result, set(index_names([result])), kept)
    return engine.written_results[name, kept]
