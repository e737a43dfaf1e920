"""The rewrites: small named functions ``expr, context -> (new_expr, detail) | None``.

Each rewrite applies everywhere it fits in one go and returns the SymPy objects its reason
talks about (``detail``; ``templates/reasons.j2`` has one macro per rewrite that reads exactly
those keys).  Their order is not here but in ``catalogue.py``.
"""
from __future__ import annotations

import functools
import math
import itertools
from collections import Counter

import sympy as sp

from ..limits import MAX_EXPONENT
from ..model.indices import (NamePool, alpha_normal, free_indices, index_range, make_sum, rename_bound,
                             rename_free)
from ..model.primitives import function as primitive_function
from ..model.primitives import of as primitive_of
from ..model.network import Targets, Layer
from ..model.partials import Abbreviation, Partial, is_unevaluated_product


def rewrite(expr, visit):
    """Rebuild ``expr`` bottom-up, replacing each node by ``visit(node)`` (or keeping it on None);
    an abbreviation's value is fixed, and is not looked into."""
    if expr.args and not isinstance(expr, (sp.Indexed, sp.Idx, Abbreviation)):
        if isinstance(expr, sp.Sum):
            body = rewrite(expr.function, visit)
            node = make_sum(body, *expr.limits) if body is not expr.function else expr
        else:
            args = [rewrite(arg, visit) for arg in expr.args]
            node = expr.func(*args) if args != list(expr.args) else expr
    else:
        node = expr
    replaced = visit(node)
    return node if replaced is None else replaced


def _sum_parts(node):
    """A sum's body and its summation indices (SymPy merges nested sums into one with several)."""
    return node.function, [limit[0] for limit in node.limits]


def _resum(body, limits):
    return make_sum(body, *limits) if limits else body


def _delta_on(factor, idx):
    """The other index of a Kronecker delta on ``idx`` (None if ``factor`` is not one)."""
    if isinstance(factor, sp.KroneckerDelta) and idx in factor.args:
        first, second = factor.args
        other = second if first == idx else first
        return other if other != idx else None
    return None


def cancel(expr, ctx):
    """Multiply the substituted factors together; a factor above and below the line cancels."""
    products = [node for node in sp.preorder_traversal(expr) if is_unevaluated_product(node)]
    if not products:
        return None
    cancelled = []
    for product in products:
        powers = [arg.as_powers_dict() for arg in product.args]
        for base in sorted({b for p in powers for b, e in p.items() if e.is_negative}, key=sp.default_sort_key):
            if any(p.get(base, sp.S.Zero).is_positive for p in powers) and base not in cancelled:
                cancelled.append(base)
    new = rewrite(expr, lambda node: sp.Mul(*node.args) if is_unevaluated_product(node) else None)
    return new, {"factors": cancelled}


def step_is_flat(expr, ctx):
    """d[x > 0]/dx, SymPy's DiracDelta(x), is 0 wherever x != 0: a step is flat away from its edge."""
    steps = sorted(expr.atoms(sp.DiracDelta), key=sp.default_sort_key)
    if not steps:
        return None
    return expr.xreplace({step: sp.S.Zero for step in steps}), {"arguments": [step.args[0] for step in steps]}


def _each(expr, matches, replacement, key: str):
    """Replace every node that ``matches`` by ``replacement(node)``; detail: the nodes replaced."""
    found = []

    def visit(node):
        if matches(node):
            found.append(node)
            return replacement(node)
        return None
    new = rewrite(expr, visit)
    return (new, {key: found}) if found else None


def log_of_exp(expr, ctx):
    """log(e^x) = x."""
    return _each(expr, lambda node: isinstance(node, sp.log) and isinstance(node.args[0], sp.exp),
                 lambda node: node.args[0].args[0], "logs")


