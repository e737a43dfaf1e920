"""Reports of checked claims and derivations: text, Markdown (math for KaTeX) and JSON.

The context is built here, with every expression already printed for the format (as spec-syntax
text, or as LaTeX); the sentences are in templates/check.j2 and its two report templates.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..numeric.claims import ChainCheck, ClaimCheck, Counterexample, StepCheck, Verdict
from ..model.indices import index_range, make_index, rename_free
from ..model.network import Role
from ..model.partials import Partial, indices_of, tensor_names
from ..printing import latex, name_tex, text
from ..spec.chains import is_latex
from ..spec.claims import Claim
from .environment import environment

FORMATS = {"text": "check.txt.j2", "markdown": "check.md.j2"}
SIGNIFICANT = 4


def report(fmt: str, checked: ChainCheck, network) -> str:
    """The report of a checked derivation, or of one claim, in ``fmt``."""
    math = _MATH[fmt]
    wrong = checked.first_wrong
    context = {
        "single": checked.single,
        "steps": _with_points_named(checked, [_step(step, math, network) for step in checked.steps]),
        "skipped": ", ".join(str(n) for n in checked.skipped),
        "first_wrong_line": None if wrong is None else wrong.line.number,
        "all_right": wrong is None,
    }
    return environment().get_template(FORMATS[fmt]).render(context)


def as_json(checked: ChainCheck, network) -> dict:
    wrong = checked.first_wrong
    return {"all_right": wrong is None,
            "first_wrong_line": None if wrong is None or checked.single else wrong.line.number,
            "skipped_lines": list(checked.skipped),
            "steps": [_step_json(step, network) for step in checked.steps]}


class _Text:
    """Expressions as the spec syntax prints them, the way a claim is written on the command line."""

    NOT_EQUAL = "≠"
    AFTER_ENTRY = ": "

    @staticmethod
    def expr(expr) -> str:
        """As the claim syntax reads it back: a derivative inside an expression is partial(U, X)."""
        partial = sp.Function("partial")
        return text(expr.replace(Partial, lambda u, x: partial(u, x)).replace(
            sp.Derivative, lambda e, *v: partial(e, v[0][0] if isinstance(v[0], sp.Tuple) else v[0])))

    @staticmethod
    def derivative(lhs) -> str:
        return f"d{text(lhs.numerator)}/d{text(lhs.denominator)}"

    @staticmethod
    def name(name: str) -> str:
        return name

    @staticmethod
    def equation(lhs, rhs) -> str:
        return f"{_Text.derivative(lhs)} = {_Text.expr(rhs)}"

    raw_name = name

    @staticmethod
    def index(idx) -> str:
        return idx.name if hasattr(idx, "name") else str(idx)

    @staticmethod
    def array(values) -> str:
        return np.array2string(np.asarray(values, dtype=float), separator=", ", max_line_width=100,
                               formatter={"float_kind": _number})

    @staticmethod
    def number(value: float) -> str:
        return _number(value)

    @staticmethod
    def entry(text_: str) -> str:
        return text_


class _Latex:
    """Expressions as LaTeX, inside $...$ in the Markdown report (values raw: the template puts
    a name and its value into one formula)."""

    NOT_EQUAL = r"\neq"
    AFTER_ENTRY = " "

    @staticmethod
    def expr(expr) -> str:
        return f"${latex(expr)}$"

    @staticmethod
    def derivative(lhs) -> str:
        return f"${latex(lhs)}$"

    @staticmethod
    def name(name: str) -> str:
        return f"${name_tex(name)}$"

    @staticmethod
    def equation(lhs, rhs) -> str:
        return f"$$\n{latex(lhs)} = {latex(rhs)}\n$$"

    @staticmethod
    def raw_name(name: str) -> str:
        return name_tex(name)

    @staticmethod
    def index(idx) -> str:
        return f"${idx.name if hasattr(idx, 'name') else idx}$"

    @staticmethod
    def array(values) -> str:
        values = np.asarray(values, dtype=float)
        if values.ndim == 0:
            return _number(float(values))
        rows = values.reshape(1, -1) if values.ndim == 1 else values.reshape(values.shape[0], -1)
        body = r" \\ ".join(" & ".join(_number(float(v)) for v in row) for row in rows)
        return f"\\begin{{pmatrix}} {body} \\end{{pmatrix}}"

    @staticmethod
    def number(value: float) -> str:
        return f"${_number(value)}$"

    @staticmethod
    def entry(text_: str) -> str:
        return f"${text_}$"


_MATH = {"text": _Text, "markdown": _Latex}


def _number(value: float) -> str:
    if value == 0:
        return "0"
    shown = f"{value:.{SIGNIFICANT}g}"
    return shown.replace("e-0", "e-").replace("e+0", "e+")


def _with_points_named(checked: ChainCheck, shown: list[dict]) -> list[dict]:
    """A counterexample at the same point as one shown before refers to it instead of listing
    the values again."""
    first: dict = {}
    for step, context in zip(checked.steps, shown):
        example = step.check.counterexample
        context["same_point_as"] = None
        if example is None:
            continue
        key = (tuple(example.sizes.items()), tuple((n, v.tobytes()) for n, v in example.values.items()))
        if key in first:
            context["same_point_as"] = first[key]
        else:
            first[key] = step.line.number
    return shown


def _step(step: StepCheck, math, network) -> dict:
    check = step.check
    claim = check.claim
    return {
        "line": step.line.number,
        "side": step.line.side,
        "claim": claim.text,
        "latex": is_latex(claim.text),
        "derivative": math.derivative(claim.lhs),
        "claimed": math.expr(claim.rhs),
        "equation": math.equation(claim.lhs, claim.rhs),
        "right_equation": None if check.right is None else math.equation(claim.lhs, check.right),
        "verdict": str(check.verdict),
        "kind": check.verdict.name.lower(),
        "qualified": check.verdict in (Verdict.ASSUMED, Verdict.DIAGONAL),
        "reading": check.reading,
        "held": [math.name(n) for n in sorted(_other_inputs(network, claim))] if check.reading else [],
        "follows": step.follows,
        "right": None if check.right is None else math.expr(check.right),
        "assumption": None if check.assumption is None else _assumption(check, math, network),
        "cases": None if check.cases is None else _cases(check, math),
        "difference": None if check.difference is None else math.expr(check.difference),
        "diagnosis": [] if check.diagnosis is None else [_mistake(model, check, math)
                                                          for model in check.diagnosis.models],
        "assumed": None if check.diagnosis is None or "assumed" not in check.diagnosis.detail
        else str(check.diagnosis.detail["assumed"]),
        "conflicts": [_conflict(conflict, math) for conflict in claim.conflicts],
        "counterexample": None if check.counterexample is None else _example(check.counterexample, claim, math),
        "points": check.points,
    }


def _other_inputs(network, claim: Claim) -> list[str]:
    """What else the numerator's own equation reads (held fixed in its partial derivative)."""
    layer = network.defining(claim.numerator)
    return [n for n in tensor_names(layer.rhs) if n != claim.denominator
            and network.tensors[n].role not in (Role.CONSTANT,)]


