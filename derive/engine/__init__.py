"""The derivation engine: index naming, local derivatives, the chain rule, the block store, write-out."""
from .blocks import Block, BlockKey, BlockKind, Gradient
from .engine import Engine

__all__ = ["Block", "BlockKey", "BlockKind", "Engine", "Gradient"]
