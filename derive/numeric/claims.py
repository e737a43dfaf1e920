"""Checking a claim about a derivative: right, right only under an assumption, only the diagonal
of a Jacobian, or wrong; and for a wrong one, a counterexample, what is missing, and which
mistake of the catalogue (engine/mistakes.py) gives it.

The claim is compared with the true derivative at the sample points of verification: the
derived one where derive derives it (a gradient of the loss, or a layer's own derivative),
else the finite differences of the forward pass.  A partial derivative in a claim is the total
derivative, as a person means it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import sympy as sp

from ..engine.cases import JacobianCases
from ..engine.mistakes import Candidate, Claimed, candidates, off_diagonal_cases
from ..errors import DeriveError, InputError
from ..model.network import Role, Targets
from ..model.partials import Partial, indices_of
from ..rules.steps import simplify
from ..spec.chains import Chain, Line
from ..spec.claims import Claim
from .evaluate import align, diagonal
from .points import SEED, Point, points_at, size_settings

AGREE = {"rtol": 1e-6, "atol": 1e-8}  # the true values may come from finite differences


class Verdict(StrEnum):
    RIGHT = "right"
    ASSUMED = "right only under an assumption"
    DIAGONAL = "right only where the indices are equal"
    WRONG = "wrong"


@dataclass(frozen=True)
class Counterexample:
    """The smallest sizes and a point where the claim and the true derivative differ."""

    sizes: dict                  # dimension name -> size
    values: dict                 # quantity -> array, the free ones and those the two read
    entry: dict                  # index name -> position (from 0) of the entry that differs most
    claimed: float
    true: float


@dataclass(frozen=True)
class ClaimCheck:
    claim: Claim
    verdict: Verdict
    right: sp.Expr | None                       # the true derivative at the claim's indices, where derived
    assumption: Targets | None = None           # ASSUMED: the targets it holds for (one-hot, or summing to one)
    counterexample: Counterexample | None = None
    difference: sp.Expr | None = None           # right - claimed, simplified by the rules
    diagnosis: Candidate | None = None
    cases: JacobianCases | None = None          # for DIAGONAL, and for a diagnosis that cuts a Jacobian,
    jacobian: Partial | None = None             # the cases of this derivative
    points: int = 0                             # sample points compared
    reading: str | None = None                  # where the quantity also reaches the layer another way: right
                                                # as its own equation's "partial" or as the "total" derivative

    @property
    def is_right(self) -> bool:
        """Right as the spec stands (a claim right only under an assumption it does not make is not)."""
        return self.verdict == Verdict.RIGHT


class ClaimNotCheckable(InputError):
    """A claim whose derivative is not defined on this network (the loss by a target, ...)."""


SEEDS = (SEED, SEED + 1)  # a claim has no line before it to agree with: twice verification's points


class Sampler:
    """The points a claim is compared at, made once for all claims of a derivation: each of
    verification's size settings at two seeds, the sizes an index of two ranges (o_i for y_i)
    labels made equal so that the claim can be evaluated at all."""

    def __init__(self, network):
        self.network = network
        self._made: dict = {}

    def __call__(self, claim: Claim, targets: Targets | None = None) -> list[Point]:
        groups = tuple(tuple(sorted({str(dim) for _, _, dim in c.uses})) for c in claim.conflicts)
        key = (groups, targets)
        if key not in self._made:
            settings = [self._equalised(sizes, groups) for sizes in size_settings(self.network)]
            self._made[key] = [p for seed in SEEDS for p in points_at(self.network, settings, seed, targets)]
        return self._made[key]

    @staticmethod
    def _equalised(sizes: dict, groups) -> dict:
        sizes = dict(sizes)
        for group in groups:
            first = next(d for d in sizes if str(d) == group[0])
            for dim in list(sizes):
                if str(dim) in group:
                    sizes[dim] = sizes[first]
        return sizes


def check_claim(engine, claim: Claim, sampler: Sampler | None = None) -> ClaimCheck:
    network = engine.network
    sampler = sampler or Sampler(network)
    for side, name in (("numerator", claim.numerator), ("denominator", claim.denominator)):
        if name not in network.tensors:
            raise ClaimNotCheckable(f"the {side} '{name}' is a size, not a quantity")
    if network.tensors[claim.denominator].role in (Role.TARGET, Role.LOSS):
        raise ClaimNotCheckable(f"'{claim.denominator}' is a {network.tensors[claim.denominator].role}; "
                                f"derive checks derivatives by inputs, parameters and intermediates")
    right = right_derivative(engine, claim)
    at = sampler(claim)
    other_paths = _other_paths(network, claim)
    if all(_agrees(claim, right, point) for point in at):
        return replace(_right(engine, claim, right, at), reading="partial" if other_paths else None)
    if other_paths and all(_agrees_total(claim, point) for point in at):
        return ClaimCheck(claim, Verdict.RIGHT, right, points=len(at), reading="total")
    for kind in _assumptions(network):
        assumed = sampler(claim, kind)
        if all(_agrees(claim, right, p) for p in assumed):
            return ClaimCheck(claim, Verdict.ASSUMED, right, assumption=kind, points=len(assumed))
    diagnosis = _diagnosis(engine, claim, right, at)
    if diagnosis is None:
        for kind in _assumptions(network):  # a mistake made on top of an assumption the spec does not make
            if (diagnosis := _diagnosis(engine, claim, right, sampler(claim, kind))) is not None:
                diagnosis = replace(diagnosis, detail={**diagnosis.detail, "assumed": kind})
                break
    cut = diagnosis.detail.get("block") if diagnosis is not None and "cases" in diagnosis.detail else None
    return ClaimCheck(claim, Verdict.WRONG, right, counterexample=_counterexample(claim, right, at),
                      difference=_difference(engine, claim, right), diagnosis=diagnosis,
                      cases=None if cut is None else diagnosis.detail["cases"],
                      jacobian=None if cut is None else cut.lhs, points=len(at))


def _assumptions(network) -> list[Targets]:
    """What the targets could be assumed to be beyond what the spec says: summing to one (a
    distribution), then one-hot (where t_j^2 = t_j too)."""
    if network.target is None or network.targets == Targets.ONE_HOT:
        return []
    if network.targets == Targets.DISTRIBUTION:
        return [Targets.ONE_HOT]
    return [Targets.DISTRIBUTION, Targets.ONE_HOT]


def _right(engine, claim: Claim, right, at: list[Point]) -> ClaimCheck:
    """RIGHT, or DIAGONAL where the claim repeats an index of its derivative (do_j/dz_j) and the
    entries where the two differ are not 0."""
    repeated = set(indices_of(claim.lhs.numerator)) & set(indices_of(claim.lhs.denominator))
    if not repeated or not _off_diagonal(claim, at[0]):
        return ClaimCheck(claim, Verdict.RIGHT, right, points=len(at))
    layer = engine.network.defining(claim.numerator)
    block = engine.local_block(layer, claim.denominator) \
        if layer is not None and layer.uses(claim.denominator) else None
    cases = None if block is None else off_diagonal_cases(engine, block)
    return ClaimCheck(claim, Verdict.DIAGONAL, right, cases=cases, jacobian=None if cases is None else block.lhs,
                      points=len(at))


def _off_diagonal(claim: Claim, point: Point) -> bool:
    """Are the derivative's entries where a repeated index takes two different values not all 0?"""
    numerator, denominator = indices_of(claim.lhs.numerator), indices_of(claim.lhs.denominator)
    full = point.jacobian(claim.numerator, claim.denominator, True)
    axes = (*numerator, *denominator)
    mask = np.zeros(full.shape, dtype=bool)
    for index in set(numerator) & set(denominator):
        first, second = axes.index(index), len(numerator) + denominator.index(index)
        grid = np.indices(full.shape)
        mask |= grid[first] != grid[second]
    return bool(np.any(np.abs(full[mask]) > 1e-8))


