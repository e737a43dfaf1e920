"""The Sphinx extension: ``extensions = ["derive.sphinx"]`` in conf.py (see derive.integrations.sphinx)."""
from .integrations.sphinx import setup

__all__ = ["setup"]
