"""Reader for index-notation equations such as ``o[j] = exp(z[j]) / sum(k, exp(z[k]))``.

The text is parsed with Python's ``ast`` and every node is checked against a whitelist;
nothing is ever evaluated, and no user text reaches ``eval``, ``sympify`` or ``parse_expr``.
The syntax is the one JSON results are printed in: ``name[i,j]`` for subscripts,
``sum(k, expr)``, ``delta(j,k)``, the functions of the primitive table, ``+ - * / **`` and parentheses.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

import sympy as sp

from ..errors import InputError, quote
from ..limits import MAX_EQUATION_LENGTH, MAX_EXPONENT, MAX_NAME_LENGTH, MAX_NESTING, MAX_NUMBER, MAX_NUMBER_LENGTH
from ..model.indices import summation
from ..model.partials import Partial
from ..model.primitives import PRIMITIVES

FUNCTIONS = {p.name: p.function for p in PRIMITIVES}
RESERVED = {"sum", "delta", *FUNCTIONS, "np"}  # np: NumPy, in the code derive generates
NAME = re.compile(rf"[A-Za-z][A-Za-z0-9]{{0,{MAX_NAME_LENGTH - 1}}}\Z")

_SYNTAX_NAMES = {
    ast.Attribute: "attribute access",
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.Starred: "star arguments",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Tuple: "a tuple",
}


class EquationError(InputError):
    """An equation that cannot be read; the message quotes it and points at the problem."""

    def __init__(self, text: str, problem: str, column: int | None = None):
        where = f" at column {column + 1}" if column is not None else ""
        super().__init__(f"{problem}{where} in equation {quote(text)}")
        self.text, self.problem, self.column = text, problem, column


@dataclass
class Equation:
    """A checked equation: ``output[indices] = rhs`` with ``rhs`` a whitelisted ast node."""

    text: str
    output: str
    indices: tuple[str, ...]
    rhs: ast.expr


@dataclass(frozen=True)
class IndexUse:
    """An index name occurring at one axis of a tensor, within one summation scope."""

    tensor: str
    axis: int
    scope: tuple  # ("free", name) or ("sum", id, name)


def parse_equation(text: str, partials: bool = False) -> Equation:
    """``partials``: also read ``partial(U[j], X[k])``, a partial derivative (in a claim about one)."""
    if len(text) > MAX_EQUATION_LENGTH:
        raise EquationError(text, f"the equation is {len(text)} characters long; the limit is {MAX_EQUATION_LENGTH}")
    if any(not ch.isprintable() for ch in text.strip()):
        column = next(n for n, ch in enumerate(text.strip()) if not ch.isprintable())
        raise EquationError(text, "an equation is one line of printable characters", column)
    try:
        module = ast.parse(text.strip(), mode="exec")
    except (SyntaxError, MemoryError, RecursionError) as error:
        message = getattr(error, "msg", None) or "nested too deeply"
        raise EquationError(text, f"syntax error ({message})", (getattr(error, "offset", None) or 1) - 1) from None
    if len(module.body) != 1 or not isinstance(module.body[0], ast.Assign) \
            or len(module.body[0].targets) != 1:
        raise EquationError(text, "expected one equation of the form 'name[i] = expression'")
    assign = module.body[0]
    _check_nesting(text, assign.value)
    output, indices = _target(text, assign.targets[0])
    _check(text, assign.value, set(indices), partials)
    return Equation(text.strip(), output, indices, assign.value)


def _check_nesting(text: str, root: ast.AST) -> None:
    """Refuse expressions nested more than MAX_NESTING levels (walked without recursion)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise EquationError(text, f"the expression is nested more than {MAX_NESTING} levels deep "
                                      f"(a long chain of + or - counts one level a term)",
                                getattr(node, "col_offset", None))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _constant(text: str, node) -> Fraction | None:
    """The value of a sub-expression made of numbers only (None if it has a name or a function),
    refusing numbers and exponents beyond the limits before anything computes with them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        value = Fraction(node.value) if math.isfinite(node.value) else None
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant(text, node.operand)
        value = None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        left, right = _constant(text, node.left), _constant(text, node.right)
        if isinstance(node.op, ast.Pow) and right is not None and abs(right) > MAX_EXPONENT:
            raise EquationError(text, f"the exponent {_shown(right)} is too large (at most {MAX_EXPONENT})",
                                node.right.col_offset)
        if left is None or right is None:
            return None
        value = _arithmetic(node.op, left, right)
    else:
        return None
    if value is not None and abs(value) > MAX_NUMBER:
        raise EquationError(text, f"the number {_shown(value)} is too large (at most 10^15)", node.col_offset)
    if value and abs(value) < Fraction(1, MAX_NUMBER):
        raise EquationError(text, f"the number {_shown(value)} is too small (at least 10^-15, or 0)",
                            node.col_offset)
    return value


def _arithmetic(op, left: Fraction, right: Fraction) -> Fraction | None:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div):
        return left / right if right else None
    if right.denominator != 1 or (left == 0 and right < 0):
        return None  # a root, or 0 to a negative power: not a plain number
    if abs(left) > 1 and int(abs(right)) * math.log10(abs(left)) > 15:
        return Fraction(MAX_NUMBER + 1) if right > 0 else Fraction(0)
    return left ** int(right)


def _shown(value: Fraction) -> str:
    text = str(value)
    return text if len(text) <= 20 else f"{float(value):.3g}"


def _target(text, node) -> tuple[str, tuple[str, ...]]:
    if isinstance(node, ast.Name):
        return _name(text, node, node.id), ()
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return _name(text, node.value, node.value.id), _subscripts(text, node)
    raise EquationError(text, "the left-hand side must be a name or name[indices]", node.col_offset)


def _name(text, node, name: str) -> str:
    if not NAME.match(name):
        raise EquationError(text, f"{quote(name)} is not a valid name (letters and digits, starting with a letter, "
                                  f"at most {MAX_NAME_LENGTH})", node.col_offset)
    if name in RESERVED:
        raise EquationError(text, f"'{name}' is reserved (a function's name, or NumPy's in generated code)",
                            node.col_offset)
    return name


def _subscripts(text, node: ast.Subscript) -> tuple[str, ...]:
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    names = []
    for item in items:
        if not isinstance(item, ast.Name):
            raise EquationError(text, "subscripts must be index names such as [i, j]", item.col_offset)
        names.append(_name(text, item, item.id))
    return tuple(names)


def _check(text: str, node: ast.AST, indices: set[str], partials: bool = False) -> None:
    """Reject every construct that is not part of the index-notation syntax."""
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            raise EquationError(text, f"operator '{type(node.op).__name__}' is not allowed", node.col_offset)
        _check(text, node.left, indices, partials)
        _check(text, node.right, indices, partials)
        _constant(text, node)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise EquationError(text, f"operator '{type(node.op).__name__}' is not allowed", node.col_offset)
        _check(text, node.operand, indices, partials)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise EquationError(text, f"constant {quote(repr(node.value))} is not a number", node.col_offset)
        written = ast.get_source_segment(text.strip(), node) or ""
        if not math.isfinite(node.value):
            raise EquationError(text, f"constant {written} is not finite", node.col_offset)
        if len(written) > MAX_NUMBER_LENGTH:
            raise EquationError(text, f"a number of {len(written)} characters (at most {MAX_NUMBER_LENGTH})",
                                node.col_offset)
        _constant(text, node)
    elif isinstance(node, ast.Name):
        _name(text, node, node.id)
        if node.id in indices:
            raise EquationError(text, f"index '{node.id}' is used as a value", node.col_offset)
    elif isinstance(node, ast.Subscript):
        if not isinstance(node.value, ast.Name):
            _check(text, node.value, indices, partials)  # names the construct (attribute access, a call, ...)
            raise EquationError(text, "only names can carry subscripts", node.col_offset)
        _name(text, node.value, node.value.id)
        _bound(text, node, _subscripts(text, node), indices)
    elif isinstance(node, ast.Call):
        _check_call(text, node, indices, partials)
    else:
        what = _SYNTAX_NAMES.get(type(node), f"'{type(node).__name__}'")
        raise EquationError(text, f"{what} is not allowed", getattr(node, "col_offset", None))


def _bound(text, node, names, indices) -> None:
    for name in names:
        if name not in indices:
            raise EquationError(text, f"index '{name}' is neither on the left-hand side nor summed over",
                                node.col_offset)


def _check_call(text: str, node: ast.Call, indices: set[str], partials: bool) -> None:
    if not isinstance(node.func, ast.Name):
        raise EquationError(text, "only the functions sum, delta, "
                            + ", ".join(FUNCTIONS) + " can be called", node.col_offset)
    name = node.func.id
    if node.keywords:
        raise EquationError(text, f"{name}() takes no keyword arguments", node.col_offset)
    if name == "sum":
        if len(node.args) != 2 or not isinstance(node.args[0], ast.Name):
            raise EquationError(text, "sum takes an index and an expression: sum(k, expr)", node.col_offset)
        index = _name(text, node.args[0], node.args[0].id)
        if index in indices:
            raise EquationError(text, f"sum index '{index}' is already in use", node.args[0].col_offset)
        _check(text, node.args[1], indices | {index}, partials)
        # (a claim may sum a term its index does not touch, sum_k 2 mu: the claim's reader gives it a range)
        if not partials and not any(isinstance(n, ast.Name) and n.id == index for n in ast.walk(node.args[1])):
            raise EquationError(text, f"sum over '{index}', which its expression does not use "
                                      f"(its range would be unknown)", node.args[0].col_offset)
    elif name == "delta":
        if len(node.args) != 2 or not all(isinstance(a, ast.Name) for a in node.args):
            raise EquationError(text, "delta takes two index names: delta(j, k)", node.col_offset)
        _bound(text, node, [a.id for a in node.args], indices)
    elif name == "partial" and partials:
        if len(node.args) != 2 or not isinstance(node.args[1], (ast.Name, ast.Subscript)):
            raise EquationError(text, "partial takes what is differentiated and a quantity: partial(o[j], z[k])",
                                node.col_offset)
        for arg in node.args:
            _check(text, arg, indices, partials)
    elif name in FUNCTIONS:
        if len(node.args) != 1:
            raise EquationError(text, f"{name}() takes one argument", node.col_offset)
        _check(text, node.args[0], indices, partials)
    else:
        raise EquationError(text, f"unknown function '{name}' (known: sum, delta, "
                            + ", ".join(FUNCTIONS) + ")", node.col_offset)


def index_uses(equation: Equation) -> Iterator[IndexUse]:
    """Every (tensor, axis, index scope) in the equation, the output's own axes included."""
    for axis, name in enumerate(equation.indices):
        yield IndexUse(equation.output, axis, ("free", name))
    yield from _uses(equation.rhs, {name: ("free", name) for name in equation.indices})


