"""Render derivations to LaTeX and Markdown through the Jinja2 templates in templates/.

This module prepares plain data (every formula already printed as TeX by printing.py);
the wording and layout live in the templates.  Both formats share one Jinja environment
with delimiters that do not collide with TeX braces: ``<< expr >>``, ``<% block %>``,
``<# comment #>``.
"""
from __future__ import annotations

import math
from pathlib import Path

import jinja2
import sympy as sp

from . import matrix
from .derivation import Block, Gradient
from .notation import Layer, Network, Partial
from .printing import latex, latex_inline, matrix_latex, matrix_name_tex, name_tex
from .verify import Report

FORMATS = {"latex": "derivation.tex", "markdown": "derivation.md"}
EXTENSIONS = {"latex": ".tex", "markdown": ".md"}

_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "*": r"\*", "_": r"\_", "`": r"\`",
                 "[": r"\[", "]": r"\]", "$": r"\$", "\\": "\\\\", "#": r"\#"}


def template_dir() -> Path:
    """templates/ inside the installed package, or at the top of the source tree."""
    installed = Path(__file__).parent / "templates"
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_escape(text: str) -> str:
    return "".join(_HTML_SPECIAL.get(ch, ch) for ch in str(text))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        variable_start_string="<<", variable_end_string=">>",
        block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["tex_escape"] = tex_escape
    env.filters["md_escape"] = markdown_escape
    return env


def render(fmt: str, network: Network, gradients: list[Gradient], report: Report) -> str:
    template = environment().get_template(FORMATS[fmt])
    return template.render(**document(network, gradients, report))


def document(network: Network, gradients: list[Gradient], report: Report) -> dict:
    """Everything the templates show, as strings and lists."""
    chosen: dict[tuple, Block] = {}
    for gradient in gradients:
        for block in gradient.blocks:
            # a requested gradient carries one more step (its result written out): show that one
            if block.key not in chosen or len(block.steps) > len(chosen[block.key].steps):
                chosen[block.key] = block
    blocks = list(chosen.values())
    numbers = {block.key: n for n, block in enumerate(blocks, start=1)}
    for block in blocks:  # the loss's own derivative is also the gradient when nothing else uses X
        if block.layer is network.loss and isinstance(block.lhs.denominator, (sp.Indexed, sp.Symbol)):
            name = str(getattr(block.lhs.denominator, "base", block.lhs.denominator))
            numbers.setdefault(("gradient", name), numbers[block.key])
    return {
        "title": network.title,
        "equations": [_equation(layer) for layer in network.equations],
        "quantities": [_quantity(t) for t in network.tensors.values() if t.role != "loss"],
        "loss": latex(network.loss.lhs),
        "targets": _targets(network, blocks),
        "blocks": [_block(block, numbers) for block in blocks],
        "results": [_result(gradient, numbers) for gradient in gradients],
        "verification": _verification(report),
        "matrix": _matrix_forms(network, gradients),
        "batch": _batch(network),
    }


def _batch(network: Network) -> dict | None:
    if network.batch is None:
        return None
    sample = next((t.natural_indices[0] for t in network.tensors.values()
                   if t.role == "input" and t.natural_indices), "s")
    return {"size": network.batch.size, "reduction": network.batch.reduction, "index": sample}


def gradient_shape(network: Network, name: str, layout: str) -> tuple:
    """The shape of dE/d(name): the variable's own (denominator layout) or its transpose."""
    dims = network.tensors[name].dims
    if layout == "numerator":
        return tuple(reversed(dims)) if len(dims) == 2 else ((1, *dims) if dims else ())
    return dims


def _shape_tex(shape) -> str:
    return r" \times ".join(str(d) for d in shape) if shape else "1"


