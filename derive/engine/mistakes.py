"""Mistake models: the wrong derivations people make, derived by the same engine as the right
ones, so a document can show where a tempting shortcut leads and ``derive check`` can say which
mistake a claimed result comes from.

``MISTAKES`` is one ordered catalogue.  Each model is one small function
``(claimed, base) -> candidates``: from ``base``, the right derivative or what an earlier
mistake made of it, the derivatives this mistake gives, as expressions at the claim's indices.
The models that change the derivation itself (a Jacobian cut to its diagonal, a path left out,
a derivative divided by another) start from the right one; the slips (a sign, a 1/B, a
transposed layout, a quantity from the wrong layer) apply to any base, so two mistakes
combine.  Nothing here knows a particular network: each is a transformation of the engine's
own derivation.  Each model's explanation is the macro of the same name in templates/check.j2.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator

import sympy as sp

from ..model.indices import rename_bound, rename_free
from ..model.network import Layer, Role, ShownMistake
from ..model.partials import Partial, indices_of, quantity, tensor_names
from ..rules.rewrites import called_by_name
from ..rules.steps import Step
from .blocks import Block, BlockKey, BlockKind
from .cases import JacobianCases


@dataclass(frozen=True)
class Mistake:
    """What a mistake in a layer's derivative gives for a gradient, as a document shows it."""

    model: str                 # the mistake model's name
    layer: Layer
    block: Block               # the layer's true derivative
    cases: JacobianCases
    variable: str              # the gradient it gets wrong: dE/d(variable)
    wrong: sp.Expr             # what the mistake gives for it
    right: sp.Expr
    indices: tuple
    detail: dict = field(default_factory=dict, compare=False, hash=False)  # the model's own (Candidate.detail)
    shown_wrong: sp.Expr | None = None  # both as documents show them: the errors the right result
    shown_right: sp.Expr | None = None  # calls by name (dE/da_j) called so in both


@dataclass(frozen=True)
class Candidate:
    """A derivative as a chain of mistakes gives it, at the claim's indices."""

    models: tuple[str, ...]    # the mistakes made, in order; () for the right derivative
    expr: sp.Expr
    detail: dict = field(default_factory=dict, compare=False, hash=False)  # what each explanation reads


@dataclass(frozen=True)
class Claimed:
    """What a claim is about, for the mistake models: the engine, the gradient's variable (None
    where the claim is about a layer's own derivative), and the claim's indices for it."""

    engine: object
    variable: str | None
    indices: tuple[sp.Idx, ...]
    taken: frozenset[str]      # every index name the claim uses

    def at_claim(self, expr, own: tuple) -> sp.Expr:
        """``expr``, whose free indices are ``own``, at the claim's indices."""
        renamed = rename_bound(expr, set(self.taken), self.engine.naming.pool)
        return rename_free(renamed, dict(zip(own, self.indices)))

    def gradient_in(self, engine) -> sp.Expr:
        """dE/d(variable) at the claim's indices, as ``engine`` derives it (this network's engine,
        or one with a mistake made: a shortcut)."""
        found = engine.gradient_of(self.variable)
        return self.at_claim(found.result, found.indices)


def shortcut(engine, block: Block, jacobian, model: str):
    """The same network derived again with one derivative replaced (kept on the engine, as each
    is asked for again by every claim about this network)."""
    key = (model, block.key, jacobian)
    if key not in engine.shortcuts:
        other = type(engine)(engine.network, engine.rules)
        other.store.add(dataclasses.replace(block, steps=(Step(jacobian, model),)))
        engine.shortcuts[key] = other
    return engine.shortcuts[key]


def diagonal_jacobian(cases: JacobianCases) -> sp.Expr:
    """The k = j case alone: the Jacobian as if each input moved only its own output."""
    return cases.equal * sp.KroneckerDelta(cases.output_index, cases.input_index)


