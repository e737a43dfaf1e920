"""The backward recursion: each gradient written through the errors of the layers above it.

The error of an affine layer is the gradient at its output, delta = dE/dz.  Where the matrix
form of one gradient contains another's error as it stands, that part is named: delta^(1) =
(1 - a (.) a) (.) (W^(2) delta^(2)), dE/dW^(2) = a^(1) delta^(2)T.  Read off the matrix forms,
for any network whose affine outputs have them.
"""
from __future__ import annotations

from . import nodes as n
from .translate import matrix_form


def gradients_needed(network, names) -> list[str]:
    """The gradients a recursion for ``names`` is written with: those, and each affine layer's error."""
    return list(dict.fromkeys([*names, *(layer.output for layer in network.layers if layer.kind == "affine")]))


def backward_recursion(network, gradients) -> list[tuple[str, n.Node]]:
    """(name, matrix form written through the errors) for each of ``gradients`` (those of
    ``gradients_needed``; denominator layout), the errors first, top down; [] where fewer than
    two affine layers have an error to name (a single layer has no recursion)."""
    forms = {g.wrt: matrix_form(g.result, g.indices) for g in gradients}
    affine = [layer.output for layer in reversed(network.layers)
              if layer.kind == "affine" and forms.get(layer.output) is not None]
    alike = [forms[name] for name in affine]
    # two errors of one form could each be written as the other: neither is named
    errors = {name: forms[name] for name in affine if alike.count(forms[name]) == 1}
    if len(errors) < 2:
        return []
    biggest_first = sorted(errors, key=lambda name: -n.size(errors[name]))
    lines = []
    for name in [*errors, *(name for name in forms if name not in errors)]:
        form = forms[name]
        if form is None:
            continue
        named = {errors[other]: n.Error(other, errors[other].rank) for other in biggest_first if other != name}
        written = n.replaced(form, named)
        if written != form or name in errors:
            lines.append((name, written))
    return lines
