"""The built-in layers and losses, each defined only by its index-notation equation.

Built-ins and user-defined (custom) layers take the same path: the equation text is
filled in with the names from the spec, parsed, and differentiated like any other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..model.primitives import PRIMITIVES


def _as_written(fields: dict) -> dict:
    return fields


@dataclass(frozen=True)
class Kind:
    equation: str                  # with {input}, {output}, {weight}, {bias}, {target} placeholders
    fields: tuple[str, ...]        # required fields
    parameters: tuple[str, ...] = ()  # fields that name trainable quantities
    optional: tuple[str, ...] = ()
    placeholders: Callable[[dict], dict] = _as_written  # the spec's fields -> what the equation reads


def _affine(fields: dict) -> dict:
    """z = W^T x + b reads w[i,j]; layout = "out_in" (z = W x + b) reads w[j,i]; the bias is optional."""
    weight = fields["weight"]
    return {**fields, "weight_entry": f"{weight}[j,i]" if fields.get("layout") == "out_in" else f"{weight}[i,j]",
            "bias_term": f" + {fields['bias']}[j]" if fields.get("bias") else ""}


LAYERS = {
    "affine": Kind("{output}[j] = sum(i, {weight_entry}*{input}[i]){bias_term}",
                   ("input", "output", "weight"), ("weight", "bias"), ("bias", "layout"), _affine),
    **{p.name: Kind(f"{{output}}[j] = {p.name}({{input}}[j])", ("input", "output"))
       for p in PRIMITIVES if p.activation},  # tanh, sigmoid, relu, ...
    "softmax": Kind("{output}[j] = exp({input}[j]) / sum(k, exp({input}[k]))", ("input", "output")),
    "log_softmax": Kind("{output}[j] = {input}[j] - log(sum(k, exp({input}[k])))", ("input", "output")),
}

LOSSES = {
    "cross_entropy": Kind("E = -sum(j, {target}[j]*log({input}[j]))", ("input", "target")),
    "nll": Kind("E = -sum(j, {target}[j]*{input}[j])", ("input", "target")),
    "binary_cross_entropy": Kind(
        "E = -sum(j, {target}[j]*log({input}[j]) + (1 - {target}[j])*log(1 - {input}[j]))",
        ("input", "target")),
    "mse": Kind("E = sum(j, ({input}[j] - {target}[j])**2) / 2", ("input", "target")),
}

WEIGHT_LAYOUTS = ("in_out", "out_in")  # z = W^T x + b (w[i,j]) or z = W x + b (w[j,i])


def layer_equation(kind: str, fields: dict) -> str:
    """The equation text of a built-in layer with the spec's names filled in."""
    layer = LAYERS[kind]
    return layer.equation.format(**layer.placeholders(dict(fields)))


def loss_equation(kind: str, fields: dict) -> str:
    return LOSSES[kind].equation.format(**fields)