def log_of_quotient(expr, ctx):
    """log(a/b) = log a - log b (and log(a b) = log a + log b)."""
    return _each(expr, lambda node: isinstance(node, sp.log) and isinstance(node.args[0], sp.Mul),
                 lambda node: sp.Add(*[f.exp * sp.log(f.base) if isinstance(f, sp.Pow) else sp.log(f)
                                       for f in node.args[0].args]), "logs")


def contract_delta(expr, ctx):
    """Sum_k f_k delta_kj = f_j: the Kronecker delta keeps only the term k = j."""
    pairs = []

    def visit(node):
        if not isinstance(node, sp.Sum):
            return None
        body, indices = _sum_parts(node)
        factors = list(sp.Mul.make_args(body))
        for idx in indices:
            for position, factor in enumerate(factors):
                other = _delta_on(factor, idx)
                if other is not None:
                    if (idx, other) not in pairs:
                        pairs.append((idx, other))
                    rest = factors[:position] + factors[position + 1:]
                    remaining = [limit for limit in node.limits if limit[0] != idx]
                    return _resum(sp.Mul(*rest).xreplace({idx: other}), remaining)
        return None
    new = rewrite(expr, visit)
    return (new, {"pairs": pairs}) if pairs else None


def fold_definition(expr, ctx):
    """Name a layer's output back: e^{z_j} / sum_l e^{z_l} = o_j."""
    named: list[tuple] = []
    present = _base_names(expr)
    layer_names = {layer.output: _base_names(layer.rhs) for layer in ctx.definitions}
    candidates = [layer for layer in ctx.definitions if layer_names[layer.output] <= present]

    def visit(node):
        if isinstance(node, (sp.Indexed, sp.Idx, sp.KroneckerDelta)) or not node.args:
            return None  # a sum is looked at whole: sum_k z_kj is B mu_j, though nothing inside it is
        folded_here = None
        present_here = _base_names(node)
        for layer in candidates:
            if not layer_names[layer.output] <= present_here:
                continue
            current = folded_here if folded_here is not None else node
            outcome = _fold_layer(current, layer) or _fold_into_sum(current, layer)
            if outcome is not None:
                folded_here, instances = outcome
                named.extend(i for i in instances if i not in named)
                present_here = _base_names(folded_here)
        return folded_here
    new = rewrite(expr, visit)
    if not named or new == expr:
        return None
    taken = {i.name for i in free_indices(new)}
    shown = [(output, rename_bound(definition, taken, _FRESH)) for output, definition in named]
    return new, {"definitions": shown}


_FRESH = NamePool("lpqruvabcdefgh")


@functools.lru_cache(maxsize=8192)
def _base_names(expr) -> frozenset[str]:
    return frozenset(str(node.base.label) for node in expr.atoms(sp.Indexed))


def _factor_counter(expr) -> tuple[Counter, dict]:
    """Factors of a product with their powers, compared up to renaming of summation indices.

    e^{a+b} counts as e^a times e^b, since SymPy merges such products.
    """
    counts: Counter = Counter()
    originals: dict = {}

    def add(base, power):
        key = alpha_normal(base)
        originals.setdefault(key, base)
        counts[key] += power

    for base, exponent in expr.as_powers_dict().items():
        if base is sp.E:
            for piece in sp.Add.make_args(exponent):
                times, rest = piece.as_coeff_Mul()  # e^{2 z} is e^{z} squared
                if times.is_Integer and rest != 1:
                    add(sp.exp(rest), times)
                else:
                    add(sp.exp(piece), 1)
        else:
            add(base, exponent)
    return counts, originals


