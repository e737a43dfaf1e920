"""derive: step-by-step, numerically verified gradients of neural networks in index notation.

The names below are imported when first used, so that ``derive build`` can serve cached
documents without importing SymPy.
"""
from .lazy import lazy_exports

_EXPORTS = {"Derivation": ".api", "Gradient": ".engine", "DeriveError": ".errors", "SpecError": ".errors",
            "VerificationError": ".errors", "load_spec": ".spec", "network_from_dict": ".spec",
            "parse_expression": ".spec"}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
