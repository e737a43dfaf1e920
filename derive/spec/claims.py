"""Claims about derivatives, as a person writes them: ``dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]``.

A claim's left-hand side names the derivative (d<numerator>/d<denominator>, each a quantity of
the network with its indices); its right-hand side is an expression in the spec syntax, which
may use ``partial(U[j], X[k])`` for a derivative it does not work out.  Each index takes the
range of the axes it labels; an index that labels axes of different ranges (o_i where i runs
over the inputs) is kept as a conflict, because it is a mistake worth naming, not bad input.
The LaTeX subset people write these in is translated to this syntax by ``latex.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from ..errors import InputError, quote
from ..model.indices import make_index
from ..model.network import Network
from ..model.partials import Partial, name_of, quantity
from .equations import EquationError, index_uses, parse_equation, rank_uses, sum_scopes, to_sympy

_SIDE = r"\s*d\s*([A-Za-z][A-Za-z0-9]*)\s*(\[[^\]]*\])?\s*"
LHS = re.compile(rf"{_SIDE}/{_SIDE}\Z")


class ClaimError(InputError):
    """A claim that cannot be read; the message quotes it and says where."""

    def __init__(self, text: str, problem: str, column: int | None = None):
        where = f" at column {column + 1}" if column is not None else ""
        super().__init__(f"{problem}{where} in claim {quote(text)}")
        self.text, self.problem, self.column = text, problem, column


@dataclass(frozen=True)
class Conflict:
    """An index that labels axes of different ranges: (tensor, axis, range) for each."""

    index: str
    uses: tuple[tuple[str, int, sp.Symbol], ...]


@dataclass(frozen=True)
class Claim:
    text: str                   # as written
    lhs: Partial                # d numerator / d denominator at the claim's indices
    rhs: sp.Expr
    order: tuple[sp.Idx, ...]   # the left-hand side's indices, each once
    conflicts: tuple[Conflict, ...] = ()
    letters: tuple = ()         # (index letter, its range) for every index the claim uses

    @property
    def numerator(self) -> str:
        return name_of(self.lhs.numerator)

    @property
    def denominator(self) -> str:
        return name_of(self.lhs.denominator)


def split_claim(text: str) -> tuple[str, str, int]:
    """(left-hand side, right-hand side, column where the right-hand side starts)."""
    if "=" not in text:
        raise ClaimError(text, "a claim is an equation 'dE/dw[i,j] = expression'")
    at = text.index("=")
    return text[:at], text[at + 1:], at + 1


def read_claim(network: Network, text: str) -> Claim:
    """A claim in the spec syntax, its names checked against ``network``."""
    left, right, start = split_claim(text)
    if "=" in right:
        raise ClaimError(text, "a claim has one '='; check a chain of equalities as a derivation file, "
                               "one step a line", start + right.index("="))
    return claim_from(network, text, *read_derivative(network, text, left), right, start)


def read_derivative(network: Network, text: str, left: str) -> tuple[tuple, tuple]:
    """The (name, indices) of a derivative's numerator and denominator: dE/dw[i,j]."""
    match = LHS.match(left)
    if not match:
        raise ClaimError(text, "the left-hand side must be a derivative such as dE/dw[i,j] or do[j]/dz[k]", 0)
    return tuple(_side(network, text, match.group(n), match.group(n + 1)) for n in (1, 3))


def sides_of(claim: Claim) -> tuple[tuple, tuple]:
    """The (name, indices) of the claim's numerator and denominator, as ``claim_from`` takes them."""
    return tuple((name_of(q), tuple(i.name for i in q.indices) if isinstance(q, sp.Indexed) else ())
                 for q in (claim.lhs.numerator, claim.lhs.denominator))


def _side(network: Network, text: str, name: str, subscripts: str | None) -> tuple[str, tuple[str, ...]]:
    indices = tuple(s.strip() for s in subscripts[1:-1].split(",")) if subscripts else ()
    _known(network, text, name, len(indices))
    for index in indices:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", index):
            raise ClaimError(text, f"subscripts must be index names such as [i, j], not {quote(index)}")
    return name, indices