def _fold_layer(node, layer: Layer):
    """The node with every instance of the layer's definition replaced by its output, or None.

    A definition's factors of numbers and sizes need not be there: with mu = sum_k z_k / n,
    sum_k z_k is n mu (a scalar statistic is named back in a sum as well as in a mean)."""
    if isinstance(layer.rhs, (sp.Indexed, sp.Symbol)):
        return None
    counts, originals = _factor_counter(node)
    if not all(sp.S(power).is_Number for power in counts.values()):
        return None
    instances = []
    present = sorted(free_indices(node), key=lambda i: i.name)
    choices = [[v for v in present if v.upper == idx.upper] for idx in layer.indices]
    for values in itertools.product(*choices):
        definition = layer.rhs.xreplace(dict(zip(layer.indices, values)))
        wanted, _ = _factor_counter(definition)
        core = {base: power for base, power in wanted.items() if not _is_size(base)}
        if not core:
            continue
        output = sp.IndexedBase(layer.output)[values] if values else sp.Symbol(layer.output)
        for sign in (1, -1):  # o_j (the definition itself), then 1/o_j (its reciprocal)
            if any(not sp.S(power).is_Number or abs(counts.get(base, 0)) > MAX_EXPONENT * abs(power)
                   for base, power in wanted.items()):
                continue  # x^T, or x^(p-1) of x^p with a tiny p (o^(1/p - 1)): leave such powers alone
            while all(_covers(counts.get(base, 0), sign * power) for base, power in core.items()):
                for base, power in wanted.items():
                    counts[base] -= sign * power
                    originals.setdefault(base, base)
                originals.setdefault(output, output)
                counts[output] += sign
                if (output, definition) not in instances:
                    instances.append((output, definition))
    if not instances:
        return None
    return sp.Mul(*[originals[base] ** power for base, power in counts.items() if power != 0]), instances


def _fold_into_sum(node, layer: Layer):
    """A product whose factors outside a sum make the layer's output with the sum's body:
    sum_l z_l e^{z_l/T} / sum_k e^{z_k/T} = sum_l z_l o_l.  Only the factors used move in; None
    where there are none."""
    if not isinstance(node, sp.Mul):
        return None
    for factor in node.args:
        if not isinstance(factor, sp.Sum):
            continue
        body, indices = _sum_parts(factor)
        outside = [f for f in node.args if f is not factor and not f.is_Number and not set(indices) & free_indices(f)]
        outcome = _fold_layer(body * sp.Mul(*outside), layer) if outside else None
        if outcome is None:
            continue
        folded, instances = outcome
        unused = [f for f in outside if f in sp.Mul.make_args(folded)]
        if len(unused) == len(outside) or not any(index in free_indices(folded) for index in indices):
            continue
        kept_outside = [f for f in node.args if f is not factor and (f not in outside or f in unused)]
        return sp.Mul(*kept_outside) * make_sum(folded / sp.Mul(*unused), *factor.limits), instances
    return None


def _is_size(factor) -> bool:
    """A number, or an index range's size (the n of a mean)."""
    return factor.is_number or (isinstance(factor, sp.Symbol) and factor.is_integer and factor.is_positive)


def _covers(available, needed) -> bool:
    """Does a factor's power hold ``needed`` of it? A fractional power only where it stands as
    such, or in a reciprocal: sqrt(u) is named back in u^{-1/2} and in u^{-1} (the
    (z_j - mu)/(eps + v) of a layer norm is h_j/sqrt(eps + v)), but u itself is not turned into
    a square.  Only numeric powers are compared (x^T holds no definite number of x's)."""
    available, needed = sp.S(available), sp.S(needed)
    if not (available.is_Number and needed.is_Number):
        return False
    if needed.is_integer is False and available.is_integer and not (available < 0 and needed < 0):
        return False
    if needed > 0:
        return available >= needed
    return available <= needed


