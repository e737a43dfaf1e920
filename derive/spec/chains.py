r"""A derivation as a person writes it: one step a line, each line a claim about a derivative.

The text is plain lines (spec syntax or LaTeX, told apart line by line), or Markdown/LaTeX
whose math is in ``$$...$$``, ``\[...\]``, ``\begin{align}`` / ``aligned`` / ``equation`` blocks
or ``math`` fences; rows of an align block are split at ``\\``.  A line may chain several
equalities (``dE/dw[i,j] = a = b``), and a line that starts with ``=`` (``&= ...`` in an align
block) continues the derivative of the line before.  Lines of prose outside math are skipped
in Markdown; in plain text a line with no '=' is a comment, as is one starting with '#'.  An
equation whose left-hand side is not a derivative (a definition, E = -sum_j t_j log o_j) is not
a step: it is skipped, and said to be.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from ..model.network import Network
from .claims import Claim, ClaimError, claim_from, read_derivative, sides_of
from .latex import read_latex_sides

_LATEX = re.compile(r"[\\_{}^]")
_DERIVATIVE = re.compile(r"\\partial|\\frac\s*\{\s*(d|\\delta|\\mathrm\s*\{\s*d)|\Ad\s*[A-Za-z]")
_NUMBERED = re.compile(r"_\{?\s*[0-9]")
_INLINE = re.compile(r"(?<![$\\])\$([^$\n]+)\$")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{(?:aligned|align|split|gathered|gather|equation|eqnarray|array)\*?\}"
                         r"(?:\{[^}]*\})?")
_TRAILING = re.compile(r"(?:\\[,;:!]|\\q?quad|\s|[.,;])+$")
_BLOCK = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(align|aligned|equation|gather|split|eqnarray)\*?\}"
                    r"(.+?)\\end\{\3\*?\}|```math\n(.+?)```", re.S)


@dataclass(frozen=True)
class Line:
    """One claim of a derivation: where it is, what it says."""

    number: int         # the line of the file it starts on (from 1)
    text: str           # the equation as written
    claim: Claim
    continues: bool     # its derivative is the line before's (it starts with '=', or follows an '=' on the line)
    side: int = 1       # which right-hand side of its line (a = b = c has two)


def is_latex(text: str) -> bool:
    """Spec syntax has no backslash, underscore, brace or caret; LaTeX claims always have one."""
    return bool(_LATEX.search(text))


class ChainError(InputError):
    """A derivation file that holds nothing to check."""


@dataclass(frozen=True)
class Chain:
    lines: tuple[Line, ...]
    skipped: tuple[int, ...]   # the lines of equations that are not about a derivative


def read_chain(network: Network, text: str, origin: str = "<steps>") -> Chain:
    """Every claim of a derivation, in order; an error names ``origin`` and the line."""
    lines: list[Line] = []
    skipped: list[int] = []
    definition = False  # the equation before was not a step
    for number, equation in _equations(text):
        left = equation.split("=", 1)[0].strip()
        # a definition, or a numbered entry (dE/dz_1 of a worked example): not a step in index form
        definition = (bool(left) and (not _DERIVATIVE.search(left) or _NUMBERED.search(left))) \
            or (not left and definition)
        if definition:
            skipped.append(number)
            continue
        try:
            lines.extend(_claims_of(network, number, equation, lines[-1].claim if lines else None))
        except ClaimError as error:
            raise ClaimError(equation, f"{origin}, line {number}: {error.problem}", error.column) from None
    if not lines:
        raise ChainError(f"{origin}: found no step to check (one step a line, each an equation for a "
                         f"derivative, such as dE/dz[k] = o[k] - t[k])")
    return Chain(tuple(lines), tuple(skipped))


def _equations(text: str):
    """(line number, equation) for each step: from math blocks where there are any, else from
    inline $...$ math where there is any (the prose around it is not read), else every line."""
    blocks = list(_BLOCK.finditer(text))
    if blocks:
        for match in blocks:
            body_group = next(g for g in (1, 2, 4, 5) if match.group(g) is not None)
            start = text.count("\n", 0, match.start(body_group)) + 1
            for offset, row in _rows(match.group(body_group)):
                yield start + offset, row
        return
    inline = [m for m in _INLINE.finditer(text) if "=" in m.group(1)]
    if inline:
        for match in inline:
            yield text.count("\n", 0, match.start()) + 1, _cleaned(match.group(1))
        return
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            yield number, _cleaned(line)


def _rows(body: str):
    """The rows of a math block split at \\\\, with the line each starts on; a row without '='
    continues the row before (an expression broken over two lines)."""
    rows: list[list] = []
    offset = 0
    for row in re.split(r"\\\\(?:\[[^\]]*\])?", _ENVIRONMENT.sub(" ", body)):
        cleaned = _cleaned(row)
        skipped = len(row) - len(row.lstrip())
        if cleaned and "=" in cleaned:
            rows.append([offset + row.count("\n", 0, skipped), cleaned])
        elif cleaned and rows:
            rows[-1][1] += " " + cleaned
        offset += row.count("\n")
    yield from (tuple(row) for row in rows)


def _cleaned(row: str) -> str:
    """An equation without its alignment marks, its comment column (&& \\text{...}), its number
    and its closing punctuation."""
    row = re.sub(r"\\boxed\{(.*)\}", r"\1", row.split("&&")[0])
    row = re.sub(r"\\(?:label|tag|notag|nonumber)\*?(?:\{[^}]*\})?", "", row).replace("&", " ")
    return _TRAILING.sub("", " ".join(row.split()).strip("$")).strip()


def _claims_of(network: Network, number: int, equation: str, before: Claim | None) -> list[Line]:
    if is_latex(equation):
        derivative, sides = read_latex_sides(network, equation)
        lhs = None if derivative is None else derivative.partial
    else:
        lhs, sides = _spec_sides(network, equation)
    claims, continues = [], lhs is None
    if lhs is None:
        if before is None:
            raise ClaimError(equation, "the first step must say which derivative it is about, "
                                       "such as dE/dz[k] = ...")
        lhs = sides_of(before)
    letters = dict(before.letters) if before is not None else {}
    for n, side in enumerate(sides, 1):
        claim = claim_from(network, equation, *lhs, side, None, letters)
        letters.update(claim.letters)
        claims.append(Line(number, equation, claim, continues, n if len(sides) > 1 else 1))
        continues = True
    return claims


def _spec_sides(network: Network, equation: str):
    """(derivative or None, right-hand sides) of a line in the spec syntax (it has an '=')."""
    left, *sides = equation.split("=")
    return (read_derivative(network, equation, left) if left.strip() else None), sides
