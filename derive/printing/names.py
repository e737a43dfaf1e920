"""How a quantity's name is written: z1 -> z^{(1)}, tau -> \\tau, logits -> \\mathrm{logits}.

Names are identifiers (checked by the equation reader), so nothing here needs escaping.
"""
from __future__ import annotations

import re

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
         "Psi", "Omega"}
NUMBERED = re.compile(r"([A-Za-z]+?)(\d+)\Z")


def name_tex(name: str) -> str:
    """A quantity's name in TeX, a layer number as a superscript."""
    numbered = NUMBERED.match(name)
    if numbered:
        return f"{name_tex(numbered.group(1))}^{{({numbered.group(2)})}}"
    if name in GREEK:
        return "\\" + name
    if name == "eps":  # the epsilon of a norm's sqrt(v + eps)
        return r"\varepsilon"
    if len(name) == 1:
        return name
    return f"\\mathrm{{{name}}}"


def index_tex(name: str) -> str:
    """An index name in TeX: i1 -> i_{1}."""
    numbered = NUMBERED.match(name)
    if numbered:
        return f"{numbered.group(1)}_{{{numbered.group(2)}}}"
    return name_tex(name)


def matrix_name_tex(name: str, rank: int) -> str:
    """y -> bold y (a vector), w -> bold W (a matrix), w2 -> bold W^{(2)}."""
    numbered = NUMBERED.match(name)
    stem, number = (numbered.group(1), numbered.group(2)) if numbered else (name, None)
    if rank == 2 and len(stem) == 1:
        stem = stem.upper()
    tex = rf"\boldsymbol{{\{stem}}}" if stem in GREEK else rf"\mathbf{{{stem}}}"
    return f"{tex}^{{({number})}}" if number else tex


def error_tex(name: str) -> str:
    """The error dE/dz of z1 as a bold delta^{(1)}, of z as a bold delta_{z}: bold and with one
    index at most, so that it is not read as a Kronecker delta."""
    numbered = NUMBERED.match(name)
    if numbered:
        return rf"\boldsymbol{{\delta}}^{{({numbered.group(2)})}}"
    return rf"\boldsymbol{{\delta}}_{{{name_tex(name)}}}"