def fold_sigmoid(expr, ctx):
    """Name the logistic function: e^{u} / (1 + e^{u}) = sigma(u), 1 / (1 + e^{-u}) = sigma(u),
    1 / (1 + e^{u}) = 1 - sigma(u); powers alike (e^{2u} / (1 + e^{u})^2 = sigma(u)^2)."""
    named = []

    def visit(node):  # a product as a whole (bottom-up, its own factors come first), or a term alone
        if isinstance(node, sp.Add):
            terms = [named_in(t) if isinstance(t, sp.Pow) else None for t in node.args]
            return None if all(t is None for t in terms) else \
                sp.Add(*[t if t is not None else a for t, a in zip(terms, node.args)])
        return named_in(node) if isinstance(node, sp.Mul) else None

    def named_in(node):
        factors = list(sp.Mul.make_args(node))
        for n, factor in enumerate(factors):
            base, power = factor.as_base_exp()
            u = _logistic_argument(base)
            if u is None or not (power.is_Integer and power < 0):
                continue
            above = 0
            rest = factors[:n] + factors[n + 1:]
            for m, other in enumerate(rest):
                times = _power_of_exp(other, u)
                if times is not None and 0 < times <= -power:
                    above, rest = times, rest[:m] + rest[m + 1:]
                    break
            named.append(u)
            return sp.Mul(*rest) * _sigmoid(u) ** above * _sigmoid(-u) ** (-power - above)
        return None
    new = rewrite(expr, visit)
    return (new, {"arguments": list(dict.fromkeys(named))}) if named and new != expr else None


def _logistic_argument(base):
    """u where ``base`` is 1 + e^{u}."""
    if isinstance(base, sp.Add) and len(base.args) == 2 and sp.S.One in base.args:
        other = next(a for a in base.args if a != 1)
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def _power_of_exp(factor, u):
    """q where ``factor`` is e^{q u} for a whole q."""
    base, power = factor.as_base_exp()
    if isinstance(factor, sp.exp):
        ratio = sp.simplify(factor.args[0] / u)
        return int(ratio) if ratio.is_Integer else None
    if isinstance(base, sp.exp) and power.is_Integer and base.args[0] == u:
        return int(power)
    return None


def _sigmoid(v):
    """sigma(v), written 1 - sigma(-v) where v has a minus sign: 1/(1 + e^{z}) = 1 - sigma(z)."""
    sigma = primitive_function("sigmoid")
    return 1 - sigma(-v) if v.could_extract_minus_sign() else sigma(v)


def distribute(expr, ctx):
    """Multiply out inside a sum, so each Kronecker delta stands in a term of its own, and a term
    that does not depend on the summation index can leave the sum."""
    changed, reasons = [], []

    def visit(node):
        if not isinstance(node, sp.Sum):
            return None
        body, indices = _sum_parts(node)
        if not isinstance(body, sp.Mul):
            return None
        # only the brackets that hold a delta are multiplied out; the others stay whole, so a
        # product of many brackets is not expanded into exponentially many terms
        with_delta = [f for f in body.args if isinstance(f, sp.Add) and any(
            _delta_on(g, idx) is not None for idx in indices for term in f.args for g in sp.Mul.make_args(term))]
        with_constant = [f for f in body.args if isinstance(f, sp.Add) and any(
            not term.is_Number and not set(indices) & free_indices(term) for term in f.args)]
        holding = with_delta or with_constant
        if not holding:
            return None
        reasons.append("delta" if with_delta else "constant")
        rest = [f for f in body.args if f not in holding]
        whole = sp.Mul(*[f for f in rest if isinstance(f, sp.Add)])
        plain = sp.Mul(*[f for f in rest if not isinstance(f, sp.Add)])
        expanded = sp.Add(*[whole * term for term in sp.Add.make_args(sp.expand_mul(plain * sp.Mul(*holding)))])
        changed.append(node)
        return make_sum(expanded, *node.limits)
    new = rewrite(expr, visit)
    return (new, {"why": "delta" if "delta" in reasons else "constant"}) if changed else None


def split_sum(expr, ctx):
    """The sum of a sum of terms is the sum of their sums."""
    changed = []

    def helps(term, indices):
        factors = sp.Mul.make_args(term)
        return any(_delta_on(f, idx) is not None or (idx not in free_indices(f) and not f.is_Number)
                   for f in factors for idx in indices)

    def visit(node):
        if not isinstance(node, sp.Sum):
            return None
        body, indices = _sum_parts(node)
        if isinstance(body, sp.Add) and any(helps(term, indices) for term in body.args):
            changed.append(node)
            return sp.Add(*[make_sum(term, *node.limits) for term in body.args])
        return None
    new = rewrite(expr, visit)
    return (new, {}) if changed else None