def right_derivative(engine, claim: Claim) -> sp.Expr | None:
    """The derived derivative at the claim's indices: a gradient of the loss, or a layer's own
    derivative by a quantity its equation reads (the others held fixed, as in a chain rule);
    None for any other pair."""
    network = engine.network
    claimed = _claimed(engine, claim)
    if claim.numerator == network.loss.output:
        return claimed.gradient_in(engine) if claim.denominator in network.differentiable() else None
    layer = network.defining(claim.numerator)
    if layer is None or not layer.uses(claim.denominator):
        return None  # compared with the total derivative, by finite differences
    block = engine.local_block(layer, claim.denominator)
    own = (*indices_of(block.lhs.numerator), *block.indices)
    ours = (*indices_of(claim.lhs.numerator), *indices_of(claim.lhs.denominator))
    moved = Claimed(engine, None, ours, claimed.taken).at_claim(block.result, own)
    steps = simplify(moved, engine.context, engine.rules, f"d{claim.numerator}/d{claim.denominator}")
    return steps[-1].expr if steps else moved


def _claimed(engine, claim: Claim) -> Claimed:
    """The claim's derivative for the mistake models; only its free indices are taken (a sum of
    the right answer may use the letter the claim sums over: they read alike)."""
    variable = claim.denominator if claim.numerator == engine.network.loss.output else None
    return Claimed(engine, variable, indices_of(claim.lhs.denominator), frozenset(i.name for i in claim.order))