def _uses(node, scopes) -> Iterator[IndexUse]:
    if isinstance(node, ast.Subscript):
        for axis, name in enumerate(_subscript_names(node)):
            yield IndexUse(node.value.id, axis, _scope(scopes, name))
    elif isinstance(node, ast.Call) and node.func.id == "sum":
        name = node.args[0].id
        yield from _uses(node.args[1], {**scopes, name: ("sum", id(node), name)})
    elif isinstance(node, ast.Call) and node.func.id == "delta":
        # both indices of a delta run over the same range: tie them to one shared slot
        for arg in node.args:
            yield IndexUse(f"#delta{id(node)}", 0, _scope(scopes, arg.id))
    else:
        for child in ast.iter_child_nodes(node):
            yield from _uses(child, scopes)


def _scope(scopes, name):
    return scopes.get(name, ("free", name))


def _subscript_names(node: ast.Subscript) -> list[str]:
    return [e.id for e in node.slice.elts] if isinstance(node.slice, ast.Tuple) else [node.slice.id]


def sum_scopes(equation: Equation) -> Iterator[tuple]:
    """The scope of every sum in the equation, ("sum", id, index name), as index_uses names them."""
    for node in ast.walk(equation.rhs):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum":
            yield ("sum", id(node), node.args[0].id)


