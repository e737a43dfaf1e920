"""Index names in a derivation: a tensor's own letters where they are free, fresh ones otherwise."""
from __future__ import annotations

import sympy as sp

from ..model.indices import NamePool, make_index
from ..model.network import Network

INDEX_NAMES = NamePool("klpquvijabcdefghr", stem="i")
SECOND_SAMPLE = ("r", "u", "v")  # a summed sample index is always r (then u, v)


class IndexNaming:
    def __init__(self, network: Network):
        self.network = network
        self.names = INDEX_NAMES.without({*network.tensors, *(str(d) for d in network.dimensions)})
        self.sample_names = NamePool((*SECOND_SAMPLE, *self.names.preferred), self.names.stem, self.names.exclude)
        self.batch_dim = network.batch_dimension

    def pool(self, dim) -> NamePool:
        """Fresh index names for a range."""
        return self.sample_names if dim == self.batch_dim else self.names

    def natural_pool(self, dim) -> NamePool:
        """Names for a range with its natural letter first (j for the hidden units, as z_j has it):
        a result lettered afresh from these reads as the network's equations do."""
        natural = next((letter for tensor in self.network.tensors.values()
                        for letter, its in zip(tensor.natural_indices or (), tensor.dims) if its == dim and letter),
                       None)
        pool = self.pool(dim)
        if natural is None or natural in pool.exclude:
            return pool
        return NamePool((natural, *(n for n in pool.preferred if n != natural)), pool.stem, pool.exclude)

    def indices_for(self, name: str, avoid: set[str]) -> tuple[sp.Idx, ...]:
        """Index objects for tensor ``name``: its natural names unless taken, else fresh ones."""
        tensor = self.network.tensors[name]
        chosen = []
        for natural, dim in zip(tensor.natural_indices or ("",) * len(tensor.dims), tensor.dims):
            taken = avoid | {i.name for i in chosen}
            fresh = natural if natural and natural not in taken else self.pool(dim).first_free(taken)
            chosen.append(make_index(fresh, dim))
        return tuple(chosen)
