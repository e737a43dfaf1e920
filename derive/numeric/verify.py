"""Numerical checks: every step of every block, and every gradient against finite differences.

Each side of each step is evaluated at the sample points (``points.py``) for every value of
its free indices; a line is compared with the line before it and with finite differences.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..engine import Block, Engine
from ..errors import VerificationError
from ..matrix import matrix_form
from ..matrix.recursion import backward_recursion, gradients_needed
from ..model.partials import Partial
from .matrix import evaluate_matrix
from .mistakes import check_cases, check_mistake, counterexample
from .points import FD_STEP, SAMPLED, Point, points
from .worked import WorkedChecked, check_worked

STEP_TOLERANCE = 1e-9       # one line against the line before it
FD_TOLERANCE = 1e-6         # against finite differences: absolute ...
FD_RELATIVE = 1e-5          # ... plus this fraction of the value


@dataclass(frozen=True)
class Report:
    """What was checked: the sizes tried, and how many step and gradient comparisons passed."""

    sizes: tuple[dict, ...]
    steps_checked: int
    values_compared: int
    gradients_checked: tuple[str, ...]
    matrix_forms: tuple[str, ...] = ()
    cases_checked: int = 0                 # layers' derivatives whose k = j / k != j cases were checked
    mistakes: tuple = ()                   # (Mistake, Counterexample | None): shortcuts shown, checked
    recursion: tuple = ()                  # (name, matrix node): the backward recursion's lines, checked
    worked: WorkedChecked | None = None    # the worked example's numbers, where there is one
    tolerance: float = FD_TOLERANCE
    relative_tolerance: float = FD_RELATIVE
    step_tolerance: float = STEP_TOLERANCE
    fd_step: float = FD_STEP


def check_block(block: Block, point: Point) -> int:
    """Compare each step with the one before and with finite differences; return values compared."""
    order = _order_of(block.lhs)
    reference = point.evaluate(block.lhs, order)
    previous, previous_exact = None, True
    for number, step in enumerate(block.steps):
        value = point.evaluate(step.expr, order)
        if not np.all(np.isfinite(value)):
            raise VerificationError(f"step {number + 1} ({step.rule}) of {block.lhs} is not finite at a sample point")
        # a line that still contains a derivative is itself evaluated by finite differences
        exact = not step.expr.has(Partial)
        rtol, atol = (STEP_TOLERANCE, STEP_TOLERANCE) if exact and previous_exact else (FD_RELATIVE, FD_TOLERANCE)
        if previous is not None and not np.allclose(value, previous, rtol=rtol, atol=atol):
            raise VerificationError(_failure(block, number, step, value, previous, "the line before"))
        if not np.allclose(value, reference, rtol=FD_RELATIVE, atol=FD_TOLERANCE):
            raise VerificationError(_failure(block, number, step, value, reference, "finite differences"))
        previous, previous_exact = value, exact
    return len(block.steps) * int(np.size(reference))


def check_written(gradient, point: Point) -> int:
    """A result that documents show with errors called by name, written out in full, against
    finite differences; return values compared (0 where the result shown is the full one)."""
    if gradient.written is None:
        return 0
    order = _order_of(gradient.block.lhs)
    value, reference = point.evaluate(gradient.written, order), point.evaluate(gradient.block.lhs, order)
    if not np.allclose(value, reference, rtol=FD_RELATIVE, atol=FD_TOLERANCE):
        gap = float(np.max(np.abs(value - reference)))
        raise VerificationError(f"dE/d{gradient.wrt} written out does not agree with finite differences: "
                                f"largest difference {gap:.3g}")
    return int(np.size(reference))


def _order_of(lhs: Partial) -> tuple:
    axes = []
    for part in (lhs.numerator, lhs.denominator):
        if isinstance(part, sp.Indexed):
            axes += [i for i in part.indices if i not in axes]
    return tuple(axes)


def _failure(block, number, step, value, expected, against) -> str:
    gap = float(np.max(np.abs(value - expected)))
    return (f"step {number + 1} ({step.rule}) of {block.lhs} does not agree with {against}: "
            f"largest difference {gap:.3g}")


def check_matrix_form(gradient, point: Point) -> bool:
    """The matrix form, evaluated with NumPy, against the index form (False: there is none)."""
    node = matrix_form(gradient.result, gradient.indices)
    if node is None:
        return False
    expected = point.evaluate(gradient.result, tuple(gradient.indices))
    value = evaluate_matrix(node, point.values, point.sizes, SAMPLED)
    if not np.allclose(value, expected, rtol=STEP_TOLERANCE, atol=STEP_TOLERANCE):
        raise VerificationError(f"the matrix form of dE/d{gradient.wrt} does not agree with its index form")
    return True


def check_forward_matrix_form(layer, point: Point) -> bool:
    """A layer's equation in matrix form, evaluated with NumPy, against its output at the point
    (False: it has no matrix form)."""
    node = matrix_form(layer.rhs, layer.indices)
    if node is None:
        return False
    value = evaluate_matrix(node, point.values, point.sizes, SAMPLED)
    if not np.allclose(value, point.values[layer.output], rtol=STEP_TOLERANCE, atol=STEP_TOLERANCE):
        raise VerificationError(f"{layer.where}: the matrix form of its equation does not agree with it")
    return True


def check_recursion(network, gradients, lines, point: Point) -> None:
    """Each line of the backward recursion, its errors evaluated from their own matrix forms,
    against the gradient's full matrix form."""
    full = {g.wrt: evaluate_matrix(matrix_form(g.result, g.indices), point.values, point.sizes, SAMPLED)
            for g in gradients if matrix_form(g.result, g.indices) is not None}
    values = {**point.values, **{f"delta_{name}": value for name, value in full.items()}}
    for name, node in lines:
        if not np.allclose(evaluate_matrix(node, values, point.sizes, SAMPLED), full[name], rtol=STEP_TOLERANCE,
                           atol=STEP_TOLERANCE):
            raise VerificationError(f"the backward recursion's line for dE/d{name} does not agree with its matrix form")


