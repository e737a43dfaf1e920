"""The built-in examples: the spec files shipped with derive (examples/ in the source tree)."""
from __future__ import annotations

from pathlib import Path

from ..model.network import Network
from ..resources import data_dir
from .files import load_spec

DEFAULT = "softmax-cross-entropy"


def examples_dir() -> Path:
    return data_dir("examples")


def example_specs() -> list[Path]:
    return sorted(examples_dir().glob("*.toml"))


def example_network(name: str = DEFAULT) -> Network:
    return load_spec(examples_dir() / f"{name}.toml")
