"""The document context: everything the templates show, as plain strings, lists and numbers.

Every formula is printed to TeX here (``derive.printing``); wording and layout live in the
templates (``templates/``), each step's reason in the macro named after its step kind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import jinja2
import numpy as np
import sympy as sp

from ..engine import Block, BlockKey, Engine, Gradient
from ..engine.cases import JacobianCases
from ..engine.mistakes import Mistake
from ..engine.worked import WorkedExample
from ..matrix import in_layout, matrix_form
from ..model.indices import make_sum, replace_indices
from ..model.network import Layer, Layout, Network, Role
from ..model.partials import Partial, indices_of, name_of
from ..model.primitives import PRIMITIVES, Primitive
from ..model.primitives import of as primitive_of
from ..numeric.mistakes import Counterexample
from ..numeric.verify import Report
from ..numeric.worked import WorkedChecked
from ..rules.catalogue import TARGET_ASSUMPTIONS
from ..printing import latex, latex_inline, matrix_latex, matrix_name_tex, name_tex
from ..printing.names import error_tex
from .environment import environment, tex_width
from .formats import TEMPLATES

SECTIONS = ("network", "steps", "results", "matrix")


@dataclass(frozen=True)
class Presentation:
    """How much of a derivation to show, and how it sits in its page.

    ``show``: the sections, in document order (the verification paragraph is always there).
    ``standalone``: a document of its own (title, tagline) or a part of someone else's page;
    ``level``: the heading level of its sections (2: below a page's title).
    ``reference``: what an equation number is written as, given the block's number (a doc
    builder numbers equations itself).  ``label``: the prefix of equation labels, where a
    format has them (default: the network's slug).
    """

    show: tuple[str, ...] = SECTIONS
    standalone: bool = True
    level: int = 2
    reference: Callable[[int], str] = str
    label: str | None = None


def render(fmt: str, engine: Engine, names: list[str], report: Report, layout: Layout,
           presentation: Presentation = Presentation()) -> str:
    return render_page(fmt, page(engine, names, layout, presentation), report)


def render_page(fmt: str, unchecked: "Page", report: Report) -> str:
    """The document in ``fmt``: the page, with what the verification found."""
    return load_template(fmt).render(**checked(unchecked, report))


def load_template(fmt: str) -> jinja2.Template:
    """The template of ``fmt``, compiled on first use (a good thing to do while checks run)."""
    return environment().get_template(TEMPLATES[fmt])


@dataclass(frozen=True)
class Page:
    """Everything a document shows except what its verification found (which can be worked
    out beside it): the context, and the number each block is shown with."""

    network: Network
    context: dict
    numbers: dict
    presentation: Presentation


def page(engine: Engine, names: list[str], layout: Layout, presentation: Presentation = Presentation()) -> Page:
    """Everything the templates show but the checks, as strings and lists."""
    network = engine.network
    gradients = [engine.gradient_of(name) for name in names]
    blocks = engine.blocks_for(names)
    numbers = {block.key: presentation.reference(n) for n, block in enumerate(blocks, start=1)}
    return Page(network, {
        "show": presentation.show,
        "standalone": presentation.standalone,
        "level": presentation.level,
        "label": presentation.label or network.slug,
        "title": network.title,
        "equations": [_equation(layer) for layer in network.equations],
        "quantities": [_quantity(t) for t in network.tensors.values() if t.role != Role.LOSS],
        "loss": latex(network.loss.lhs),
        "targets": _targets(network, blocks),
        "conventions": _conventions(network),
        "log_sum_exp": _log_sum_exp(network),
        "blocks": [_block(block, numbers, n, engine.jacobian_cases(block))
                   for n, block in enumerate(blocks, start=1)],
        "worked": _worked(engine.worked_example(names), numbers, network.targets)
        if "steps" in presentation.show else None,
        "results": [_result(gradient, numbers) for gradient in gradients],
        "where": _where(gradients, numbers),
        "matrix": _matrix_forms(engine, gradients, layout),
        "batch": _batch(network),
        "graph": _graph(network, names),
    }, numbers, presentation)


def checked(unchecked: Page, report: Report) -> dict:
    """The page's context with what the verification found: the mistakes shown with their
    counterexamples, the backward recursion as checked, the verification paragraph."""
    context, numbers = dict(unchecked.context), unchecked.numbers
    mistakes = [_mistake(mistake, example, numbers) for mistake, example in report.mistakes] \
        if "steps" in unchecked.presentation.show else []  # shown after the steps they are a shortcut of
    matrix = dict(context["matrix"])
    denominator = matrix["layout"] == Layout.DENOMINATOR
    matrix["recursion"] = _recursion(unchecked.network, report.recursion) if denominator else []
    shown = " ".join(row["tex"] or "" for row in [*matrix["rows"], *matrix["forward"], *matrix["recursion"]])
    matrix["symbols"] = [(symbol, meaning) for symbol, meaning, used in _MATRIX_SYMBOLS if used(shown)]
    worked = context["worked"] and {**context["worked"],
                                    "numbers": _worked_numbers(unchecked.network, context["worked"], report.worked)}
    return {**context, "matrix": matrix, "mistakes": mistakes, "worked": worked,
            "verification": _verification(report, len(mistakes))}


def _graph(network: Network, names: list[str]) -> dict:
    """The computational graph: each quantity a node, each layer's inputs an edge to its output,
    laid out in columns by depth (a quantity no layer computes stands just before its first
    use); the edges a requested gradient flows back along are marked."""
    depth: dict[str, int] = {}
    for layer in network.equations:
        used = [name for name in network.tensors if layer.uses(name)]
        depth[layer.output] = 1 + max((depth.get(name, 0) for name in used), default=0)
        for name in used:
            depth.setdefault(name, depth[layer.output] - 1)
    order = list(network.tensors)
    place = {Role.PARAMETER: 1, Role.TARGET: 2, Role.CONSTANT: 2}  # the path of the data first, on one row

    def position(item):
        name, column = item
        tensor = network.tensors.get(name)
        return column, place.get(tensor.role, 0) if tensor is not None else 0, order.index(name) if name in order else 0
    rows: dict[int, int] = {}
    nodes = []
    for number, (name, column) in enumerate(sorted(depth.items(), key=position)):
        rows[column] = rows.get(column, -1) + 1
        tensor = network.tensors.get(name)
        symbol = _quantity(tensor)["symbol"] if tensor is not None and tensor.role != Role.LOSS else name_tex(name)
        nodes.append({"id": f"n{number}", "name": name, "tex": symbol, "x": column, "y": -rows[column]})
    ids = {node["name"]: node["id"] for node in nodes}
    reaches = set(names)  # what a requested variable reaches: gradients flow back along those edges
    edges = []
    for layer in network.equations:
        for name in (n for n in network.tensors if layer.uses(n)):
            back = name in reaches
            edges.append({"source": ids[name], "target": ids[layer.output], "backward": back})
        if any(layer.uses(name) for name in reaches):
            reaches.add(layer.output)
    return {"nodes": nodes, "edges": edges}


def _batch(network: Network) -> dict | None:
    if network.batch is None:
        return None
    return {"size": network.batch.size, "reduction": network.batch.reduction, "index": network.sample_index}


def _shape_tex(shape) -> str:
    return r" \times ".join(str(d) for d in shape) if shape else "1"


def _matrix_forms(engine: Engine, gradients: list[Gradient], layout: Layout) -> dict:
    """Each result in matrix notation, in the network's layout, with its shape."""
    network = engine.network
    rows = []
    for gradient in gradients:
        tensor = network.tensors[gradient.wrt]
        variable = matrix_name_tex(gradient.wrt, len(tensor.dims))
        denominator = matrix_form(gradient.result, gradient.indices)
        node = None if denominator is None else in_layout(denominator, layout)
        rows.append({
            "lhs": rf"\frac{{\partial {latex(network.loss.lhs)}}}{{\partial {variable}}}",
            "tex": None if node is None else matrix_latex(node),
            "shape": _shape_tex(network.gradient_shape(gradient.wrt, layout)),
            "variable": variable,
            "rank": len(tensor.dims),
            "differential": None if denominator is None else matrix_latex(denominator),
        })
    quantities = [{"symbol": matrix_name_tex(t.name, len(t.dims)), "shape": _shape_tex(t.dims), "rank": len(t.dims)}
                  for t in network.tensors.values() if t.role != Role.LOSS and t.dims]
    forward = []
    for layer in network.equations:
        node = matrix_form(layer.rhs, layer.indices)
        rank = len(layer.indices)
        forward.append({"lhs": matrix_name_tex(layer.output, rank) if rank else name_tex(layer.output),
                        "tex": None if node is None else matrix_latex(node)})
    return {"layout": layout, "rows": rows, "quantities": quantities, "differential": network.differential,
            "forward": forward}


# what the matrix forms' symbols mean, said only in documents whose matrix forms use them
_MATRIX_SYMBOLS = (
    (r"$\odot$", "multiplies element by element", lambda tex: r"\odot" in tex),
    (r"$\oslash$", "divides element by element", lambda tex: r"\oslash" in tex),
    (r"$\mathbf{1}$", "is the vector of ones", lambda tex: r"\mathbf{1}" in tex),
    ("a function of a vector", "acts on each element",
     lambda tex: any(p.matrix_tex.split("{x}")[0] in tex for p in PRIMITIVES if p.matrix_tex)),
)


def _recursion(network: Network, recursion) -> list[dict]:
    """The backward recursion as verified (matrix/recursion.py): each error, then each gradient
    through them."""
    lines = []
    for name, node in recursion:
        rank = len(network.tensors[name].dims)
        is_error = isinstance(network.defining(name), Layer) and network.defining(name).kind == "affine"
        lines.append({"lhs": error_tex(name) if is_error else
                      rf"\frac{{\partial {latex(network.loss.lhs)}}}{{\partial {matrix_name_tex(name, rank)}}}",
                      "tex": matrix_latex(node), "error": is_error,
                      "gradient": rf"\partial {latex(network.loss.lhs)}/\partial {matrix_name_tex(name, rank)}"})
    return lines


def _equation(layer: Layer) -> dict:
    return {"kind": layer.kind.replace("_", " "), "lhs": latex(layer.lhs), "rhs": latex(layer.rhs)}


def _quantity(tensor) -> dict:
    dims = [str(d) for d in tensor.dims]
    indices = "".join(tensor.natural_indices) if all(len(i) == 1 for i in tensor.natural_indices) \
        else ",".join(tensor.natural_indices)
    symbol = f"{name_tex(tensor.name)}_{{{indices}}}" if indices else name_tex(tensor.name)
    return {"symbol": symbol, "name": name_tex(tensor.name), "role": tensor.role,
            "shape": r" \times ".join(dims)}


def _conventions(network: Network) -> list[str]:
    """The conventions of the functions the network's equations use (relu'(0) = 0)."""
    used = {primitive_of(node) for layer in network.equations for node in sp.preorder_traversal(layer.rhs)}
    return [p.convention for p in PRIMITIVES if p in used and p.convention]


def _log_sum_exp(network: Network) -> dict | None:
    """Where an equation takes log sum_k e^{x_k} (log-softmax, say): the form code computes it in,
    c + log sum_k e^{x_k - c} with c = max_k x_k, which is equal and never overflows."""
    for layer in network.equations:
        for node in sp.preorder_traversal(layer.rhs):
            if isinstance(node, sp.log) and isinstance(node.args[0], sp.Sum) \
                    and isinstance(node.args[0].function, sp.exp):
                total = node.args[0]
                taken = set(network.tensors) | {str(d) for d in network.dimensions}
                shift = sp.Symbol(next(letter for letter in ("c", "a", "q", "u") if letter not in taken))
                argument, (idx, *_) = total.function.args[0], total.limits[0]
                shifted = sp.log(make_sum(sp.exp(argument - shift), *total.limits))
                return {"tex": latex(node), "shifted": latex(shift + shifted), "shift": latex(shift),
                        "max": rf"\max_{{{latex(idx)}}} {latex(argument)}"}
    return None


def _targets(network: Network, blocks: list[Block]) -> dict | None:
    if network.target is None:
        return None
    subscript = "".join(network.target_indices())
    relying = {kind.name for kind in TARGET_ASSUMPTIONS}
    used = any(step.rule in relying for block in blocks for step in block.steps)
    return {"name": name_tex(network.target), "kind": network.targets, "used": used,
            "sum": rf"\sum_{{{network.class_index()}}} {name_tex(network.target)}_{{{subscript}}}"}


def _block(block: Block, numbers: dict, position: int, cases: JacobianCases | None) -> dict:
    heading = {"kind": block.kind, "lhs": latex(block.lhs), "inline": latex_inline(block.lhs),
               "wrt": latex(block.lhs.denominator)}
    if block.layer is not None:
        heading["layer"] = block.layer.kind.replace("_", " ")
    return {
        "number": numbers[block.key],
        "position": position,
        "cases": None if cases is None else _cases(block, cases),
        "heading": heading,
        "lhs": latex(block.lhs),
        "steps": (steps := [_step(step, numbers) for step in block.steps]),
        "widest": max(tex_width(line) for step in steps for line in step["lines"]),
    }


WIDE = 160  # characters of TeX: a line this long is broken before a + or - (in LaTeX, where a page ends)


def _step(step, numbers: dict) -> dict:
    tex = latex(step.expr)
    return {"tex": tex, "rule": step.rule, "detail": _detail(step.detail, numbers), "lines": _lines(tex)}


def _lines(tex: str) -> list[str]:
    """A long line as two, broken before the + or - nearest its middle: at the top level, or
    else inside its one outermost bracket, which then becomes \\Bigl( ... \\Bigr) (a \\left
    cannot open on one line and close on the next)."""
    if len(tex) <= WIDE:
        return [tex]
    stack, top, inside = [], [], {}  # inside: \left position -> its breaks, and its \right
    for at, ch in enumerate(tex):
        if tex.startswith(r"\left", at):
            stack.append(at)
        elif tex.startswith(r"\right", at):
            opened = stack.pop()
            if opened in inside:
                inside[opened]["end"] = at
        elif ch == "{":
            stack.append(None)
        elif ch == "}":
            stack.pop()
        elif ch in "+-" and tex[at - 1:at] == " " and tex[at + 1:at + 2] == " ":
            if not stack:
                top.append(at)
            elif len(stack) == 1 and stack[0] is not None:
                inside.setdefault(stack[0], {"breaks": []})["breaks"].append(at)
    middle = len(tex) / 2
    if top:
        at = min(top, key=lambda b: abs(b - middle))
        return [tex[:at].rstrip(), tex[at:]]
    groups = [(opened, group) for opened, group in inside.items() if "end" in group]
    if not groups:
        return [tex]
    opened, group = max(groups, key=lambda item: item[1]["end"] - item[0])
    at = min(group["breaks"], key=lambda b: abs(b - middle))
    end = group["end"]
    first = tex[:opened] + r"\Bigl" + tex[opened + len(r"\left"):at]
    second = tex[at:end] + r"\Bigr" + tex[end + len(r"\right"):]
    return [first.rstrip(), second]


def _cases(block: Block, cases: JacobianCases) -> dict:
    """The k = j and k != j cases of a layer's derivative, as TeX."""
    output = block.lhs.numerator
    return {"lhs": latex(block.lhs), "output_index": latex(cases.output_index), "input_index": latex(cases.input_index),
            "equal": latex(cases.equal), "different": latex(cases.different), "diagonal": cases.diagonal,
            "output_equal": latex(replace_indices(output, {cases.output_index: cases.input_index}))}


def _mistake(mistake: Mistake, example: Counterexample | None, numbers: dict) -> dict:
    """A tempting shortcut: the case it keeps, what it gives, and numbers that show it is wrong."""
    return {
        "model": mistake.model,
        "layer": mistake.layer.kind.replace("_", " "),
        "number": numbers[mistake.block.key],
        "cases": _cases(mistake.block, mistake.cases),
        "variable": latex(mistake.block.lhs.denominator),
        "output": latex(mistake.block.lhs.numerator),
        "wrong": latex(mistake.shown_wrong),
        "right": latex(mistake.shown_right),
        "right_number": numbers.get(BlockKey.gradient(mistake.variable)),
        "divided": _division(mistake),
        "example": None if example is None or not _shown_as_numbers(example) else {
            "sizes": _size_settings([example.sizes]),
            "values": [{"name": name_tex(name), "tex": _numbers_tex(value)} for name, value in example.values.items()],
            "variable": name_tex(mistake.variable),
            "right": _numbers_tex(example.right), "wrong": _numbers_tex(example.wrong)},
    }


def _division(mistake: Mistake) -> dict | None:
    """For the divided mistake: the two derivatives divided, and the sum the chain rule has."""
    if "divided" not in mistake.detail:
        return None
    division, block = mistake.detail["divided"], mistake.block
    output = block.lhs.numerator
    chain = make_sum(Partial(division["gradient"].numerator, output) * block.lhs,
                     *[(i, 0, i.upper) for i in indices_of(output)])
    return {"gradient": latex(division["gradient"]), "by": latex(division["by"]),
            "by_value": latex(division["by_value"]), "chain": latex(chain),
            "quantity": latex(division["by"].numerator), "through": latex(division["gradient"].denominator)}


def _worked(worked: WorkedExample | None, numbers: dict, targets) -> dict | None:
    """The worked example's lines, each with its reason's detail as TeX."""
    if worked is None:
        return None
    shown = {d: size for d, size in worked.sizes.items() if size > 1}
    detail = {
        "worked_chain_rule": lambda d: {"through": [latex(q) for q in d["through"]], "variable": latex(d["variable"])},
        "worked_substitute": lambda d: {"numbers": [numbers[key] for key in d["blocks"] if key in numbers],
                                        "zeros": d["zeros"], "variable": latex(d["variable"])},
        "worked_multiply_out": lambda d: {},
        "worked_collect": lambda d: {"factors": [latex(f) for f in d["factors"]]},
        "worked_normalized_targets": lambda d: {"sum": latex(d["sum"]), "kind": str(targets)},
        "worked_index_form": lambda d: {"number": numbers[d["block"]], "position": _position(worked)},
    }
    return {
        "layer": worked.layer.kind.replace("_", " "),
        "size": ", ".join(f"{latex(d)} = {size}" for d, size in shown.items()),
        "others": ", ".join(f"{latex(d)} = 1" for d, size in worked.sizes.items() if size == 1),
        "variable": latex(worked.lhs.denominator),
        "variable_name": worked.block.key.wrt,
        "variable_entry": worked.lhs.denominator,
        "equations": [" \\\\ &\\qquad ".join(_lines(f"{latex(lhs)} &= {latex(rhs)}")) for lhs, rhs in worked.equations],
        "lhs": latex(worked.lhs), "lhs_inline": latex_inline(worked.lhs),
        "steps": [{"tex": " \\\\ &\\qquad ".join(_lines(latex(step.expr))), "rule": step.rule,
                   "detail": detail[step.rule](step.detail)} for step in worked.steps],
        "number": numbers[worked.block.key], "position": _position(worked),
        "ends_at_index_form": worked.steps[-1].rule != "worked_index_form",
    }


def _position(worked: WorkedExample) -> str:
    return ", ".join(f"{latex(i)} = {p + 1}" for i, p in worked.position.items())


def _worked_numbers(network: Network, worked: dict, checked: WorkedChecked | None) -> dict | None:
    """The entries' values at the point the example was checked at, those given (the variable's,
    the targets, the constants) apart from those computed from them, and every line's value."""
    if checked is None:
        return None
    order = [worked["variable_name"], *(t.name for t in network.tensors.values() if t.role == Role.TARGET),
             *(t.name for t in network.tensors.values() if t.role == Role.CONSTANT)]
    given = sorted((item for item in checked.values if name_of(item[0]) in order),
                   key=lambda item: (order.index(name_of(item[0])), sp.default_sort_key(item[0])))
    computed = [item for item in checked.values if name_of(item[0]) not in order]
    # three places, so that the lines can be worked again from the numbers shown
    entry = worked["variable_entry"]
    own = tuple(entry.indices) if isinstance(entry, sp.Indexed) else ()
    zero_targets = [latex(e) for e, v in given if name_of(e) == network.target and v == 0
                    and isinstance(e, sp.Indexed) and tuple(e.indices) == own]  # the entry worked out
    return {"given": [f"{latex(e)} = {_numbers_tex(v, 3)}" for e, v in given],
            "computed": [f"{latex(e)} = {_numbers_tex(v, 3)}" for e, v in computed],
            "value": _numbers_tex(checked.value, 3),
            "zero_target": zero_targets[0] if zero_targets and abs(checked.value) > 1e-3 else None}


def _shown_as_numbers(example: Counterexample) -> bool:
    """Numbers a reader can take in: scalars, vectors and matrices of at most 10 columns (a
    tensor of higher rank would read as a matrix it is not, and overflow a pmatrix)."""
    arrays = [*example.values.values(), example.right, example.wrong]
    return all(np.ndim(a) <= 2 and (np.ndim(a) < 2 or np.shape(a)[1] <= 10) for a in arrays)


def _numbers_tex(value, places: int = 2) -> str:
    """Numbers as a person writes a small example: 0.62, (0.62, 0.38), or a matrix."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        number = float(array)
        if number == round(number):  # a one-hot target
            return str(int(number))
        return f"{0.0 if abs(number) < 0.5 * 10 ** -places else number:.{places}f}"
    if array.ndim == 1:
        return r"\left(" + r",\ ".join(_numbers_tex(x, places) for x in array) + r"\right)"
    rows = [" & ".join(_numbers_tex(x, places) for x in row) for row in array]
    return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"


def _result(gradient: Gradient, numbers: dict) -> dict:
    """A result as shown: the errors it calls by name are given beside the results (``_named_errors``)."""
    return {"wrt": name_tex(gradient.wrt), "lhs": latex(gradient.block.lhs),
            "tex": latex(gradient.named), "number": numbers[gradient.block.key]}


def _where(gradients: list[Gradient], numbers: dict) -> list[dict]:
    """What the results call by name: each error that is not a result itself, with the number of
    its block, then each abbreviation of a sub-expression they repeat; each once."""
    shown = {gradient.wrt for gradient in gradients}
    errors = {error.wrt: error for gradient in gradients for error in gradient.definitions if error.wrt not in shown}
    abbreviations = {str(a.name): a for gradient in gradients for a in gradient.abbreviations}
    return [*(_result(error, numbers) for error in errors.values()),
            *({"lhs": latex(a.name), "tex": latex(a.value), "number": None}
              for _, a in sorted(abbreviations.items()))]


def _detail(value, numbers):
    """Rule details as TeX strings (and block keys as equation numbers) for the reason texts."""
    if isinstance(value, dict):
        return {key: _detail(item, numbers) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_detail(item, numbers) for item in value]
    if isinstance(value, BlockKey):
        return numbers[value]
    if isinstance(value, Primitive):
        return value.derivative_tex
    if isinstance(value, Layer):
        return _equation(value)
    if isinstance(value, (sp.Basic, Partial)):
        return latex(value)
    return value


def _size_settings(settings) -> str:
    """(m, n) = (2, 2), (2, 3), (5, 3): every size setting the checks used."""
    names = list(settings[0]) if settings else []
    if not names:
        return "no index ranges (all quantities are scalars)"
    def group(values):
        return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"
    return f"{group(names)} = " + ", ".join(group([str(s[n]) for n in names]) for s in settings)


def _verification(report: Report, mistakes_shown: int) -> dict:
    return {
        "sizes": _size_settings(report.sizes),
        "steps": report.steps_checked,
        "compared": report.values_compared,
        "matrix_forms": len(report.matrix_forms),
        "cases": report.cases_checked,
        "mistakes": mistakes_shown,
        "recursion": len(report.recursion),
        "tolerance": f"10^{{{round(math.log10(report.tolerance))}}}",
        "relative": f"10^{{{round(math.log10(report.relative_tolerance))}}}",
        "step_tolerance": f"10^{{{round(math.log10(report.step_tolerance))}}}",
        "fd_step": f"10^{{{round(math.log10(report.fd_step))}}}",
    }
