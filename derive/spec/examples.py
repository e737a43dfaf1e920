"""The built-in examples: the spec files shipped with derive (examples/ in the source tree)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..resources import data_dir

if TYPE_CHECKING:
    from ..model.network import Network

DEFAULT = "softmax-cross-entropy"


def examples_dir() -> Path:
    return data_dir("examples")


def example_specs() -> list[Path]:
    return sorted(examples_dir().glob("*.toml"))


def example_network(name: str = DEFAULT) -> Network:
    from .files import load_spec  # here, not above: listing the examples needs no SymPy
    return load_spec(examples_dir() / f"{name}.toml")


def deep_tanh_network(depth: int, wrt=(), batch: dict | None = None) -> dict:
    """The spec (as a dict) of a network with ``depth`` hidden tanh layers between affine ones,
    softmax and cross-entropy on one-hot targets: the benchmark of how cost grows with depth.
    With ``batch`` (a spec's batch section), over a batch: depth 1 is the network of issue #14."""
    layers = [{"type": "affine", "input": "x", "output": "z1", "weight": "w1", "bias": "b1"}]
    for level in range(1, depth + 1):
        layers.append({"type": "tanh", "input": f"z{level}", "output": f"a{level}"})
        layers.append({"type": "affine", "input": f"a{level}", "output": f"z{level + 1}",
                       "weight": f"w{level + 1}", "bias": f"b{level + 1}"})
    layers.append({"type": "softmax", "input": f"z{depth + 1}", "output": "o"})
    spec = {"layers": layers, "derive": {"wrt": list(wrt)},
            "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}}
    return {**spec, "batch": batch} if batch else spec