def pull_out_constant(expr, ctx):
    """A factor that does not depend on the summation index moves in front of the sum."""
    return _pulled_out(expr, lambda factor, indices: not set(indices) & free_indices(factor))


def pull_out_scalar(expr, ctx):
    """A factor with no index at all (1/B, a temperature T) moves in front of the sums at once,
    so that it is not carried through every line after."""
    return _pulled_out(expr, lambda factor, indices: not factor.is_Number and not free_indices(factor)
                       and not factor.has(sp.Indexed, sp.Sum))


def _pulled_out(expr, constant_in):
    pulled = []

    def visit(node):
        if not isinstance(node, sp.Sum):
            return None
        body, indices = _sum_parts(node)
        constant = [f for f in sp.Mul.make_args(body) if constant_in(f, indices)]
        if not constant or constant in ([sp.S.One], [sp.S.NegativeOne]):  # a sign is printed outside anyway
            return None
        varying = [f for f in sp.Mul.make_args(body) if f not in constant]
        pulled.append(sp.Mul(*constant))
        return sp.Mul(*constant) * make_sum(sp.Mul(*varying), *node.limits)
    new = rewrite(expr, visit)
    return (new, {"factors": pulled}) if pulled else None


def count_terms(expr, ctx):
    """A sum whose terms do not depend on its index is that many equal terms: sum_k c = n c."""
    counted = []

    def visit(node):
        if not isinstance(node, sp.Sum):
            return None
        body, indices = _sum_parts(node)
        if set(indices) & free_indices(body):
            return None
        counted.extend(indices)
        return body * sp.Mul(*[index_range(idx) for idx in indices])
    new = rewrite(expr, visit)
    return (new, {"indices": counted, "sizes": [index_range(idx) for idx in counted]}) if counted else None


def _distribute_once(expr):
    """Multiply each product's bracket out one level: a(b + c) -> ab + ac (factors cancel as they meet)."""
    def over(factors, position):
        rest = sp.Mul(*factors[:position], *factors[position + 1:])  # by position: (a + b)(a + b) keeps one
        return sp.Add(*[rest * part for part in factors[position].args])

    def one(term):
        """The term multiplied out over the bracket that leaves it shortest (a person multiplies
        o(1 - o)((1 - t)/(1 - o) - t/o) into the fractions first, where factors cancel)."""
        factors = list(sp.Mul.make_args(term))
        brackets = [n for n, f in enumerate(factors) if isinstance(f, sp.Add)]
        if not brackets:
            return term
        return min((over(factors, n) for n in brackets), key=sp.count_ops)
    return sp.Add(*[one(term) for term in sp.Add.make_args(expr)])


def multiply_out(expr, ctx):
    """Multiply out a bracket, or bring fractions over a common denominator, when terms cancel."""
    if not isinstance(expr, (sp.Mul, sp.Add)) or expr.has(sp.Sum, Partial):
        return None
    before = sp.count_ops(expr)
    distributed = _distribute_once(expr)
    if sp.count_ops(distributed) < before:
        return distributed, {"how": "distribute"}
    if not any(power.exp.is_negative for power in expr.atoms(sp.Pow)):
        return None  # no fractions to bring together (and cancel would multiply every bracket out)
    combined = sp.cancel(expr)
    if sp.count_ops(combined) < before and not sp.fraction(combined)[1].has(sp.Add):
        return combined, {"how": "common denominator"}
    return None


def normalized_targets(expr, ctx):
    """Sum_j t_j = 1, because the targets are one-hot (or a probability distribution)."""
    if ctx.target is None:
        return None
    new, sums = _summing_to_one(expr, {ctx.target})
    return (new, {"sums": sums, "target": ctx.target, "kind": ctx.targets}) if sums else None