def _assumption(check: ClaimCheck, math, network) -> dict:
    return {"target": math.name(network.target), "index": math.index(network.class_index()),
            "kind": str(check.assumption),
            "declared": {"one_hot": "one-hot", "distribution": "a probability distribution"}.get(
                str(network.targets), str(network.targets))}


def _cases(check: ClaimCheck, math) -> dict:
    apart = _apart(check)
    cases, jacobian = check.cases, apart(check.jacobian)
    out, into = apart(cases.output_index), apart(cases.input_index)
    return {"output_index": math.index(out), "input_index": math.index(into),
            "equal": math.expr(apart(cases.equal)), "different": math.expr(apart(cases.different)),
            "equal_when": math.entry(f"{out.name} = {into.name}"),
            "differ_when": math.entry(f"{out.name} {math.NOT_EQUAL} {into.name}"),
            "jacobian": math.derivative(jacobian), "output": math.expr(jacobian.numerator),
            "variable": math.expr(jacobian.denominator)}


def _apart(check: ClaimCheck):
    """The layer derivative's own indices renamed where the claim uses the letter over another
    range (the claim's j of z1 is not the j of do_k/dz2_j)."""
    if check.jacobian is None:
        return lambda expr: expr
    claim = {i.name: index_range(i) for i in check.claim.order}
    own = list(dict.fromkeys((*indices_of(check.jacobian.numerator), *indices_of(check.jacobian.denominator))))
    fresh = (letter for letter in "klpqruvabcdefgh" if letter not in claim and all(i.name != letter for i in own))
    # a letter over the same range reads as the same index (the class j of w_ij and of z_j)
    clashing = [i for i in own if i.name in claim and claim[i.name] != index_range(i)]
    mapping = {i: make_index(next(fresh), index_range(i)) for i in clashing}

    def renamed(expr):
        return mapping.get(expr, expr) if isinstance(expr, sp.Idx) else rename_free(expr, mapping)
    return renamed