def _known(network: Network, text: str, name: str, rank: int, column: int | None = None) -> None:
    tensor = network.tensors.get(name)
    if tensor is None:
        if rank == 0 and any(str(d) == name for d in network.dimensions):
            return  # a size, as in 1/B
        raise ClaimError(text, f"'{name}' is not a quantity of this network "
                               f"(its quantities: {', '.join(network.tensors)})", column)
    if len(tensor.dims) != rank:
        raise ClaimError(text, f"'{name}' has {len(tensor.dims)} ind{'ex' if len(tensor.dims) == 1 else 'ices'}, "
                               f"the claim gives it {rank}", column)


def claim_from(network: Network, text: str, numerator: tuple[str, tuple], denominator: tuple[str, tuple],
               right: str, start: int | None, letters: dict | None = None) -> Claim:
    """The claim d numerator / d denominator = ``right``; ``start`` is where ``right`` begins in
    ``text`` (None where ``right`` is a translation of it).  ``letters``: the range each index
    letter had in the lines before, for a sum whose index labels nothing here (sum_k 1)."""
    free = tuple(dict.fromkeys((*numerator[1], *denominator[1])))
    prefix = f"claim[{','.join(free)}] = " if free else "claim = "
    try:
        equation = parse_equation(prefix + right.strip(), partials=True)
    except EquationError as error:
        if start is None:  # read from LaTeX: say what it was read as
            raise ClaimError(text, f"{error.problem} (read as {quote(right.strip())})") from None
        column = None if error.column is None else start + len(right) - len(right.lstrip()) \
            + max(error.column - len(prefix), 0)
        raise ClaimError(text, error.problem, column) from None
    for name, rank in rank_uses(equation):
        if name != "claim":
            _known(network, text, name, rank)
    ranges: dict[tuple, list] = {}
    for name, indices in (numerator, denominator):  # the derivative's own axes come first
        for axis, index in enumerate(indices):
            ranges.setdefault(("free", index), []).append((name, axis, network.tensors[name].dims[axis]))
    for use in index_uses(equation):
        tensor = network.tensors.get(use.tensor)
        if tensor is not None:
            ranges.setdefault(use.scope, []).append((use.tensor, use.axis, tensor.dims[use.axis]))
    deltas: dict = {}  # both indices of a delta run over one range: delta(j,k) gives k the range of j
    for use in index_uses(equation):
        if use.tensor.startswith("#delta"):
            deltas.setdefault(use.tensor, []).append(use.scope)
    for scopes in deltas.values():
        known = [ranges[scope] for scope in scopes if scope in ranges]
        for scope in scopes:
            if scope not in ranges and known:
                ranges[scope] = list(known[0])
    for scope in sum_scopes(equation):  # sum_k 2 mu: k takes the range the letter k has elsewhere
        if scope not in ranges:
            same = [uses for other, uses in ranges.items() if other[-1] == scope[-1]]
            if same:
                ranges[scope] = list(same[0])
            elif letters and scope[-1] in letters:
                ranges[scope] = [("", 0, letters[scope[-1]])]
            else:
                raise ClaimError(text, f"cannot tell the range of index '{scope[-1]}': nothing it labels says")
    conflicts = tuple(Conflict(scope[-1], tuple(dict.fromkeys(uses))) for scope, uses in ranges.items()
                      if len({dim for _, _, dim in uses}) > 1)
    delta_only = [use.scope for use in index_uses(equation) if use.scope not in ranges and use.tensor != "claim"]
    if delta_only:
        raise ClaimError(text, f"cannot tell the range of index '{delta_only[0][-1]}'")
    order, rhs = to_sympy(equation, lambda scope: make_index(scope[-1], ranges[scope][0][2]))
    index = dict(zip(free, order))
    lhs = Partial(*(quantity(name, [index[i] for i in indices]) for name, indices in (numerator, denominator)))
    rhs = rhs.xreplace({sp.Symbol(str(d)): d for d in network.dimensions})
    if rhs.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ClaimError(text, "the right-hand side divides by zero")
    if rhs.has(sp.I):
        raise ClaimError(text, "the right-hand side is not a real number (the log of a negative number?)")
    return Claim(text.strip(), lhs, rhs, order, conflicts,
                 tuple(sorted({scope[-1]: uses[0][2] for scope, uses in ranges.items()}.items(), key=str)))
