"""A backward pass: the gradients a network's requested gradients need, each computed once.

A person backpropagating by hand names the error of a quantity that several gradients use
(delta = dE/dz of a layer read by its weight, its bias and its input) and computes it once;
a quantity on a single path is written in where it is used.  Here that choice is made from the
network's graph: every quantity on a path from a requested variable to the loss, and how many
of the needed gradients read its gradient.  A second engine derives the gradients with those
errors referred to as dE/dU; its chain-rule blocks, before write-out, are the lines of the pass,
top down (each line uses only lines above it).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..model.network import Network
from ..model.partials import Partial, name_of
from .engine import Engine


@dataclass(frozen=True)
class Line:
    """dE/d(name) in index form, over ``indices``; its Partial nodes are lines above it."""

    name: str
    indices: tuple
    expr: sp.Expr
    requested: bool


def backward_pass(network: Network, names: list[str], rules=None) -> list[Line]:
    """The lines of a backward pass returning the gradients with respect to ``names``, in order."""
    needed = _on_paths_to_the_loss(network, names)
    readers = {name: sum(1 for x in needed for layer in network.consumers(x) if layer.output == name)
               for name in needed}
    shared = {name for name, count in readers.items() if count > 1 or (name in names and count)}
    engine = Engine(network, rules, named_errors=shared)
    lines: dict[str, Line] = {}
    wanted = list(names)
    while wanted:
        name = wanted.pop()
        if name in lines:
            continue
        block = engine.gradient_block(name)
        lines[name] = Line(name, block.indices, block.result, name in names)
        wanted += [name_of(p.denominator) for p in block.result.atoms(Partial)]
    order = {name: position for position, name in enumerate(network.tensors)}
    return sorted(lines.values(), key=lambda line: -order[line.name])  # the loss's end first


def _on_paths_to_the_loss(network: Network, names: list[str]) -> set[str]:
    """The requested quantities and every layer output their values flow through to the loss."""
    found, frontier = set(), list(names)
    while frontier:
        name = frontier.pop()
        if name in found:
            continue
        found.add(name)
        frontier += [layer.output for layer in network.consumers(name) if layer is not network.loss]
    return found
