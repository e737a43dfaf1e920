"""derive: step-by-step, numerically verified gradients of neural networks in index notation.

The names below are imported when first used, so that ``derive build`` can serve cached
documents without importing SymPy.
"""
import importlib

_EXPORTS = {"Derivation": ".api", "Gradient": ".engine", "DeriveError": ".errors", "SpecError": ".errors",
            "VerificationError": ".errors", "load_spec": ".spec", "network_from_dict": ".spec",
            "parse_expression": ".spec"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'derive' has no attribute '{name}'")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
