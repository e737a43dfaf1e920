"""Python source a person can paste into a project: a network's backward pass in NumPy.

The lines come from ``engine.backprop`` (each shared error once, top down); each is printed
from its matrix form where it has one (``x.T @ dE_dz``), else with ``np.einsum`` from its index
form.  The forward pass is printed the same way from the layers' equations.  Names are the
network's own; one that Python reserves gets a trailing underscore.  The layout of the source
is the template's (``templates/backward.py.j2``).
"""
from __future__ import annotations

import keyword

import sympy as sp

from ..engine.backprop import backward_pass
from ..matrix import matrix_form
from ..model.network import Layout, Network, Role
from ..model.partials import Partial, indices_of, name_of
from ..printing import numpy_code
from ..printing.einsum import einsum_code
from .environment import environment

ARGUMENTS = (Role.INPUT, Role.PARAMETER, Role.TARGET, Role.CONSTANT)
RESERVED = {"np"}  # the module the code imports


def python_name(name: str) -> str:
    """The name in Python: a keyword (or ``np``) gets a trailing underscore, which no name in a
    spec has (names are letters and digits)."""
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED else name


def backward_source(network: Network, names: list[str], layout: Layout) -> str:
    """A module with one function, ``backward``, that takes the network's inputs, parameters and
    targets and returns {name: dE/d(name)} for ``names``, each shaped as ``layout`` says."""
    arguments = [t for t in network.tensors.values() if t.role in ARGUMENTS]
    taken = {python_name(t.name) for t in network.tensors.values()}
    sizes, size_lines = {}, []
    for tensor in arguments:
        for axis, dim in enumerate(tensor.dims):
            if dim in sizes:
                continue
            code = f"{python_name(tensor.name)}.shape[{axis}]"
            if str(dim).isidentifier() and python_name(str(dim)) == str(dim) and str(dim) not in taken:
                size_lines.append({"name": str(dim), "code": code})
                code = str(dim)
            sizes[dim] = code
    loss = network.loss.output
    gradient_name = {name: f"d{python_name(loss)}_d{python_name(name)}" for name in network.tensors}
    forward = [{"name": python_name(layer.output), "code": _code(layer.rhs, layer.indices, sizes, gradient_name)}
               for layer in network.equations if layer is not network.loss]
    lines = backward_pass(network, names)
    backward = [{"name": gradient_name[line.name], "code": _code(line.expr, line.indices, sizes, gradient_name),
                 "of": line.name} for line in lines]
    def transposed(name: str) -> bool:  # a matrix in the Jacobian layout
        return layout == Layout.NUMERATOR and len(network.tensors[name].dims) == 2
    returned = [{"name": name, "code": gradient_name[name] + (".T" if transposed(name) else "")} for name in names]
    return environment().get_template("backward.py.j2").render(
        title=network.title, loss=loss, layout=str(layout),
        arguments=[{"name": python_name(t.name), "shape": ", ".join(str(d) for d in t.dims), "role": t.role}
                   for t in arguments],
        sizes=size_lines, forward=forward, backward=backward, returned=returned,
        shapes={name: ", ".join(str(d) for d in network.gradient_shape(name, layout)) for name in names})


def _code(expr, indices, sizes: dict, gradient_name: dict) -> str:
    """NumPy code for ``expr`` over ``indices``: each dE/dU in it read from the line that computed it."""
    expr = _in_python_names(expr, gradient_name)
    node = matrix_form(expr, tuple(indices))
    return numpy_code(node, sizes) if node is not None else einsum_code(expr, tuple(indices), sizes)


def _in_python_names(expr, gradient_name: dict):
    references = {p: sp.IndexedBase(gradient_name[name_of(p.denominator)])[indices_of(p.denominator)]
                  if indices_of(p.denominator) else sp.Symbol(gradient_name[name_of(p.denominator)])
                  for p in expr.atoms(Partial)}
    expr = expr.xreplace(references) if references else expr
    labels = {idx.label for idx in expr.atoms(sp.Idx)}
    renamed = {base: sp.IndexedBase(python_name(base.label.name)) for base in expr.atoms(sp.IndexedBase)
               if python_name(base.label.name) != base.label.name}
    renamed |= {symbol: sp.Symbol(python_name(symbol.name), **symbol.assumptions0) for symbol in expr.atoms(sp.Symbol)
                if symbol not in labels and python_name(symbol.name) != symbol.name}
    return expr.xreplace(renamed) if renamed else expr


def compiled(source: str, function: str, origin: str):
    """The function ``function`` of generated ``source``.  The source is derive's own printers'
    output over names a spec may hold (letters and digits, Python's reserved ones renamed), so
    running it runs no text a user wrote."""
    namespace: dict = {}
    exec(compile(source, origin, "exec"), namespace)  # noqa: S102 -- derive's generated code, see above
    return namespace[function]


def gradient_source(name: str, arguments: list[str], code: str) -> str:
    """A module with one function, ``gradient``, of the arrays ``arguments``: dE/d(name) by ``code``."""
    return environment().get_template("gradient.py.j2").render(name=name, arguments=arguments, code=code)