def _mistake(model: str, check: ClaimCheck, math) -> dict:
    detail = check.diagnosis.detail
    shown = {"model": model}
    if model == "diagonal_only":
        shown["jacobian"] = math.derivative(_apart(check)(detail["block"].lhs))
    if model == "divided":
        division = detail["divided"]
        shown.update(gradient=math.derivative(division["gradient"]), by=math.derivative(division["by"]),
                     by_value=math.expr(division["by_value"]), through=math.expr(division["gradient"].denominator))
    if model == "ignored_path":
        shown["quantity"], shown["through"] = math.name(detail["quantity"]), math.name(detail["through"])
    if model == "transposed":
        shown["tensor"] = detail[model]["tensor"] and math.name(detail[model]["tensor"])
    if model == "lost_mean":
        shown["size"] = math.name(str(detail[model]["size"]))
    if model == "wrong_layer":
        shown["taken"], shown["instead_of"] = math.name(detail[model]["taken"]), math.name(detail[model]["instead_of"])
    return shown


def _conflict(conflict, math) -> dict:
    return {"index": math.index(conflict.index),
            "uses": [{"name": math.name(name), "axis": axis + 1, "size": math.name(str(dim))}
                     for name, axis, dim in conflict.uses]}


def _example(example: Counterexample, claim: Claim, math) -> dict:
    values = example.values.items()
    entry = ", ".join(f"{name} = {position + 1}" for name, position in example.entry.items())
    return {"sizes": math.entry(", ".join(f"{name} = {size}" for name, size in example.sizes.items())),
            "values": [{"name": math.raw_name(name), "value": math.array(value)} for name, value in values],
            "at": f"at {math.entry(entry)}{math.AFTER_ENTRY}" if entry else "",
            "claimed": math.number(example.claimed), "true": math.number(example.true)}


def _assumed_text(kind, network) -> str:
    total = f"sum({network.class_index()}, {network.target}[{','.join(network.target_indices())}]) = 1"
    return f"targets are one-hot ({total}, each 0 or 1)" if str(kind) == "one_hot" else total


def _step_json(step: StepCheck, network) -> dict:
    check = step.check
    example = check.counterexample
    return {
        "line": step.line.number,
        "side": step.line.side,
        "claim": check.claim.text,
        "derivative": _Text.derivative(check.claim.lhs),
        "claimed": _Text.expr(check.claim.rhs),
        "verdict": str(check.verdict),
        "follows_from_previous": step.follows,
        "right": None if check.right is None else text(check.right),
        "assumption": None if check.assumption is None else _assumed_text(check.assumption, network),
        "difference": None if check.difference is None else text(check.difference),
        "diagnosis": [] if check.diagnosis is None else list(check.diagnosis.models),
        "counterexample": None if example is None else {
            "sizes": example.sizes, "entry": example.entry, "claimed": example.claimed, "true": example.true,
            "values": {name: np.asarray(v).tolist() for name, v in example.values.items()}},
        "points_compared": check.points,
    }