def outputs_sum_to_one(expr, ctx):
    """sum_k o_k = 1 for a layer whose equation divides each term by the sum of all of them
    (o_j = u_j / sum_k u_k: a softmax, a normalised exponential of any kind), read off the
    equation itself."""
    names = {layer.output for layer in ctx.definitions if _normalised(layer)}
    if not names:
        return None
    new, sums = _summing_to_one(expr, names)
    return (new, {"sums": sums}) if sums else None


def _summing_to_one(expr, names: set[str]) -> tuple:
    """``expr`` with every sum over the last axis (the classes, for each sample) of a quantity
    in ``names`` replaced by 1, and those sums."""
    sums = []

    def visit(node):
        if isinstance(node, sp.Sum):
            body, indices = _sum_parts(node)
            if isinstance(body, sp.Indexed) and str(body.base.label) in names \
                    and body.indices[-1] in indices and body.indices[-1] not in body.indices[:-1]:
                sums.append(make_sum(body, (body.indices[-1], 0, body.indices[-1].upper)))
                return _resum(sp.S.One, [limit for limit in node.limits if limit[0] != body.indices[-1]])
        return None
    return rewrite(expr, visit), sums


@functools.lru_cache(maxsize=256)
def _normalised(layer: Layer) -> bool:
    """Is the layer's equation u_j / sum_k u_k over its last index?"""
    if not layer.indices:
        return False
    last = layer.indices[-1]
    for factor in sp.Mul.make_args(layer.rhs):
        base, power = factor.as_base_exp()
        if power == -1 and isinstance(base, sp.Sum) and len(base.limits) == 1:
            dummy = base.limits[0][0]
            if index_range(dummy) == index_range(last) and \
                    sp.simplify(layer.rhs * base - base.function.xreplace({dummy: last})) == 0:
                return True
    return False


def true_class(expr, ctx):
    """One-hot targets: t_j is 0 except at the true class, so f_j t_j = (sum_k f_k t_k) t_j, the
    f of the true class, wherever that sum stands in the expression too (the class weight of
    relu-class-weights: o_j sum_k c_k t_k - c_j t_j becomes (sum_k c_k t_k)(o_j - t_j))."""
    if ctx.target is None or ctx.targets != Targets.ONE_HOT:
        return None
    weights = []
    for total in sorted(expr.atoms(sp.Sum), key=sp.default_sort_key):
        body, indices = _sum_parts(total)
        targets = [f for f in sp.Mul.make_args(body) if isinstance(f, sp.Indexed) and str(f.base.label) == ctx.target]
        if len(indices) != 1 or len(targets) != 1 or targets[0].indices[-1] != indices[0]:
            continue
        k, target = indices[0], targets[0]
        weight = sp.Mul(*[f for f in sp.Mul.make_args(body) if f is not target])
        if weight == 1 or ctx.target in {str(q.base.label) for q in weight.atoms(sp.Indexed)}:
            continue
        weights.append((total, k, target, weight))
    for total, k, target, weight in weights:
        for term in sorted((t for a in expr.atoms(sp.Add) for t in a.args), key=sp.default_sort_key):
            for factor in sp.Mul.make_args(term):
                if isinstance(factor, sp.Indexed) and factor.base == target.base and factor.indices[-1] != k \
                        and factor.indices[:-1] == target.indices[:-1]:
                    own = weight.xreplace({k: factor.indices[-1]})  # c_j of c_j t_j
                    if _has_factor(term, own):
                        return expr.xreplace({term: term / own * total}), {"weights": [total], "target": ctx.target}
    return None


def _has_factor(term, factor) -> bool:
    return all(f in sp.Mul.make_args(term) for f in sp.Mul.make_args(factor))


