"""Numerics: index and matrix forms evaluated on arrays, sample points, finite differences, verification."""
from .verify import Report, verify

__all__ = ["Report", "verify"]