def off_diagonal_cases(engine, block: Block) -> JacobianCases | None:
    """The cases of a layer's derivative by its input, where the k != j entries are not 0."""
    if block.layer is None or engine.network.tensors[block.key.wrt].role == Role.PARAMETER:
        return None
    cases = engine.jacobian_cases(block)
    return None if cases is None or cases.diagonal else cases


# --- the catalogue ----------------------------------------------------------------------------
def diagonal_only(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """Keep only the k = j case of a Jacobian whose k != j entries are not zero: the first seed
    question's do_j/dz_j = o_j (1 - o_j), which drops how z_j moves every other output."""
    if base.models or claimed.variable is None:
        return
    engine = claimed.engine
    for block in engine.gradient_of(claimed.variable).blocks:
        if (cases := off_diagonal_cases(engine, block)) is not None:
            jacobian = diagonal_jacobian(cases)
            wrong = shortcut(engine, block, jacobian, "diagonal_only")
            yield Candidate(("diagonal_only",), claimed.gradient_in(wrong),
                            {"block": block, "cases": cases, "jacobian": jacobian})


def ignored_path(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """Follow one consumer of a quantity that has two: the chain rule sums over every path
    from the quantity to the loss, and leaving one out loses its term."""
    if base.models or claimed.variable is None:
        return
    engine = claimed.engine
    for block in engine.gradient_of(claimed.variable).blocks:
        consumers = engine.network.consumers(block.key.wrt) if block.key.kind == BlockKind.GRADIENT else []
        if len(consumers) < 2:
            continue
        for consumer in consumers:
            local = engine.store.get(BlockKey.local(consumer.output, block.key.wrt))
            if local is not None:
                wrong = shortcut(engine, local, sp.S.Zero, "ignored_path")
                yield Candidate(("ignored_path",), claimed.gradient_in(wrong),
                                {"block": block, "quantity": block.key.wrt, "through": consumer.output})


def divided(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """dE/do_j as dE/dz_j divided by do_j/dz_j: the chain rule read backwards, which holds only
    where each z_j moves o_j alone (the second seed question)."""
    engine = claimed.engine
    layer = engine.network.defining(claimed.variable) if claimed.variable else None
    if base.models or layer is None or layer is engine.network.loss:
        return
    for name in sorted(tensor_names(layer.rhs)):
        tensor = engine.network.tensors[name]
        if tensor.role == Role.PARAMETER or tensor.dims != engine.network.tensors[layer.output].dims:
            continue
        block = engine.local_block(layer, name)
        if (cases := off_diagonal_cases(engine, block)) is None:
            continue
        through = engine.gradient_of(name)
        own = indices_of(block.lhs.numerator)
        diagonal = rename_free(block.result, dict(zip(own, block.indices)))  # do_j/dz_j
        local = claimed.at_claim(diagonal, block.indices)
        shown = {"gradient": Partial(engine.network.loss.lhs, quantity(name, claimed.indices)),
                 "by": Partial(quantity(layer.output, claimed.indices), quantity(name, claimed.indices)),
                 "by_value": local}
        yield Candidate(("divided",), claimed.at_claim(through.result, through.indices) / local,
                        {"block": block, "cases": cases, "divided": shown})


def transposed(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """The two indices of a matrix's gradient swapped (the other layout convention), or of a
    matrix inside it (w_ji for w_ij)."""
    if len(claimed.indices) == 2 and claimed.indices[0] != claimed.indices[1]:
        first, second = claimed.indices
        yield _slip(base, "transposed", rename_free(base.expr, {first: second, second: first}), tensor=None)
    matrices = sorted({str(q.base.label) for q in base.expr.atoms(sp.Indexed) if len(q.indices) == 2})
    for name in matrices:
        swapped = base.expr.replace(lambda q: isinstance(q, sp.Indexed) and str(q.base.label) == name,
                                    lambda q: q.base[q.indices[1], q.indices[0]])
        yield _slip(base, "transposed", swapped, tensor=name)


def lost_sign(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """The sign lost, most often the minus of -sum_j t_j log o_j."""
    yield _slip(base, "lost_sign", -base.expr)


def lost_mean(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """The 1/B of a mean over the batch left out."""
    for dim in claimed.engine.network.dimensions:
        if sp.Pow(dim, -1) in base.expr.atoms(sp.Pow):
            yield _slip(base, "lost_mean", sp.expand(base.expr * dim), size=dim)


def wrong_layer(claimed: Claimed, base: Candidate) -> Iterator[Candidate]:
    """A quantity taken from another layer: o_i (the output) where the affine layer reads y_i."""
    tensors = claimed.engine.network.tensors
    for name in sorted(tensor_names(base.expr)):
        if name not in tensors or tensors[name].role in (Role.TARGET, Role.CONSTANT):
            continue
        for other in tensors.values():
            if other.name != name and len(other.dims) == len(tensors[name].dims) and \
                    other.role in (Role.INPUT, Role.INTERMEDIATE):
                replaced = base.expr.xreplace({sp.IndexedBase(name): sp.IndexedBase(other.name)}) \
                    if other.dims else base.expr.xreplace({sp.Symbol(name): sp.Symbol(other.name)})
                yield _slip(base, "wrong_layer", replaced, taken=other.name, instead_of=name)


def _slip(base: Candidate, model: str, expr, **detail) -> Candidate:
    return Candidate((*base.models, model), expr, {**base.detail, model: detail})


MISTAKES = (diagonal_only, ignored_path, divided, transposed, lost_sign, lost_mean, wrong_layer)


def candidates(claimed: Claimed, right: sp.Expr) -> Iterator[Candidate]:
    """Every derivative one mistake of the catalogue gives, then every one two of them give
    (each pair once: a sign lost after a wrong layer is a wrong layer after a sign lost)."""
    first = []
    for model in MISTAKES:
        for candidate in model(claimed, Candidate((), right)):
            first.append(candidate)
            yield candidate
    seen = set()
    for candidate in first:
        for model in MISTAKES:
            if model.__name__ in candidate.models:
                continue
            for second in model(claimed, candidate):
                if (frozenset(second.models), second.expr) not in seen:
                    seen.add((frozenset(second.models), second.expr))
                    yield second


# --- the tempting mistakes a document shows ------------------------------------------------------
# for each model a document can show (the spec's [derive].mistakes): the gradient it gets wrong,
# given a layer's derivative whose k != j entries are not 0
SHOWN_FOR = {
    ShownMistake.DIAGONAL_ONLY: (diagonal_only, lambda block: block.key.wrt),   # dE/dz, from do/dz cut
    ShownMistake.DIVIDED: (divided, lambda block: block.layer.output),          # dE/do, as dE/dz / do/dz
}


def mistakes_for(engine, blocks) -> list[Mistake]:
    """For each mistake the spec asks documents to show, what it gives where it changes a
    gradient these blocks derive: the catalogue's own models, applied to that gradient."""
    derived = {block.key for block in blocks}
    found = []
    for shown in engine.network.mistakes:
        model, variable_of = SHOWN_FOR[shown]
        for block in blocks:
            if (cases := off_diagonal_cases(engine, block)) is None:
                continue
            variable = variable_of(block)
            if BlockKey.gradient(variable) not in derived and variable != block.key.wrt:
                continue
            right = engine.gradient_of(variable)
            claimed = Claimed(engine, variable, right.indices, frozenset(i.name for i in right.indices))
            for candidate in model(claimed, Candidate((), right.result)):
                if candidate.detail["block"] is block and candidate.expr != right.result:
                    found.append(Mistake(shown.value, block.layer, block, cases, variable, candidate.expr,
                                         right.result, right.indices, candidate.detail,
                                         _named_as_in(candidate.expr, right), right.named))
    return found


def _named_as_in(expr, gradient):
    """``expr`` with what ``gradient``'s shown form calls by name (errors, abbreviations) called so."""
    for error in gradient.definitions:
        expr, _ = called_by_name(expr, error.block.lhs, error.result)
    for abbreviation in gradient.abbreviations:
        expr, _ = called_by_name(expr, abbreviation, abbreviation.value)
    return expr
