"""The built-in network: the one in every backpropagation question about softmax."""
from __future__ import annotations

from .spec import network_from_dict

SOFTMAX_CROSS_ENTROPY = {
    "title": "Softmax with cross-entropy after an affine layer",
    "layers": [
        {"type": "affine", "input": "y", "output": "z", "weight": "w", "bias": "b"},
        {"type": "softmax", "input": "z", "output": "o"},
    ],
    "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
    "derive": {"wrt": ["o", "z", "w", "b", "y"]},
}

BUILTIN = {"softmax-cross-entropy": SOFTMAX_CROSS_ENTROPY}


def builtin_network(name: str = "softmax-cross-entropy", **loss_overrides):
    data = BUILTIN[name]
    if loss_overrides:
        data = {**data, "loss": {**data["loss"], **loss_overrides}}
    return network_from_dict(data, origin=f"built-in network '{name}'", slug=name)
