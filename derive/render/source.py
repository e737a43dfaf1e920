"""Python source a person can paste into a project: a network's backward pass in NumPy.

The lines come from ``engine.backprop`` (each shared error once, top down); each is printed
from its matrix form where it has one (``x.T @ dE_dz``), else with ``np.einsum`` from its index
form.  The forward pass is printed the same way from the layers' equations.  Names are the
network's own; one that Python reserves gets a trailing underscore.  The layout of the source
is the template's (``templates/backward.py.j2``).
"""
from __future__ import annotations

import re
from collections import Counter

import sympy as sp

from ..engine.backprop import backward_pass
from ..matrix import matrix_form
from ..matrix import nodes as n
from ..model.network import Layout, Network, Role
from ..model.partials import Partial, indices_of, name_of
from ..printing import numpy_code
from ..printing.einsum import einsum_code
from .environment import environment

ARGUMENTS = (Role.INPUT, Role.PARAMETER, Role.TARGET, Role.CONSTANT)
# A spec's names are already Python names: letters and digits, never a keyword, never np (which
# the code imports); see derive/spec.  The names the code adds hold an underscore, which no spec
# name has: dE_dz, o_part1.


def argument_names(network: Network) -> list[str]:
    """What ``backward`` takes, in order: the network's inputs, parameters, targets and constants."""
    return [t.name for t in network.tensors.values() if t.role in ARGUMENTS]


def backward_source(network: Network, names: list[str], layout: Layout) -> str:
    """A module with one function, ``backward``, that takes the network's inputs, parameters and
    targets and returns {name: dE/d(name)} for ``names``, each shaped as ``layout`` says."""
    arguments = [t for t in network.tensors.values() if t.role in ARGUMENTS]
    taken = {t.name for t in network.tensors.values()}
    sizes, size_lines = {}, []
    for tensor in arguments:
        for axis, dim in enumerate(tensor.dims):
            if dim in sizes:
                continue
            code = f"{tensor.name}.shape[{axis}]"
            if str(dim) not in taken:
                size_lines.append({"name": str(dim), "code": code})
                code = str(dim)
            sizes[dim] = code
    loss = network.loss.output
    gradient_name = {name: f"d{loss}_d{name}" for name in network.tensors}
    forward = [statement for layer in network.equations if layer is not network.loss
               for statement in _statements(layer.output, layer.rhs, layer.indices, sizes, gradient_name)]
    backward = [statement for line in backward_pass(network, names)
                for statement in _statements(gradient_name[line.name], line.expr, line.indices, sizes, gradient_name)]
    forward, backward = _freed(forward, backward, {gradient_name[name] for name in names})
    read = set().union(*(_names_in(statement["code"]) for statement in forward + backward))
    size_lines = [line for line in size_lines if line["name"] in read]

    def transposed(name: str) -> bool:  # a matrix in the Jacobian layout
        return layout == Layout.NUMERATOR and len(network.tensors[name].dims) == 2
    returned = [{"name": name, "code": gradient_name[name] + (".T" if transposed(name) else "")} for name in names]
    return environment().get_template("backward.py.j2").render(
        title=network.title, loss=loss, layout=str(layout),
        arguments=[{"name": t.name, "shape": ", ".join(str(d) for d in t.dims), "role": t.role}
                   for t in arguments],
        sizes=size_lines, forward=forward, backward=backward, returned=returned,
        shapes={name: ", ".join(str(d) for d in network.gradient_shape(name, layout)) for name in names})


def _statements(name: str, expr, indices, sizes: dict, gradient_name: dict) -> list[dict]:
    """``name = <NumPy code for expr over indices>``, each dE/dU in it read from the line that
    computed it; a part its matrix form uses twice (exp(z) in a softmax) computed once before it."""
    expr = _in_python_names(expr, gradient_name)
    node = matrix_form(expr, tuple(indices))
    if node is None:
        return [{"name": name, "code": einsum_code(expr, tuple(indices), sizes)}]
    statements = []
    while repeated := _repeated(node):
        part = f"{name}_part{len(statements) + 1}"
        statements.append({"name": part, "code": numpy_code(repeated, sizes)})
        node = n.replaced(node, {repeated: n.Leaf(part, repeated.rank)})
    return [*statements, {"name": name, "code": numpy_code(node, sizes)}]


def _freed(forward: list[dict], backward: list[dict], returned: set[str]) -> tuple[list[dict], list[dict]]:
    """The statements without those whose value nothing reads, each followed by the names it
    read for the last time (``free``): the pass holds no array longer than a careful person's."""
    statements = forward + backward
    while True:
        read = [_names_in(s["code"]) for s in statements]
        unused = [s for s in statements
                  if s["name"] not in returned and not any(s["name"] in names for names in read)]
        if not unused:
            break
        statements = [s for s in statements if s not in unused]
    last = {}
    for position, names in enumerate(read):
        for name in names:
            last[name] = position
    made = {s["name"] for s in statements}
    for position, statement in enumerate(statements):
        statement["free"] = sorted(name for name, at in last.items()
                                   if at == position and name in made and name not in returned)
    kept = {id(s) for s in statements}
    return [s for s in forward if id(s) in kept], [s for s in backward if id(s) in kept]


def _names_in(code: str) -> set[str]:
    """The names code reads (not attributes, not the letters of an einsum's subscripts)."""
    return set(re.findall(r"(?<![.\w])[A-Za-z_]\w*", re.sub(r"'[^']*'", "", code)))


def _repeated(node):
    """The largest part of the tree that occurs in it more than once (not a name or a number)."""
    counts = Counter(sub for sub in n.subtrees(node) if not isinstance(sub, (n.Leaf, n.Error, n.Scalar, n.Ones)))
    twice = [sub for sub, count in counts.items() if count > 1]
    return max(twice, key=n.size) if twice else None


def _in_python_names(expr, gradient_name: dict):
    """Each dE/dU in ``expr`` as the variable of the line that computed it."""
    references = {p: sp.IndexedBase(gradient_name[name_of(p.denominator)])[indices_of(p.denominator)]
                  if indices_of(p.denominator) else sp.Symbol(gradient_name[name_of(p.denominator)])
                  for p in expr.atoms(Partial)}
    return expr.xreplace(references) if references else expr


def compiled(source: str, function: str, origin: str):
    """The function ``function`` of generated ``source``.  The source is derive's own printers'
    output over names a spec may hold (letters and digits, never a keyword or np), so
    running it runs no text a user wrote."""
    namespace: dict = {}
    exec(compile(source, origin, "exec"), namespace)  # noqa: S102 -- derive's generated code, see above
    return namespace[function]


def gradient_source(name: str, arguments: list[str], code: str) -> str:
    """A module with one function, ``gradient``, of the arrays ``arguments``: dE/d(name) by ``code``."""
    return environment().get_template("gradient.py.j2").render(name=name, arguments=arguments, code=code)
