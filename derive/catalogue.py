"""The built-in catalogue: the example specs shipped with derive (examples/ in the source tree)."""
from __future__ import annotations

from pathlib import Path

from .notation import Network
from .spec import load_spec

DEFAULT = "softmax-cross-entropy"


def catalogue_dir() -> Path:
    installed = Path(__file__).parent / "examples"
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "examples"


def catalogue_specs() -> list[Path]:
    return sorted(catalogue_dir().glob("*.toml"))


def builtin_network(name: str = DEFAULT) -> Network:
    return load_spec(catalogue_dir() / f"{name}.toml")
