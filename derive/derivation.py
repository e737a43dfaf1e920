"""Backpropagation by the full chain rule, with a fresh index for every intermediate quantity.

For a quantity X the engine writes

    dE/dX_a = sum over consumers U of X:  sum_b dE/dU_b * dU_b/dX_a

takes every local derivative dU_b/dX_a with SymPy's ``diff`` on U's defining equation,
and simplifies each result with the rule catalogue.  Each derived equation is a Block
(a left-hand side and its steps); blocks are derived once and referred to afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from . import rules as R
from .notation import (DirectPartial, Layer, Network, Partial, bound_indices, free_indices,
                       make_index, rename_bound, summation)

INDEX_NAMES = tuple("klpquvijabcdefghr") + tuple(f"i{k}" for k in range(1, 50))


@dataclass
class Block:
    """One derived equation: ``lhs = steps[0].expr = steps[1].expr = ...``."""

    key: tuple
    lhs: sp.Expr
    steps: list[R.Step]
    kind: str                      # "local" (one layer's derivative) or "chain"
    layer: Layer | None = None     # for local blocks, the layer differentiated
    depends: list[tuple] = field(default_factory=list)

    @property
    def result(self) -> sp.Expr:
        return self.steps[-1].expr

    @property
    def indices(self) -> tuple[sp.Idx, ...]:
        return tuple(self.lhs.denominator.indices) if isinstance(self.lhs.denominator, sp.Indexed) else ()


@dataclass
class Gradient:
    """dE/dX for one quantity X: the blocks that derive it, in order, and the final result."""

    wrt: str
    block: Block
    blocks: list[Block]

    @property
    def result(self) -> sp.Expr:
        return self.block.result

    @property
    def indices(self) -> tuple[sp.Idx, ...]:
        return self.block.indices

    @property
    def steps(self) -> list[R.Step]:
        return [step for block in self.blocks for step in block.steps]


class Engine:
    """Derives and caches the blocks of one network."""

    def __init__(self, network: Network, rules: list[R.Rule] | None = None):
        self.network = network
        self.rules = R.CATALOGUE if rules is None else rules
        self.blocks: dict[tuple, Block] = {}
        self.names = [n for n in INDEX_NAMES if n not in network.tensors and
                      n not in {str(d) for d in network.dimensions}]
        self.batch_dim = next((d for d in network.dimensions if network.batch and str(d) == network.batch.size), None)
        self.context = R.RuleContext(
            definitions=[layer for layer in network.layers],
            target=network.target if network.targets_sum_to_one else None,
            targets=network.targets)

    # -- indices -------------------------------------------------------------------------

    def indices_for(self, name: str, avoid: set[str]) -> tuple[sp.Idx, ...]:
        """Index objects for tensor ``name``: its natural names unless taken, else fresh ones."""
        tensor = self.network.tensors[name]
        chosen = []
        for natural, dim in zip(tensor.natural_indices or ("",) * len(tensor.dims), tensor.dims):
            taken = avoid | {i.name for i in chosen}
            name_ = natural if natural and natural not in taken else next(n for n in self.pool(dim) if n not in taken)
            chosen.append(make_index(name_, dim))
        return tuple(chosen)

    def pool(self, dim) -> list[str]:
        """Fresh index names for a range; a second sample index is always r (then u, v)."""
        if dim == self.batch_dim:
            return [n for n in ("r", "u", "v") if n in self.names] + self.names
        return self.names

    def quantity(self, name: str, indices) -> sp.Expr:
        return sp.IndexedBase(name)[indices] if indices else sp.Symbol(name)

    def instantiate(self, block: Block, indices, context: set[str]) -> sp.Expr:
        """The block's result with its free indices renamed to ``indices``, without capture."""
        mapping = dict(zip(block.indices, indices))
        taken = context | {i.name for i in indices}
        renamed = rename_bound(block.result, taken, self.pool)
        return _simultaneous(renamed, mapping)

    # -- local derivatives ---------------------------------------------------------------

    def local(self, layer: Layer, wrt: str, out_indices=None, wrt_indices=None) -> Block:
        """d(layer output)/d(wrt) from the layer's defining equation.

        Derived once, with the index names of its first use, so that the chain rule that
        asked for it can substitute it as it stands.
        """
        key = ("local", layer.output, wrt)
        if key in self.blocks:
            return self.blocks[key]
        out_indices = tuple(layer.indices if out_indices is None else out_indices)
        if wrt_indices is None:
            wrt_indices = self.indices_for(wrt, {i.name for i in out_indices})
        variable = self.quantity(wrt, wrt_indices)
        taken = {i.name for i in out_indices} | {i.name for i in wrt_indices}
        definition = _simultaneous(rename_bound(layer.rhs, taken, self.pool), dict(zip(layer.indices, out_indices)))
        output = self.quantity(layer.output, out_indices)
        direct = layer is self.network.loss and len(self.network.consumers(wrt)) > 1
        lhs = (DirectPartial if direct else Partial)(output, variable)
        steps = [R.Step(sp.Derivative(definition, variable), "definition", {"output": output})]
        before = R.simplify(definition, self.context, R.rules_named("log_of_exp", "log_of_quotient"))
        steps += [R.Step(sp.Derivative(s.expr, variable), s.rule, s.detail) for s in before]
        if before:
            definition = before[-1].expr
        differentiated = sp.diff(definition, variable)
        functions = sorted({type(f).__name__ for f in definition.atoms(sp.Function)})
        steps.append(R.Step(differentiated, "differentiate", {"variable": variable, "functions": functions}))
        steps += R.simplify(differentiated, self.context, self.rules)
        block = Block(key, lhs, steps, "local", layer)
        self.blocks[key] = block
        return block

    # -- gradients of the loss -----------------------------------------------------------

    def gradient(self, name: str) -> Block:
        """dE/d(name), by the chain rule through every consumer of ``name``."""
        key = ("gradient", name)
        if key in self.blocks:
            return self.blocks[key]
        loss = self.network.loss
        indices = self.indices_for(name, set())
        variable = self.quantity(name, indices)
        lhs = Partial(loss.lhs, variable)
        consumers = self.network.consumers(name)
        if consumers == [loss]:
            block = self.local(loss, name, (), indices)
            self.blocks[key] = block
            return block

        free = {i.name for i in indices}
        chain_terms, substituted, through, used, references = [], [], [], [], []
        for consumer in consumers:
            if consumer is loss:
                local = self.local(loss, name, (), indices)
                chain_terms.append(local.lhs)
                substituted.append(self.instantiate(local, indices, free))
                through.append(loss.lhs)
                used.append(local.key)
                continue
            upstream = self.gradient(consumer.output)
            summed = self.indices_for(consumer.output, free | names_in(chain_terms))
            local = self.local(consumer, name, summed, indices)
            u = self.quantity(consumer.output, summed)
            context = free | {i.name for i in summed}
            local_value = self._instantiate_local(local, summed, indices, context)
            if _compact(upstream.result):
                upstream_value = self.instantiate(upstream, summed, context)
                used.append(upstream.key)
            else:
                upstream_value = Partial(loss.lhs, u)
                references.append(upstream.key)
            used.append(local.key)
            chain = sp.Mul(Partial(loss.lhs, u), Partial(u, variable), evaluate=False)
            product = _product(upstream_value, local_value)
            for idx in reversed(summed):
                chain, product = summation(chain, idx), summation(product, idx)
            chain_terms.append(chain)
            substituted.append(product)
            through.append(u)

        steps = [R.Step(sp.Add(*chain_terms), "chain_rule", {"through": through, "variable": variable,
                                                               "loss": loss.lhs})]
        steps.append(R.Step(sp.Add(*substituted), "substitute", {"blocks": used}))
        steps += R.simplify(steps[-1].expr, self.context, self.rules)
        depends = list(dict.fromkeys(used + references))
        block = Block(key, lhs, steps, "chain", None, depends)
        self.blocks[key] = block
        return block

    def _instantiate_local(self, local: Block, out_indices, wrt_indices, context):
        layer_out = local.lhs.numerator
        out_free = tuple(layer_out.indices) if isinstance(layer_out, sp.Indexed) else ()
        mapping = dict(zip(out_free + local.indices, tuple(out_indices) + tuple(wrt_indices)))
        renamed = rename_bound(local.result, context | {i.name for i in mapping.values()}, self.pool)
        return _simultaneous(renamed, mapping)

    def _expand_references(self, expr, taken: set[str]):
        """Replace every dE/dU_b kept by reference with U's derived result, recursively."""
        def visit(node):
            if type(node) is Partial and node.numerator == self.network.loss.lhs:
                block = self.gradient(str(node.denominator.base.label))
                value = self.instantiate(block, node.denominator.indices, taken)
                taken.update(names_in([value]))
                return self._expand_references(value, taken)
            return None
        return R.rewrite(expr, visit)

    def gradient_of(self, name: str) -> Gradient:
        """dE/d(name) with every block it needs; its result uses only the network's own names."""
        block = self.gradient(name)
        ordered: dict[tuple, Block] = {}

        def collect(b: Block):
            for dep in b.depends:
                collect(self.blocks[dep])
            ordered.setdefault(b.key, b)
        collect(block)
        references = sorted(block.result.atoms(Partial), key=str)
        if references:
            # derived once and referred to above; written out only here, at the end
            expanded = self._expand_references(block.result, names_in([step.expr for step in block.steps]))
            keys = [("gradient", str(p.denominator.base.label)) for p in references]
            final = R.Step(expanded, "substitute_derived", {"references": references, "blocks": keys})
            block = Block(block.key, block.lhs, [*block.steps, final], block.kind, block.layer, block.depends)
            ordered[block.key] = block
        return Gradient(name, block, list(ordered.values()))


def names_in(exprs) -> set[str]:
    found: set[str] = set()
    for expr in exprs:
        found |= {i.name for i in free_indices(expr)} | {i.name for i in bound_indices(expr)}
    return found


def _compact(expr) -> bool:
    """A result short enough to substitute where it is used (no sums, no references)."""
    return not expr.has(sp.Sum) and not expr.has(Partial)


def _product(upstream, local):
    """upstream * local, kept unevaluated when multiplying would silently cancel factors."""
    evaluated = upstream * local
    if sp.count_ops(evaluated) < sp.count_ops(upstream) + sp.count_ops(local):
        return sp.Mul(upstream, local, evaluate=False)
    return evaluated


def _simultaneous(expr, mapping):
    """Rename several indices at once (j -> k, k -> j must not collide)."""
    temporary = {old: sp.Idx(sp.Dummy(old.name, integer=True), old.upper + 1) for old in mapping}
    expr = expr.xreplace(temporary)
    return expr.xreplace({temporary[old]: new for old, new in mapping.items()})
