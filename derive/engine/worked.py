"""A worked example at small size, as the seed answers give one: the chain rule through a layer
whose Jacobian is not diagonal, for n = 2, every sum written as its terms and both paths summed
by hand, ending at the index form's result for the first entry.

It is read off the derivation itself: the gradient's chain-rule line and its substituted line
are instantiated at concrete entries (o_1, o_2; deltas become 0 or 1), then multiplied out,
collected and, for targets that sum to one, t_1 + t_2 = 1 is used.  The layer's own index runs
over 2 entries, every other index over 1 (its subscript left out); with two samples of a batch,
its lines would not fit a page.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..model.indices import index_range
from ..model.network import Layer, Role
from ..model.partials import Partial, is_unevaluated_product, tensor_names
from ..rules.steps import Step
from .blocks import Block, BlockKey

SIZE = 2


@dataclass(frozen=True)
class WorkedExample:
    block: Block                  # the gradient worked out, dE/dX
    layer: Layer                  # the layer X feeds whose Jacobian is not diagonal
    sizes: dict                   # each dimension -> its size here (SIZE for the layer's, 1 for the rest)
    position: dict                # X's indices -> the entry worked out (from 0)
    equations: tuple              # (entry, its equation written out) for the layers from X to the loss
    lhs: Partial                  # dE/dX at the entry
    steps: tuple[Step, ...]       # lhs = steps[0].expr = steps[1].expr = ...
    index_form: sp.Expr           # the gradient's result at the entry (the last step equals it)
    entries: tuple                # (entry such as o_2, (name, its full position from 0)) for every entry used


def worked_example(engine, blocks) -> WorkedExample | None:
    """For the first layer among ``blocks`` whose derivative by its input is not diagonal and
    whose input's gradient these blocks derive."""
    from .mistakes import off_diagonal_cases
    derived = {block.key: block for block in blocks}
    for block in blocks:
        cases = off_diagonal_cases(engine, block)
        gradient = derived.get(BlockKey.gradient(block.key.wrt))
        if cases is None or gradient is None or block.layer is engine.network.loss:
            continue
        return _worked(engine, block.layer, gradient, index_range(cases.input_index))
    return None


def _worked(engine, layer: Layer, gradient: Block, dim) -> WorkedExample:
    network = engine.network
    sizes = {d: (SIZE if d == dim else 1) for d in network.dimensions}
    position = {i: 0 for i in gradient.indices}
    entries: dict = {}
    concrete = _Instantiate(network, sizes, entries)
    chain, substituted = gradient.steps[0].expr, gradient.steps[1].expr
    written = concrete(chain, position)
    through = [p.numerator for p in sorted(written.atoms(Partial), key=sp.default_sort_key)
               if p.numerator != network.loss.lhs]
    variable = concrete(gradient.lhs.denominator, position)
    put_in = concrete(substituted, position, keep_products=True)
    unmoved = any(sp.S.Zero in term.args for term in sp.Add.make_args(put_in))  # another sample's outputs
    steps = [Step(written, "worked_chain_rule", {"through": through, "variable": variable}),
             Step(put_in, "worked_substitute", {"blocks": gradient.steps[1].detail["blocks"], "zeros": unmoved,
                                                "variable": variable})]
    multiplied = sp.expand(_evaluated(steps[-1].expr))
    steps.append(Step(multiplied, "worked_multiply_out"))
    collected, keys = _collected(network, multiplied)
    if collected != multiplied:
        steps.append(Step(collected, "worked_collect", {"factors": keys}))
    if network.targets_sum_to_one:  # over the classes of the sample worked out
        sample = tuple(position.values())[:-1]
        total = sp.Add(*[q for q, (name, full) in entries.items()
                         if name == network.target and full[:-1] == sample[:len(full) - 1]])
        normalized = steps[-1].expr.xreplace({total: sp.S.One})
        if normalized != steps[-1].expr:
            steps.append(Step(normalized, "worked_normalized_targets", {"sum": total}))
    index_form = concrete(engine.gradient_of(gradient.key.wrt).result, position)
    if index_form != steps[-1].expr:
        steps.append(Step(index_form, "worked_index_form", {"block": gradient.key}))
    path = _path(network, gradient.key.wrt)
    equations = tuple((concrete(q, pos), concrete(eq.rhs, pos)) for eq in path
                      for q, pos in _outputs(eq, sizes))
    return WorkedExample(gradient, layer, sizes, position, equations,
                         Partial(network.loss.lhs, concrete(gradient.lhs.denominator, position)),
                         tuple(steps), index_form, tuple(entries.items()))


