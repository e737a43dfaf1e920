"""Indices: ranged ``Idx`` objects, sums over them, fresh names, renaming without capture.

Every index carries its range (``Idx(j, n)`` runs over 0 .. n - 1), so Kronecker deltas and
sums never need Piecewise range guards.
"""
from __future__ import annotations

import functools
import itertools
from typing import Iterator

import sympy as sp
from sympy.core.sorting import default_sort_key


class NamePool:
    """Index (or dimension) names in order of preference, then numbered ones, without end.

    ``NamePool("klpq", stem="i")`` gives k, l, p, q, i1, i2, ...; names in ``exclude`` are
    skipped.  Iterating starts again from the front each time.
    """

    def __init__(self, preferred, stem: str = "i", exclude=()):
        self.preferred, self.stem, self.exclude = tuple(preferred), stem, frozenset(exclude)

    def __iter__(self) -> Iterator[str]:
        numbered = (f"{self.stem}{k}" for k in itertools.count(1))
        return (name for name in itertools.chain(self.preferred, numbered) if name not in self.exclude)

    def first_free(self, taken) -> str:
        return next(name for name in self if name not in taken)

    def without(self, names) -> "NamePool":
        return NamePool(self.preferred, self.stem, self.exclude | set(names))


@functools.lru_cache(maxsize=None)
def make_index(name: str, dim: sp.Symbol) -> sp.Idx:
    """The index ``name`` over ``dim``, one object for each (name, dim): equal indices are then
    the same object, which keeps dictionary lookups keyed by them cheap."""
    return sp.Idx(sp.Symbol(name, integer=True), dim)


def index_range(idx: sp.Idx) -> sp.Expr:
    """The dimension an index runs over (its upper bound is dim - 1)."""
    return idx.upper + 1


def make_sum(function, *limits):
    """``sp.Sum(function, *limits)``, the same object, built in time independent of the body's size.

    SymPy's constructor also looks through the whole body for Piecewise functions to fold (index
    notation has none); for the long written-out sums of deep networks that dominated the time.
    Nested sums merge into one with several limits, as SymPy's do.
    """
    function = sp.sympify(function)
    limits = [limit if isinstance(limit, sp.Tuple) else sp.Tuple(*limit) for limit in limits]
    while type(function) is sp.Sum:
        limits = [*function.limits, *limits]
        function = function.function
    if not limits:
        return sp.Sum(function, *limits)
    total = sp.Expr.__new__(sp.Sum)
    total._args = (function, *limits)
    total.is_commutative = function.is_commutative
    return total


def replace_indices(expr, mapping: dict):
    """``expr.xreplace(mapping)`` for a mapping of indices, rebuilding sums with make_sum."""
    if not mapping:
        return expr
    if isinstance(expr, sp.Idx):
        return mapping.get(expr, expr)
    if not expr.args:
        return expr
    args = [replace_indices(arg, mapping) for arg in expr.args]
    if all(new is old for new, old in zip(args, expr.args)):
        return expr
    if isinstance(expr, sp.Sum):
        return make_sum(args[0], *args[1:])
    return expr.func(*args)


def summation(body, idx: sp.Idx):
    return make_sum(body, (idx, 0, idx.upper))


def bound_indices(expr) -> set[sp.Idx]:
    return {limit[0] for s in expr.atoms(sp.Sum) for limit in s.limits}


@functools.lru_cache(maxsize=16384)
def free_indices(expr) -> frozenset[sp.Idx]:
    """The indices an expression leaves free (not summed over); cheaper than SymPy's free_symbols,
    which rebuilds every Sum it meets."""
    if isinstance(expr, sp.Idx):
        return frozenset({expr})
    if isinstance(expr, sp.Sum):
        return free_indices(expr.function) - {limit[0] for limit in expr.limits}
    return frozenset().union(*(free_indices(arg) for arg in expr.args))


def index_names(exprs) -> set[str]:
    """Every index name, free or summed, that the expressions use."""
    return set().union(*(_index_names(expr) for expr in exprs))


@functools.lru_cache(maxsize=16384)
def _index_names(expr) -> frozenset[str]:
    if isinstance(expr, sp.Idx):
        return frozenset({expr.name})
    return frozenset().union(*(_index_names(arg) for arg in expr.args))


def rename_bound(expr, taken: set[str], pool):
    """Rename every summation index whose name is in ``taken`` to a fresh name from ``pool``
    (a NamePool, or a function from an index's range to one).

    Keeps sums readable (no index means two things) when an expression is moved into a
    context that already uses some index names.
    """
    taken = set(taken)

    def visit(node):
        if isinstance(node, sp.Sum):
            body = visit(node.function)
            limits, changed = [], body is not node.function
            for idx, lo, hi in node.limits:
                if idx.name in taken:
                    used = taken | index_names([body]) | {limit[0].name for limit in node.limits}
                    names = pool(index_range(idx)) if callable(pool) else pool
                    fresh = make_index(names.first_free(used), index_range(idx))
                    body = replace_indices(body, {idx: fresh})
                    idx, changed = fresh, True
                taken.add(idx.name)
                limits.append((idx, lo, idx.upper))
            return make_sum(body, *limits) if changed else node
        if node.args and not isinstance(node, (sp.Indexed, sp.Idx)):
            args = [visit(a) for a in node.args]
            return node.func(*args) if any(a is not b for a, b in zip(args, node.args)) else node
        return node

    return visit(expr)


