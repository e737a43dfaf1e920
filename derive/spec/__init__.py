"""Text in: the equation reader, the built-in layers and losses, TOML specs, network assembly."""
from .examples import DEFAULT, deep_tanh_network, example_network, example_specs, examples_dir
from .expressions import parse_expression
from .files import load_spec, network_from_dict, network_from_text, read_spec_text

__all__ = ["DEFAULT", "deep_tanh_network", "example_network", "example_specs", "examples_dir", "load_spec",
           "network_from_dict", "network_from_text", "parse_expression", "read_spec_text"]
