"""Text in: the equation reader, the built-in layers and losses, TOML specs, network assembly.

The names below are imported when first used: reading a spec's text needs no SymPy.
"""
from ..lazy import lazy_exports

_EXPORTS = {"DEFAULT": ".examples", "deep_tanh_network": ".examples", "example_network": ".examples",
            "example_specs": ".examples", "examples_dir": ".examples", "parse_expression": ".expressions",
            "load_spec": ".files", "network_from_dict": ".files", "network_from_text": ".files",
            "read_spec_text": ".text"}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