def _evaluated(expr):
    """Products kept as they were substituted, multiplied together."""
    if is_unevaluated_product(expr):
        return sp.Mul(*[_evaluated(a) for a in expr.args])
    if expr.args and not isinstance(expr, (sp.Indexed, Partial)):
        return expr.func(*[_evaluated(a) for a in expr.args])
    return expr


def _collected(network, expr):
    """Terms that differ only in targets and constants collected: -t_1 + o_1 t_1 + o_1 t_2 =
    o_1 (t_1 + t_2) - t_1; and the factors collected."""
    data = {t.name for t in network.tensors.values() if t.role in (Role.TARGET, Role.CONSTANT)}
    groups: dict = {}
    for term in sp.Add.make_args(expr):
        coefficient, rest = [], []
        for factor in sp.Mul.make_args(term):
            (coefficient if factor.is_number or tensor_names(factor) <= data else rest).append(factor)
        key = sp.Mul(*rest)
        groups[key] = groups.get(key, sp.S.Zero) + sp.Mul(*coefficient)
    if len(groups) == len(sp.Add.make_args(expr)):
        return expr, []
    collected = sp.Add(*[sp.Mul(sp.factor_terms(coefficient), key, evaluate=False) if key != 1 else coefficient
                         for key, coefficient in groups.items()])
    return collected, [key for key, coefficient in groups.items() if key != 1 and isinstance(coefficient, sp.Add)]


def _path(network, name: str) -> list[Layer]:
    """The layers from ``name`` to the loss, in order."""
    reached, path = {name}, []
    for layer in network.equations:
        if any(layer.uses(n) for n in reached):
            reached.add(layer.output)
            path.append(layer)
    return path


def _outputs(layer: Layer, sizes: dict):
    """(output quantity, position) for every entry of a layer's output."""
    from itertools import product
    ranges = [range(int(index_range(i).xreplace(sizes))) for i in layer.indices]
    for values in product(*ranges):
        yield layer.lhs, dict(zip(layer.indices, values))


class _Instantiate:
    """An index form at concrete entries: sums written as their terms, deltas 0 or 1, o[k] at
    k = 2 the entry o_2 (an axis of size 1 left out)."""

    def __init__(self, network, sizes: dict, entries: dict):
        self.network, self.sizes, self.entries = network, sizes, entries
        self._done: dict = {}  # (node, the positions it reads, keep_products) -> its entries

    def __call__(self, expr, position: dict, keep_products: bool = False):
        self.keep_products = keep_products
        return self._visit(expr, dict(position))

    def _size(self, idx) -> int:
        return int(index_range(idx).xreplace(self.sizes))

    def _visit(self, expr, position):
        if not expr.args:
            return sp.Integer(self.sizes[expr]) if expr in self.sizes else expr
        key = (expr, tuple(sorted(((i, v) for i, v in position.items() if expr.has(i)), key=str)), self.keep_products)
        if key not in self._done:
            self._done[key] = self._instantiated(expr, position)
        return self._done[key]

    def _instantiated(self, expr, position):
        if isinstance(expr, sp.Sum):
            positions = [position]
            for idx, _, _ in expr.limits:
                positions = [{**p, idx: v} for p in positions for v in range(self._size(idx))]
            return sp.Add(*[self._visit(expr.function, p) for p in positions])
        if isinstance(expr, sp.Indexed):
            return self._entry(expr, position)
        if isinstance(expr, sp.KroneckerDelta):
            first, second = (position.get(i, i) for i in expr.args[:2])
            return sp.S.One if first == second else sp.S.Zero
        if isinstance(expr, Partial):
            return type(expr)(self._visit(expr.numerator, position), self._visit(expr.denominator, position))
        if not expr.args:
            return expr
        args = [self._visit(arg, position) for arg in expr.args]
        if self.keep_products and is_unevaluated_product(expr):
            return sp.Mul(*args, evaluate=False)
        return expr.func(*args)

    def _entry(self, expr, position):
        name = str(expr.base.label)
        full = tuple(position[i] for i in expr.indices)
        shown = [sp.Integer(p + 1) for i, p in zip(expr.indices, full) if self._size(i) > 1]
        entry = sp.IndexedBase(name)[tuple(shown)] if shown else sp.Symbol(name)
        self.entries.setdefault(entry, (name, full))
        return entry
