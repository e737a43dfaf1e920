"""The cases of a layer's Jacobian: where a layer's derivative has a Kronecker delta between the
layer's output index and its input's (o_k(delta_jk - o_j)), what it is where the two indices are
equal (o_j(1 - o_j)) and where they differ (-o_j o_k).  Read off the derived expression, for any
layer; a Jacobian whose entries for different indices are 0 is diagonal."""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..model.indices import index_range, replace_indices
from ..model.partials import indices_of
from ..rules.steps import simplify
from .blocks import Block


@dataclass(frozen=True)
class JacobianCases:
    output_index: sp.Idx   # k of o_k
    input_index: sp.Idx    # j of z_j
    equal: sp.Expr         # the derivative where k = j, written with j
    different: sp.Expr     # where k != j

    @property
    def diagonal(self) -> bool:
        return self.different == 0


def jacobian_cases(engine, block: Block) -> JacobianCases | None:
    """The cases of a layer's derivative, or None where it has no delta between an output index
    and an input index of the same range.  Of several such deltas (a batch's sample index and
    the class index) the one whose different case is not 0, if there is exactly one."""
    if block.layer is None:
        return None
    outputs, inputs = indices_of(block.lhs.numerator), block.indices
    found = []
    for delta in sorted(block.result.atoms(sp.KroneckerDelta), key=sp.default_sort_key):
        first, second = delta.args[:2]
        for out, into in ((first, second), (second, first)):
            if out in outputs and into in inputs and index_range(out) == index_range(into):
                found.append(JacobianCases(
                    out, into, _simplified(engine, replace_indices(block.result, {out: into})),
                    _simplified(engine, block.result.xreplace({delta: sp.S.Zero}))))
    if len(found) == 1:
        return found[0]
    off_diagonal = [cases for cases in found if not cases.diagonal]
    return off_diagonal[0] if len(off_diagonal) == 1 else None


def _simplified(engine, expr) -> sp.Expr:
    steps = simplify(expr, engine.context, engine.rules, "a case of a Jacobian")
    return steps[-1].expr if steps else expr