def combine_powers(expr, ctx):
    """Powers of one base multiply by adding their exponents: x^g / x = x^(g - 1)."""
    combined = []

    def visit(node):
        if not isinstance(node, sp.Mul):
            return None
        exponents: dict = {}
        for factor in node.args:
            base, exponent = factor.as_base_exp()
            exponents.setdefault(base, []).append(exponent)
        together = [base for base, found in exponents.items()
                    if len(found) > 1 and any(not e.is_Number for e in found)]
        if not together:
            return None
        combined.extend(together)
        rest = [f for f in node.args if f.as_base_exp()[0] not in together]
        return sp.Mul(*rest, *[base ** sp.Add(*exponents[base]) for base in together])
    new = rewrite(expr, visit)
    return (new, {"bases": combined}) if combined and new != expr else None


def common_factor(expr, ctx):
    """Take a factor common to every term out of the bracket."""
    pulled = []

    def visit(node):
        if not isinstance(node, sp.Add):
            return None
        counters = [Counter(_plain_factors(term)) for term in node.args]
        common = counters[0]
        for counter in counters[1:]:
            common &= counter
        if not common:
            return None
        factor = sp.Mul(*[base ** (sign * count) for (base, sign), count in common.items()])
        pulled.append(factor)
        return factor * sp.Add(*[term / factor for term in node.args])
    new = rewrite(expr, visit)
    return (new, {"factors": pulled}) if pulled and new != expr else None


def common_number(expr, ctx):
    """A whole number common to a bracket's terms, taken out in front of it where the bracket
    is one factor of several: (2 z_j - 2 mu)/n = 2 (z_j - mu)/n, so that it cancels against a
    fraction the product meets later (no 2 left above and below the line)."""
    taken = []

    def visit(node):
        if not isinstance(node, sp.Mul) or len([f for f in node.args if not f.is_number]) < 2:
            return None  # SymPy multiplies a lone number into a bracket again
        for n, factor in enumerate(node.args):
            if isinstance(factor, sp.Add) and (number := _common_number(factor)) > 1:
                taken.append(number)
                reduced = sp.Add(*[term / number for term in factor.args])
                # that factor alone: a copy of the bracket inside another factor (e^{2a+2b}) stays
                return number * sp.Mul(*node.args[:n], reduced, *node.args[n + 1:])
        return None
    new = rewrite(expr, visit)
    return (new, {"numbers": taken}) if taken and new != expr else None


def name_error(expr, ctx):
    """A gradient's value that the substitutions have put in more than once is called by its
    name, dE/dh_j for h_j - t_j, as a person writes g = dE/dh once and uses g."""
    for lhs, value, key in ctx.errors:
        if isinstance(value.as_coeff_Mul()[1], (sp.Indexed, sp.Symbol)):  # a name is no shorter than -t_j
            continue
        new, times = called_by_name(expr, lhs, value)
        if times > 1:
            return new, {"error": lhs, "value": value, "block": key, "times": times}
    return None


ABBREVIATIONS = "ugcrpqkm"  # the letters an abbreviation may take, the first free one first


def abbreviate(expr, ctx):
    """A sub-expression the result repeats that is no quantity and no error (a function of a
    compound argument, a sum) gets a name of its own, u_j for tanh(...), written once beside the
    result; the longest such sub-expression first."""
    for name, value in ctx.abbreviations:  # the same sub-expression has the same name in every result
        new, times = called_by_name(expr, Abbreviation(name, value), value)
        if times > 1:
            return new, {"name": name, "value": value, "times": times}
    given = [name for name, _ in ctx.abbreviations] + [a.name for a in expr.atoms(Abbreviation)]
    taken = set(ctx.names) | {str(name.base.label) if isinstance(name, sp.Indexed) else name.name for name in given}
    letter = next((c for c in ABBREVIATIONS if c not in taken), None)
    if letter is None:
        return None
    candidates = sorted({node for node in _outside_abbreviations(expr) if _worth_a_name(node)},
                        key=lambda node: (-sp.count_ops(node), sp.default_sort_key(node)))
    for value in candidates:
        indices = sorted(free_indices(value), key=lambda i: i.name)
        name = sp.IndexedBase(letter)[tuple(indices)] if indices else sp.Symbol(letter)
        new, times = called_by_name(expr, Abbreviation(name, value), value)
        if times > 1:
            return new, {"name": name, "value": value, "times": times}
    return None


