"""Expressions over a network's names, read back into SymPy (a JSON ``result``, a claim)."""
from __future__ import annotations

import sympy as sp

from ..model.indices import make_index
from ..model.network import Network
from .assemble import NetworkError
from .equations import Equation, EquationError, index_uses, parse_equation, to_sympy


def parse_expression(network: Network, text: str, free: tuple[str, ...] = ()) -> sp.Expr:
    """Read an expression over the network's names (e.g. a JSON ``result``) back into SymPy.

    ``free`` names its free indices; each index takes the range of the tensor axes it labels.
    """
    subscripts = f"[{','.join(free)}]" if free else ""
    prefix = f"result{subscripts} = "
    try:
        equation = parse_equation(prefix + text)
    except EquationError as error:
        column = None if error.column is None else max(error.column - len(prefix), 0)
        raise EquationError(text, error.problem, column) from None
    dims: dict = {}
    for use in index_uses(equation):
        tensor = network.tensors.get(use.tensor)
        if tensor is not None and use.axis < len(tensor.dims):
            dims.setdefault(use.scope, tensor.dims[use.axis])
    missing = [scope[-1] for scope in _all_scopes(equation) if scope not in dims]
    if missing:
        raise NetworkError("", f"cannot tell the range of index '{missing[0]}' in '{text}'")
    _, expr = to_sympy(equation, lambda scope: make_index(scope[-1], dims[scope]))
    return expr.xreplace({sp.Symbol(str(d)): d for d in network.dimensions})  # B in .../B is the batch size


def _all_scopes(equation: Equation):
    return {use.scope for use in index_uses(equation) if use.tensor != "result"}