def _matrix_forms(network: Network, gradients: list[Gradient]) -> dict:
    """Each result in matrix notation, in the network's layout, with its shape."""
    rows = []
    for gradient in gradients:
        tensor = network.tensors[gradient.wrt]
        variable = matrix_name_tex(gradient.wrt, len(tensor.dims))
        try:
            node = matrix.in_layout(matrix.to_matrix(gradient.result, gradient.indices), network.layout)
        except matrix.NoMatrixForm:
            node = None
        denominator = matrix.to_matrix(gradient.result, gradient.indices) if node is not None else None
        rows.append({
            "lhs": rf"\frac{{\partial {latex(network.loss.lhs)}}}{{\partial {variable}}}",
            "tex": None if node is None else matrix_latex(node),
            "shape": _shape_tex(gradient_shape(network, gradient.wrt, network.layout)),
            "variable": variable,
            "rank": len(tensor.dims),
            "differential": None if denominator is None else matrix_latex(denominator),
        })
    quantities = [{"symbol": matrix_name_tex(t.name, len(t.dims)), "shape": _shape_tex(t.dims), "rank": len(t.dims)}
                  for t in network.tensors.values() if t.role != "loss" and t.dims]
    return {"layout": network.layout, "rows": rows, "quantities": quantities, "differential": network.differential}


def _equation(layer: Layer) -> dict:
    return {"kind": layer.kind.replace("_", " "), "lhs": latex(layer.lhs), "rhs": latex(layer.rhs)}


def _quantity(tensor) -> dict:
    dims = [str(d) for d in tensor.dims]
    indices = "".join(tensor.natural_indices) if all(len(i) == 1 for i in tensor.natural_indices) \
        else ",".join(tensor.natural_indices)
    symbol = f"{name_tex(tensor.name)}_{{{indices}}}" if indices else name_tex(tensor.name)
    return {"symbol": symbol, "name": name_tex(tensor.name), "role": tensor.role,
            "shape": r" \times ".join(dims)}


def _targets(network: Network, blocks: list[Block]) -> dict | None:
    if network.target is None:
        return None
    index = network.class_index()
    others = network.tensors[network.target].natural_indices[:-1]
    subscript = "".join([*others, index])
    used = any(step.rule == "normalized_targets" for block in blocks for step in block.steps)
    return {"name": name_tex(network.target), "kind": network.targets, "used": used,
            "sum": rf"\sum_{{{index}}} {name_tex(network.target)}_{{{subscript}}}"}


def _block(block: Block, numbers: dict) -> dict:
    heading = {"kind": block.kind, "lhs": latex(block.lhs), "inline": latex_inline(block.lhs),
               "wrt": latex(block.lhs.denominator)}
    if block.layer is not None:
        heading["layer"] = block.layer.kind.replace("_", " ")
    return {
        "number": numbers[block.key],
        "heading": heading,
        "lhs": latex(block.lhs),
        "steps": [{"tex": latex(step.expr), "rule": step.rule, "detail": _detail(step.detail, numbers)}
                  for step in block.steps],
    }


def _result(gradient: Gradient, numbers: dict) -> dict:
    return {"wrt": name_tex(gradient.wrt), "lhs": latex(gradient.block.lhs),
            "tex": latex(gradient.result), "number": numbers[gradient.block.key]}


def _detail(value, numbers):
    """Rule details as TeX strings (and block keys as equation numbers) for the reason texts."""
    if isinstance(value, dict):
        return {key: _detail(item, numbers) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        if value and value[0] in ("gradient", "local") and isinstance(value[1], str):
            return numbers.get(tuple(value), "?")
        return [_detail(item, numbers) for item in value]
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


def _verification(report: Report) -> dict:
    return {
        "sizes": _size_settings(report.sizes),
        "steps": report.steps_checked,
        "compared": report.values_compared,
        "matrix_forms": len(report.matrix_forms),
        "tolerance": f"10^{{{round(math.log10(report.tolerance))}}}",
        "relative": f"10^{{{round(math.log10(report.relative_tolerance))}}}",
        "step_tolerance": f"10^{{{round(math.log10(report.step_tolerance))}}}",
        "fd_step": f"10^{{{round(math.log10(report.fd_step))}}}",
    }