def _other_paths(network, claim: Claim) -> bool:
    """Does the denominator reach a layer whose equation reads it by another path as well
    (z reaches h_k = (z_k - mu)/sigma directly and through mu and sigma)?"""
    layer = network.defining(claim.numerator)
    return layer is not None and layer.uses(claim.denominator) and \
        not _only_directly(network, layer, claim.denominator)


def _agrees_total(claim: Claim, point: Point) -> bool:
    """Does the claim equal the total derivative, through every path, at the point?"""
    with np.errstate(all="ignore"):
        full = point.jacobian(claim.numerator, claim.denominator, True)
        array, axes = diagonal(full, (*indices_of(claim.lhs.numerator), *indices_of(claim.lhs.denominator)))
        true = align(array, axes, claim.order, point.size)
        try:
            value = _claimed_value(claim, point)
        except (IndexError, ValueError):
            return False
    return bool(np.shape(value) == np.shape(true) and np.allclose(value, true, **AGREE))


def _only_directly(network, layer, name: str) -> bool:
    """``name`` reaches ``layer``'s output through no other layer."""
    reached = {c.output for c in network.consumers(name) if c is not layer}
    for other in network.equations:
        if any(other.uses(n) for n in reached):
            reached.add(other.output)
    return layer.output not in reached


def _comparable(claim: Claim, point: Point) -> bool:
    """An index that labels axes of different ranges can be evaluated only where they are equal."""
    return all(len({point.sizes[dim] for _, _, dim in conflict.uses}) == 1 for conflict in claim.conflicts)


def _true_value(claim: Claim, right, point: Point) -> np.ndarray:
    if right is not None:
        return point.evaluate(right, claim.order)
    return point.evaluate_claimed(claim.lhs, claim.order)


def _claimed_value(claim: Claim, point: Point) -> np.ndarray:
    return point.evaluate_claimed(claim.rhs, claim.order)


def _agrees(claim: Claim, right, point: Point, expr=None) -> bool:
    """Does the claim (or ``expr``) equal ``right`` (the true derivative where None) at the point?"""
    with np.errstate(all="ignore"):
        try:
            true = _true_value(claim, right, point)
            value = _claimed_value(claim, point) if expr is None else point.evaluate_claimed(expr, claim.order)
        except (IndexError, ValueError):  # a quantity from the wrong layer, at sizes where it does not fit
            return False
    return bool(np.shape(value) == np.shape(true) and np.allclose(value, true, **AGREE))


