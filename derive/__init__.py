"""derive: step-by-step, numerically verified gradients of neural networks in index notation."""
from .api import Derivation
from .engine import Gradient
from .errors import DeriveError, SpecError, VerificationError
from .spec import load_spec, network_from_dict, parse_expression

__all__ = ["DeriveError", "Derivation", "Gradient", "SpecError", "VerificationError", "load_spec",
           "network_from_dict", "parse_expression"]