def rank_uses(equation: Equation) -> Iterator[tuple[str, int]]:
    """(name, number of subscripts) for every tensor or scalar mentioned in the equation."""
    yield equation.output, len(equation.indices)

    def visit(node):
        if isinstance(node, ast.Subscript):
            yield node.value.id, len(_subscript_names(node))
        elif isinstance(node, ast.Name):
            yield node.id, 0
        elif isinstance(node, ast.Call):
            args = node.args[1:] if node.func.id == "sum" else [] if node.func.id == "delta" else node.args
            for arg in args:
                yield from visit(arg)
        else:
            for child in ast.iter_child_nodes(node):
                yield from visit(child)

    yield from visit(equation.rhs)


def to_sympy(equation: Equation, index_for: Callable[[tuple], sp.Idx]) -> tuple[tuple[sp.Idx, ...], sp.Expr]:
    """Build the SymPy form; ``index_for(scope)`` gives the ranged ``Idx`` for an index scope."""
    free = {name: ("free", name) for name in equation.indices}
    lhs = tuple(index_for(free[name]) for name in equation.indices)
    return lhs, _build(equation.rhs, free, index_for)


def _build(node, scopes, index_for):
    if isinstance(node, ast.BinOp):
        left, right = _build(node.left, scopes, index_for), _build(node.right, scopes, index_for)
        op = type(node.op)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        return left ** right
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, scopes, index_for)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Constant):
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Rational(str(node.value))
    if isinstance(node, ast.Name):
        return sp.Symbol(node.id)
    if isinstance(node, ast.Subscript):
        indices = [index_for(_scope(scopes, name)) for name in _subscript_names(node)]
        return sp.IndexedBase(node.value.id)[tuple(indices)]
    name = node.func.id
    if name == "sum":
        index_name = node.args[0].id
        inner = {**scopes, index_name: ("sum", id(node), index_name)}
        return summation(_build(node.args[1], inner, index_for), index_for(inner[index_name]))
    if name == "delta":
        first, second = (index_for(_scope(scopes, a.id)) for a in node.args)
        return sp.KroneckerDelta(first, second)
    if name == "partial":  # of a quantity: dU/dX; of an expression: d/dX (expression), the others held fixed
        top, bottom = (_build(arg, scopes, index_for) for arg in node.args)
        return Partial(top, bottom) if isinstance(top, (sp.Indexed, sp.Symbol)) else sp.Derivative(top, bottom)
    return FUNCTIONS[name](_build(node.args[0], scopes, index_for))