def _counterexample(claim: Claim, right, at: list[Point]) -> Counterexample | None:
    for point in at:  # the smallest sizes come first
        with np.errstate(all="ignore"):
            true, claimed = _true_value(claim, right, point), _claimed_value(claim, point)
        if np.allclose(true, claimed, **AGREE):
            continue
        gap = np.abs(np.broadcast_to(claimed, np.shape(true)) - true)
        entry = np.unravel_index(int(np.nanargmax(np.where(np.isnan(gap), np.inf, gap))), np.shape(true)) \
            if np.ndim(true) else ()
        names = _shown_quantities(point)
        return Counterexample({str(d): v for d, v in point.sizes.items()},
                              {name: np.asarray(point.values[name]) for name in names},
                              {i.name: int(n) for i, n in zip(claim.order, entry)},
                              float(np.broadcast_to(claimed, np.shape(true))[entry]), float(true[entry]))
    return None


def _shown_quantities(point: Point) -> list[str]:
    """The network's free quantities (inputs, parameters, targets), then the computed ones in the
    order of the forward pass: everything needed to recompute both sides by hand."""
    tensors = point.network.tensors.values()
    free = [t.name for t in tensors if t.role in (Role.INPUT, Role.PARAMETER, Role.TARGET, Role.CONSTANT)]
    return free + [layer.output for layer in point.network.layers]


def _diagnosis(engine, claim: Claim, right, at: list[Point]) -> Candidate | None:
    """The first mistake, or pair of mistakes, of the catalogue whose derivative the claim is."""
    if right is None or not at:
        return None
    for candidate in candidates(_claimed(engine, claim), right):
        if all(_agrees(claim, candidate.expr, p, claim.rhs) for p in at):  # the first point rejects most
            return candidate
    return None


def _difference(engine, claim: Claim, right) -> sp.Expr | None:
    """What the claim misses: right - claimed, simplified by the rules from the difference as it
    stands, multiplied out, and over one denominator, the shortest of the three (not where the
    claim has derivatives of its own, or indices of two ranges)."""
    if right is None or claim.rhs.has(Partial, sp.Derivative) or claim.conflicts:
        return None
    difference = right - claim.rhs
    forms = []
    for start in (difference, sp.expand(difference), sp.together(difference)):
        try:
            steps = simplify(start, engine.context, engine.rules, "the difference")
        except DeriveError:
            continue
        forms.append(steps[-1].expr if steps else start)
    return min(forms, key=sp.count_ops) if forms else difference


@dataclass(frozen=True)
class StepCheck:
    """One line of a derivation: its claim checked, and whether it follows from the line before."""

    line: Line
    check: ClaimCheck
    follows: bool | None   # equal to the line before about the same derivative; None for a first line


@dataclass(frozen=True)
class ChainCheck:
    """A derivation checked line by line (or one claim: ``single``)."""

    steps: tuple[StepCheck, ...]
    skipped: tuple[int, ...] = ()   # lines of equations that are not about a derivative
    single: bool = False

    @property
    def first_wrong(self) -> StepCheck | None:
        return next((step for step in self.steps if not step.check.is_right), None)

    @property
    def all_right(self) -> bool:
        return self.first_wrong is None

    @classmethod
    def of_claims(cls, checks: list[ClaimCheck]) -> "ChainCheck":
        """Claims checked one by one (``derive check --claim ... --claim ...``), numbered from 1."""
        return cls(tuple(StepCheck(Line(n, c.claim.text, c.claim, False), c, None) for n, c in enumerate(checks, 1)),
                   single=True)


def check_chain(engine, chain: Chain) -> ChainCheck:
    """Every line against the true derivative, and each continuing line against the one before."""
    checked: list[StepCheck] = []
    sampler = Sampler(engine.network)
    for line in chain.lines:
        follows = None
        if line.continues and checked:
            before = checked[-1].line.claim
            at = [p for p in sampler(line.claim) if _comparable(before, p)]
            follows = bool(at) and all(_same(before, line.claim, p) for p in at)
        checked.append(StepCheck(line, check_claim(engine, line.claim, sampler), follows))
    return ChainCheck(tuple(checked), chain.skipped)


def _same(first: Claim, second: Claim, point: Point) -> bool:
    with np.errstate(all="ignore"):
        try:
            return bool(np.allclose(_claimed_value(first, point), _claimed_value(second, point), **AGREE))
        except (IndexError, ValueError):
            return False
