"""Package faces that import what they export when it is first used."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """A module ``__getattr__`` (PEP 562) that imports each name of ``exports`` (name -> the
    relative module that defines it) the first time it is asked for."""
    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        return getattr(importlib.import_module(exports[name], package), name)
    return __getattr__
