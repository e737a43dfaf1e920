"""Derived equations (blocks), the keys they are stored under, and a gradient's set of blocks."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import sympy as sp

from ..model.network import Layer
from ..model.partials import Abbreviation
from ..rules.steps import Step


class BlockKind(StrEnum):
    LOCAL = "local"        # one layer's derivative: dU/dX from U's defining equation
    GRADIENT = "gradient"  # a derivative of the loss: dE/dX by the chain rule


@dataclass(frozen=True)
class BlockKey:
    kind: BlockKind
    wrt: str
    output: str | None = None  # the layer differentiated (LOCAL blocks)

    @classmethod
    def local(cls, output: str, wrt: str) -> "BlockKey":
        return cls(BlockKind.LOCAL, wrt, output)

    @classmethod
    def gradient(cls, wrt: str) -> "BlockKey":
        return cls(BlockKind.GRADIENT, wrt)


@dataclass(frozen=True)
class Block:
    """One derived equation: ``lhs = steps[0].expr = steps[1].expr = ...``."""

    key: BlockKey
    lhs: sp.Expr
    steps: tuple[Step, ...]
    layer: Layer | None = None              # for LOCAL blocks, the layer differentiated
    depends: tuple[BlockKey, ...] = ()      # blocks substituted or referred to

    @property
    def kind(self) -> BlockKind:
        """LOCAL for a layer's derivative, also where it is the gradient (the loss's own)."""
        return BlockKind.LOCAL if self.layer is not None else BlockKind.GRADIENT

    @property
    def result(self) -> sp.Expr:
        return self.steps[-1].expr

    @property
    def indices(self) -> tuple[sp.Idx, ...]:
        return tuple(self.lhs.denominator.indices) if isinstance(self.lhs.denominator, sp.Indexed) else ()


@dataclass(frozen=True)
class Gradient:
    """dE/dX for one quantity X: the blocks that derive it, in order, and the final result.

    ``block`` ends in the form shown (``named``), which may call an error dE/dU by its name;
    ``where`` are those errors' own gradients; ``result`` is written out in full, in the
    network's own quantities."""

    wrt: str
    block: Block
    blocks: tuple[Block, ...] = field(default=())
    written: sp.Expr | None = None      # the result written out in full, where the shown one names errors
    where: tuple["Gradient", ...] = ()

    @property
    def result(self) -> sp.Expr:
        return self.block.result if self.written is None else self.written

    @property
    def named(self) -> sp.Expr:
        return self.block.result

    @property
    def abbreviations(self) -> list:
        """The names ``named`` gives sub-expressions it repeats (model.partials.Abbreviation), each once."""
        found = {str(a.name): a for g in (self, *self.definitions) for a in g.named.atoms(Abbreviation)}
        return [found[key] for key in sorted(found)]

    @property
    def definitions(self) -> list["Gradient"]:
        """The errors ``named`` calls by name, and those theirs call, each once, nearest the variable first."""
        found: dict[str, Gradient] = {}

        def collect(gradient):
            for error in gradient.where:
                found.setdefault(error.wrt, error)
                collect(error)
        collect(self)
        return list(found.values())

    @property
    def indices(self) -> tuple[sp.Idx, ...]:
        return self.block.indices

    @property
    def steps(self) -> list[Step]:
        return [step for block in self.blocks for step in block.steps]


class BlockStore:
    """Blocks by key, each derived once.  A requested gradient is also kept as it is shown:
    written out, its repeated errors named (write_out.finish)."""

    def __init__(self):
        self._derived: dict[BlockKey, Block] = {}
        self._written: dict[BlockKey, Block] = {}

    def get(self, key: BlockKey) -> Block | None:
        return self._derived.get(key)

    def add(self, block: Block) -> Block:
        self._derived[block.key] = block
        return block

    def keep_shown(self, block: Block) -> Block:
        self._written[block.key] = block
        return block

    def shown(self, key: BlockKey) -> Block:
        return self._written.get(key) or self._derived[key]
