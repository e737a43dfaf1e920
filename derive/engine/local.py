"""Local derivatives: dU/dX of one layer output U, from U's defining equation, by SymPy's diff."""
from __future__ import annotations

import sympy as sp

from ..model.indices import rename_bound, rename_free, rename_symbols, up_to_names
from ..model.network import Layer
from ..model.partials import DirectPartial, Partial, quantity, tensor_names
from ..model.primitives import of as primitive_of
from ..rules.catalogue import BEFORE_DIFFERENTIATING, DEFINITION, DIFFERENTIATE
from ..rules.steps import Step, simplify
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

    form, names = _form(engine, layer, direct, output, variable, definition)
    steps = None
    if (known := engine.local_forms.get(form)) is not None:  # another layer of the same form
        first_names, first_steps, loose = known
        steps = _renamed(first_steps, dict(zip(first_names, names)), loose)
    if steps is None:
        steps = _derived(engine, definition, output, variable, f"{layer.where}, d{layer.output}/d{wrt}")
        engine.local_forms.setdefault(form, (names, steps, _loose_names(steps, names)))
    return engine.store.add(Block(key, lhs, steps, layer))


def _derived(engine, definition, output, variable, where: str) -> tuple[Step, ...]:
    steps = [DEFINITION.step(sp.Derivative(definition, variable), output=output)]
    before = simplify(definition, engine.context, BEFORE_DIFFERENTIATING, where)
    steps += [type(s)(sp.Derivative(s.expr, variable), s.rule, s.detail) for s in before]
    if before:
        definition = before[-1].expr
    differentiated = sp.diff(definition, variable)
    steps.append(DIFFERENTIATE.step(differentiated, variable=variable, functions=_primitives_in(definition)))
    steps += simplify(differentiated, engine.context, engine.rules, where)
    return tuple(steps)


def _form(engine, layer: Layer, direct: bool, output, variable, definition):
    """What the derivation depends on, up to names: the equation, and the definitions of the
    other layers it could be folded into (whose names all occur in it), and the order of the
    names, where rules break a tie by name."""
    names_in = tensor_names(definition) | tensor_names(output)
    foldable = [sp.Tuple(other.lhs, other.rhs) for other in engine.network.layers
                if other is not layer and tensor_names(other.rhs) <= names_in]
    whole = sp.Tuple(output, variable, definition, *foldable)
    form, names = up_to_names(whole)
    ranges = {symbol for idx in whole.atoms(sp.Idx) for symbol in idx.upper.free_symbols}  # they break no ties
    named = [n for n, name in enumerate(names) if name not in ranges]
    by_name = tuple(sorted(named, key=lambda n: names[n].name))
    return (layer.kind, direct, by_name, form), names


# Layers of one form (16 affine layers, or 16 tanh layers, differing only in their names) have
# the same derivation up to those names: it is derived for the first and renamed for the others,
# as a person would write "likewise".  What cannot be renamed safely is derived anew.

class _NotRenamable(Exception):
    pass


def _loose_names(steps: tuple[Step, ...], covered) -> frozenset[str] | None:
    """The names in the steps that a renaming of ``covered`` leaves as they are: summation
    indices the derivation introduced.  None if another symbol is among them (never renamable)."""
    loose = set()
    for step in steps:
        for expr in _expressions((step.expr, step.detail)):
            indices = {idx.label for idx in expr.atoms(sp.Idx)}
            for symbol in expr.atoms(sp.Symbol) - set(covered):
                if symbol not in indices:
                    return None
                loose.add(symbol.name)
    return frozenset(loose)


def _renamed(steps: tuple[Step, ...], renaming: dict, loose: frozenset[str] | None) -> tuple[Step, ...] | None:
    """The steps with every symbol renamed, or None where that is not safe: a step holds a symbol
    other than a new summation index (``loose`` is None), a summation index would clash with a
    new name, or a name is held as text."""
    renaming = {old: new for old, new in renaming.items() if old != new}
    if loose is None or loose & {new.name for new in renaming.values()}:
        return None
    try:
        return tuple(Step(rename_symbols(step.expr, renaming), step.rule, _renamed_detail(step.detail, renaming))
                     for step in steps)
    except _NotRenamable:
        return None


def _expressions(value):
    if isinstance(value, sp.Basic):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _expressions(item)


def _renamed_detail(value, renaming: dict):
    if isinstance(value, sp.Basic):
        return rename_symbols(value, renaming)
    if isinstance(value, dict):
        return {key: _renamed_detail(item, renaming) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_renamed_detail(item, renaming) for item in value)
    if isinstance(value, str) and value in {old.name for old in renaming}:
        raise _NotRenamable
    return value


def _primitives_in(expr) -> tuple:
    """The primitive functions applied in ``expr``, in name order (their derivatives are the reason)."""
    found = {primitive_of(node) for node in sp.preorder_traversal(expr)} - {None}
    return tuple(sorted(found, key=lambda p: p.name))
