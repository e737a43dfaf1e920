"""The engine: for each requested quantity, fetch or derive its block, recursing into its consumers.

For a quantity X it writes dE/dX_a = sum over consumers U of sum_b dE/dU_b dU_b/dX_a
(``chain.py``), takes every local derivative dU_b/dX_a with SymPy's diff on U's defining
equation (``local.py``), simplifies each with the rule catalogue, keeps every block once
(``blocks.BlockStore``) and writes a requested gradient out at the end (``write_out.py``).
"""
from __future__ import annotations

import dataclasses

from ..model.network import Layer, Network
from ..model.partials import Partial, name_of
from ..rules.catalogue import REWRITES
from ..rules.steps import RuleContext
from .blocks import Block, BlockKey, BlockStore, Gradient
from .cases import JacobianCases, jacobian_cases
from .chain import chain_rule
from .local import local_derivative
from .mistakes import Mistake, mistakes_for
from .naming import IndexNaming
from .worked import WorkedExample, worked_example
from .write_out import finish


class Engine:
    """Derives and keeps the blocks of one network."""

    def __init__(self, network: Network, rules=None, named_errors=frozenset()):
        """``named_errors``: quantities whose gradient is always referred to as dE/dU where it is
        used, never written in (the errors a backward pass computes once, see backprop.py)."""
        self.network = network
        self.named_errors = frozenset(named_errors)
        self.rules = REWRITES if rules is None else tuple(rules)
        self.store = BlockStore()
        self.local_forms: dict = {}  # a local derivation by the form of its layer (local.py)
        self.written_results: dict = {}  # a gradient's result written out (write_out.py)
        self.written_sizes: dict[str, int] = {}  # and its size, worked out before writing it
        self.abbreviations: dict = {}  # name -> value a finished result gave a sub-expression it repeats
        self._cases: dict[BlockKey, JacobianCases | None] = {}
        self._mistakes: dict[tuple[str, ...], list[Mistake]] = {}
        self._worked: dict[tuple[str, ...], WorkedExample | None] = {}
        self.shortcuts: dict = {}  # the network derived with one derivative replaced (mistakes.py)
        self._gradients: dict[str, Gradient] = {}
        self.naming = IndexNaming(network)
        self.context = RuleContext(
            definitions=tuple(network.layers),
            target=network.target if network.targets_sum_to_one else None,
            targets=network.targets,
            names=frozenset(network.tensors) | {symbol.name for layer in network.layers
                                                for symbol in layer.rhs.free_symbols})

    def local_block(self, layer: Layer, wrt: str, out_indices=None, wrt_indices=None) -> Block:
        """d(layer output)/d(wrt), derived once."""
        return local_derivative(self, layer, wrt, out_indices, wrt_indices)

    def gradient_block(self, name: str) -> Block:
        """dE/d(name) as derived (a later reference to another gradient not yet written out)."""
        return chain_rule(self, name)

    def gradient_of(self, name: str) -> Gradient:
        """dE/d(name) with every block it needs; its result uses only the network's own names."""
        if name not in self._gradients:
            block, written = finish(self, self.gradient_block(name))
            self.store.keep_shown(block)
            order = list(self.network.tensors)
            named = sorted({name_of(p.denominator) for p in block.result.atoms(Partial)}, key=order.index)
            gradient = Gradient(name, block, (), written, tuple(self.gradient_of(error) for error in named))
            shown = [block.key, *(BlockKey.gradient(error.wrt) for error in gradient.definitions)]
            self._gradients[name] = dataclasses.replace(gradient, blocks=tuple(self._with_dependencies(shown)))
        return self._gradients[name]

    def jacobian_cases(self, block: Block) -> JacobianCases | None:
        """The k = j and k != j cases of a layer's derivative (cases.py), worked out once."""
        if block.key not in self._cases:
            self._cases[block.key] = jacobian_cases(self, block)
        return self._cases[block.key]

    def mistakes(self, names) -> list[Mistake]:
        """What each mistake model gives where it changes a gradient these rest on (mistakes.py)."""
        key = tuple(names)
        if key not in self._mistakes:
            self._mistakes[key] = mistakes_for(self, self.blocks_for(names))
        return self._mistakes[key]

    def worked_example(self, names) -> WorkedExample | None:
        """The chain rule through a non-diagonal layer written out at n = 2 (worked.py), once."""
        key = tuple(names)
        if key not in self._worked:
            self._worked[key] = worked_example(self, self.blocks_for(names))
        return self._worked[key]

    def blocks_for(self, names) -> list[Block]:
        """Every block the gradients of ``names`` rest on, each once, in the form documents show."""
        gradients = [self.gradient_of(name) for name in names]
        return self._with_dependencies([*(g.block.key for g in gradients),
                                        *(BlockKey.gradient(e.wrt) for g in gradients for e in g.definitions)])

    def _with_dependencies(self, keys) -> list[Block]:
        """The blocks of ``keys`` after everything they depend on; ``keys`` themselves as shown."""
        ordered: dict[BlockKey, Block] = {}

        def collect(key: BlockKey):
            block = self.store.get(key)
            for dep in block.depends:
                collect(dep)
            ordered.setdefault(key, block)
        for key in keys:
            collect(key)
        for key in keys:
            ordered[key] = self.store.shown(key)
        return list(ordered.values())