def _outside_abbreviations(expr):
    yield expr
    if not isinstance(expr, Abbreviation):
        for arg in expr.args:
            yield from _outside_abbreviations(arg)


def _worth_a_name(node) -> bool:
    """A function of more than a single quantity (tanh(0.8 z_j (1 + 0.04 z_j^2)), not e^{z_j}), or
    a sum of more than one factor, outside any named error or abbreviation."""
    if isinstance(node, (Partial, Abbreviation)) or node.has(Partial, Abbreviation) or sp.count_ops(node) < 3:
        return False
    if isinstance(node, sp.Sum):
        return isinstance(node.function, (sp.Mul, sp.Add))
    if isinstance(node, sp.Pow):  # sqrt(v + eps)
        return not node.exp.is_Integer and not isinstance(node.base, (sp.Indexed, sp.Symbol))
    argument = node.args[0] if primitive_of(node) is not None and node.args else None
    return argument is not None and not isinstance(argument, (sp.Indexed, sp.Symbol))


def called_by_name(expr, lhs, value) -> tuple[sp.Expr, int]:
    """``expr`` with every appearance of ``value`` replaced by ``lhs`` (both renamed alike), and how many there were."""
    found: list = []
    return rewrite(expr, lambda node: _called(node, lhs, value, found)), len(found)


def _called(node, lhs, value, found: list):
    """``node`` with ``value`` in it (its free indices renamed to some of the node's, its terms
    or factors among the node's, perhaps negated) replaced by ``lhs`` renamed alike; None if absent."""
    if isinstance(node, (sp.Indexed, sp.Idx, Partial, Abbreviation)) or not node.args:
        return None
    own = sorted(free_indices(value), key=str)
    here = sorted(free_indices(node), key=str)
    for targets in itertools.permutations(here, len(own)):
        if any(index_range(a) != index_range(b) for a, b in zip(own, targets)):
            continue
        mapping = dict(zip(own, targets))
        renamed, name = rename_free(value, mapping), rename_free(lhs, mapping)
        for sign in (1, -1):
            rest = _without(node, sign * renamed)
            if rest is not None:
                found.append(node)
                return node.func(*rest, sign * name) if rest else sign * name
    return None


def _without(node, part):
    """The arguments of ``node`` left when ``part`` is taken out of them (all of them: ``[]``), as a
    whole or, where both are sums or products, term by term; None where ``part`` is not in ``node``."""
    if alpha_normal(node) == alpha_normal(part):
        return []
    if type(node) is not type(part) or not isinstance(node, (sp.Add, sp.Mul)):
        return None
    rest, normals = list(node.args), [alpha_normal(arg) for arg in node.args]
    for arg in part.args:
        normal = alpha_normal(arg)
        if normal not in normals:
            return None
        position = normals.index(normal)
        del rest[position], normals[position]
    return rest


def _common_number(node: sp.Add) -> sp.Integer:
    """The whole number every term is a multiple of (2 of 2 z_j - 2 mu), or 1."""
    coefficients = [term.as_coeff_Mul()[0] for term in node.args]
    if not all(c.is_Integer for c in coefficients):
        return sp.S.One
    return sp.Integer(functools.reduce(math.gcd, (abs(int(c)) for c in coefficients)))


def _plain_factors(term):
    """(base, +1 or -1) once per unit of rational power: x**2/y gives (x, 1), (x, 1), (y, -1), and
    1/sqrt(v + eps) gives (sqrt(v + eps), -1)."""
    for base, power in term.as_powers_dict().items():
        if base.is_Number or not power.is_Rational:
            continue
        unit = base ** sp.Rational(1, power.q)
        for _ in range(abs(int(power.p))):
            yield unit, (1 if power > 0 else -1)


