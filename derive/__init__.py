"""derive: step-by-step, numerically verified gradients of neural networks in index notation."""
from .api import Derivation
from .derivation import Gradient
from .network import parse_expression
from .spec import SpecError, load_spec, network_from_dict
from .verify import VerificationError

__all__ = ["Derivation", "Gradient", "SpecError", "VerificationError", "load_spec",
           "network_from_dict", "parse_expression"]