def prepare(engine: Engine, names: list[str]) -> None:
    """Work the checks share with a document (the cases, the mistakes shown, the matrix forms), done before
    the two go their own ways (verified in a child process while the document is rendered)."""
    engine.mistakes(names)
    engine.worked_example(names)
    for block in engine.blocks_for(names):
        engine.jacobian_cases(block)
    for name in gradients_needed(engine.network, names):
        gradient = engine.gradient_of(name)
        matrix_form(gradient.result, gradient.indices)
    for layer in engine.network.equations:
        matrix_form(layer.rhs, layer.indices)


def verify(engine: Engine, names: list[str], shown: bool = True) -> Report:
    """Check every block that the gradients with respect to ``names`` are derived from: the
    steps in index form, then the matrix forms (two independent halves, see api.documents).
    ``shown``: also what only a document shows (the tempting mistakes, the worked example)."""
    at = points(engine.network)
    return combined(names, check_steps(engine, names, at, shown), check_matrices(engine, names, at))


@dataclass(frozen=True)
class StepsChecked:
    """What ``check_steps`` compared: every line of every block, the cases, the mistakes."""

    sizes: tuple[dict, ...]
    steps: int
    compared: int
    cases: int
    mistakes: tuple
    worked: WorkedChecked | None = None


@dataclass(frozen=True)
class MatricesChecked:
    """What ``check_matrices`` compared: the gradients with a matrix form, the recursion's lines."""

    forms: tuple[str, ...]
    recursion: tuple


def check_steps(engine: Engine, names: list[str], at: list[Point] | None = None, shown: bool = True) -> StepsChecked:
    """Each line of each block against the line before and finite differences, at every point;
    each layer's k = j / k != j cases; with ``shown``, each mistake a document shows, against the
    right result, and the worked example."""
    at = points(engine.network) if at is None else at
    blocks = engine.blocks_for(names)
    with_cases = [(block, cases) for block in blocks if (cases := engine.jacobian_cases(block)) is not None]
    mistakes = engine.mistakes(names) if shown else []
    compared = 0
    with np.errstate(all="ignore"):  # what would warn is not finite, and is reported as such
        for point in at:
            for block in blocks:
                compared += check_block(block, point)
            for name in names:
                compared += check_written(engine.gradient_of(name), point)
            for block, cases in with_cases:
                compared += check_cases(block, cases, point)
            for mistake in mistakes:
                check_mistake(engine, mistake, point)
        shown = tuple((mistake, counterexample(mistake, at)) for mistake in mistakes)
        worked = engine.worked_example(names) if shown else None
        worked_checked = None if worked is None else check_worked(engine, worked)
    return StepsChecked(tuple({str(d): v for d, v in p.sizes.items()} for p in at),
                        sum(len(b.steps) for b in blocks), compared, len(with_cases), shown, worked_checked)


def check_matrices(engine: Engine, names: list[str], at: list[Point] | None = None) -> MatricesChecked:
    """Each gradient's and each equation's matrix form against its index form, and each line of
    the backward recursion against the gradient's matrix form, at every point."""
    at = points(engine.network) if at is None else at
    gradients = [engine.gradient_of(name) for name in names]
    needed = [engine.gradient_of(name) for name in gradients_needed(engine.network, names)]
    recursion = backward_recursion(engine.network, needed)
    with_matrix_form: set[str] = set()
    with np.errstate(all="ignore"):
        for point in at:
            for gradient in gradients:
                if check_matrix_form(gradient, point):
                    with_matrix_form.add(gradient.wrt)
            for layer in engine.network.equations:
                check_forward_matrix_form(layer, point)
            check_recursion(engine.network, needed, recursion, point)
    return MatricesChecked(tuple(n for n in names if n in with_matrix_form), tuple(recursion))


def combined(names: list[str], steps: StepsChecked, matrices: MatricesChecked) -> Report:
    return Report(steps.sizes, steps.steps, steps.compared, tuple(names), matrix_forms=matrices.forms,
                  cases_checked=steps.cases, recursion=matrices.recursion, mistakes=steps.mistakes,
                  worked=steps.worked)