def reletter_bound(expr, taken: set[str], pool):
    """Every summation index renamed, outermost first, to the first name of ``pool`` (as for
    rename_bound) that neither ``taken``, the expression's free indices nor an enclosing sum uses:
    an expression moved into a context reads with its sums lettered in reading order."""
    outside = set(taken) | {idx.name for idx in free_indices(expr)}

    def visit(node, renamed: dict):  # renamed: each enclosing sum's index, to its new name
        if isinstance(node, sp.Idx):
            return renamed.get(node, node)
        if isinstance(node, sp.Sum):
            renamed, limits = dict(renamed), []
            for idx, lo, hi in node.limits:
                names = pool(index_range(idx)) if callable(pool) else pool
                used = outside | {new.name for new in renamed.values()}
                renamed[idx] = make_index(names.first_free(used), index_range(idx))
                limits.append((renamed[idx], lo, renamed[idx].upper))
            return make_sum(visit(node.function, renamed), *limits)
        if not node.args or not renamed and not node.has(sp.Sum):
            return node
        args = [visit(a, renamed) for a in node.args]
        return node.func(*args) if any(a is not b for a, b in zip(args, node.args)) else node

    return visit(expr, {})


def rename_symbols(expr, mapping: dict):
    """``expr.xreplace(mapping)`` for a one-to-one renaming of symbols that keeps assumptions.

    A Kronecker delta is put back in SymPy's order without being evaluated again: evaluating
    asks SymPy's assumptions whether its two indices could be equal (over a millisecond each),
    and a renaming cannot change the answer."""
    done: dict = {}

    def visit(node):
        if node in mapping:
            return mapping[node]
        if not node.args:
            return node
        if node not in done:
            args = [visit(arg) for arg in node.args]
            if all(new is old for new, old in zip(args, node.args)):
                done[node] = node
            elif isinstance(node, sp.KroneckerDelta) and len(args) == 2:
                first, second = sorted(args, key=default_sort_key)
                done[node] = sp.KroneckerDelta(first, second, evaluate=False)
            elif isinstance(node, sp.Sum):
                done[node] = make_sum(args[0], *args[1:])
            elif isinstance(node, sp.Idx) and args[1][0] == 0 and \
                    (shared := make_index(args[0].name, args[1][1] + 1)) == node.func(*args):
                done[node] = shared  # the one object of that index, which keeps lookups keyed by it cheap
            else:
                done[node] = node.func(*args)
        return done[node]

    return visit(expr)


def rename_free(expr, mapping: dict):
    """Rename several indices at once (j -> k and k -> j must not collide)."""
    mapping = {old: new for old, new in mapping.items() if old != new}
    if not mapping:
        return expr
    if not set(mapping.values()) & set(mapping):  # no chain j -> k -> ...: one pass will do
        return replace_indices(expr, mapping)
    temporary = {old: sp.Idx(sp.Dummy(old.name, integer=True), old.upper + 1) for old in mapping}
    expr = replace_indices(expr, temporary)
    return replace_indices(expr, {temporary[old]: new for old, new in mapping.items()})


@functools.lru_cache(maxsize=8192)
def alpha_normal(expr):
    """The expression with summation indices renamed by position, for comparison up to renaming."""
    if not expr.has(sp.Sum):
        return expr
    counter = itertools.count()

    def visit(node):
        if isinstance(node, sp.Sum):
            body, limits = node.function, []
            for idx, lo, hi in node.limits:
                canon = sp.Idx(sp.Symbol(f"_d{next(counter)}", integer=True), index_range(idx))
                body = body.xreplace({idx: canon})
                limits.append((canon, lo, hi))
            return make_sum(visit(body), *limits)
        if node.args and not isinstance(node, (sp.Indexed, sp.Idx)):
            return node.func(*[visit(a) for a in node.args])
        return node

    return visit(expr)


def up_to_names(expr) -> tuple[tuple, tuple[sp.Symbol, ...]]:
    """``expr`` up to the names in it, and those names: a key in which every symbol (of a tensor,
    an index, a range, a constant) stands as its place in order of first appearance, with its
    assumptions.  Two expressions with equal keys differ only by a renaming: ``zip`` their names.
    A key is a nested tuple, built without making a single SymPy object."""
    names: dict[sp.Symbol, tuple] = {}  # each symbol's key

    def key(node):
        if isinstance(node, sp.Symbol):
            if node not in names:
                names[node] = ("symbol", len(names), type(node).__name__, tuple(sorted(node.assumptions0.items())))
            return names[node]
        if not node.args:
            return (type(node).__name__, node._hashable_content())
        return (type(node).__name__, *(key(arg) for arg in node.args))

    form = key(expr)
    return form, tuple(names)
