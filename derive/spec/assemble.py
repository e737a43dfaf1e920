"""Assemble a Network from parsed equations: check the chain, infer index ranges and roles."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

import sympy as sp

from ..errors import InputError, quote
from ..limits import MAX_LAYERS, MAX_RANK
from ..model.indices import NamePool, make_index
from ..model.network import Batch, Layer, Layout, Network, Reduction, Role, ShownMistake, Targets, Tensor, is_one_of
from .equations import Equation, index_uses, rank_uses, to_sympy

DIMENSION_NAMES = NamePool("mndhce", stem="N")
SAMPLE_NAMES = NamePool("snbru", stem="s")


class NetworkError(InputError):
    """A network that cannot be built; ``where`` names the layer and field."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where, self.problem = where, problem


@dataclass
class LayerSource:
    """One layer as written: its kind, equation, where it stands, and its trainable names."""

    kind: str
    equation: Equation
    where: str
    parameters: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()      # the per-sample quantities it reads (the network input, for layer 1)


@dataclass
class NetworkSource:
    title: str
    layers: list[LayerSource]
    loss: LayerSource
    target: str | None = None
    targets: str = "unnormalized"
    wrt: list[str] = field(default_factory=list)
    dimensions: dict[str, list[str]] = field(default_factory=dict)
    constants: list[str] = field(default_factory=list)
    slug: str = "network"
    where: str = ""
    layout: Layout = Layout.DENOMINATOR
    differential: bool = False
    batch: Batch | None = None
    mistakes: tuple[ShownMistake, ...] = (ShownMistake.DIAGONAL_ONLY,)


class _Classes:
    """Union-find over index slots: every slot in a class runs over the same range."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def build_network(source: NetworkSource) -> Network:
    layers = [*source.layers, source.loss]
    if len(layers) > MAX_LAYERS:
        raise NetworkError(layers[MAX_LAYERS].where, f"a network has at most {MAX_LAYERS} layers, the loss included")
    _check_loss(source.loss)
    _check_order(source)
    ranks = _check_ranks(layers)
    _check_target(source, ranks)
    _check_outputs_are_used(source)
    per_sample: set[str] = set()
    if source.batch is not None:
        outputs = {layer.equation.output for layer in layers}
        if ranks.get(source.batch.size, 0) > 0 or source.batch.size in outputs or source.batch.size == source.target:
            raise NetworkError("[batch].size", f"the batch size '{source.batch.size}' is also a quantity of the "
                                               f"network; name it with a letter of its own")
        roles = _roles(source, layers, ranks)
        per_sample = {name for name, role in roles.items() if role in (Role.INPUT, Role.INTERMEDIATE, Role.TARGET)}
        source = _batched(source, per_sample)
        layers = [*source.layers, source.loss]
        ranks = _check_ranks(layers)
    classes = _index_classes(layers)
    dims = _dimension_symbols(source, layers, classes, ranks, per_sample)
    sizes = _sizes(source)
    for name in sizes:
        if ranks.get(name, 0) > 0 or name in {layer.equation.output for layer in layers} or name == source.target:
            raise NetworkError("[dimensions]", f"the index range '{name}' is also a quantity of the network; "
                                               f"name it with a letter of its own")

    built = []
    for number, layer in enumerate(layers):
        def index_for(scope, number=number):
            slot = classes.find(("scope", number, scope))
            return make_index(scope[-1], dims[slot])
        indices, rhs = to_sympy(layer.equation, index_for)
        if rhs.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise NetworkError(layer.where, f"{quote(layer.equation.text)} divides by zero or is not finite")
        if rhs.has(sp.I):
            raise NetworkError(layer.where, f"{quote(layer.equation.text)} is not real (its numbers give an "
                                            f"imaginary part, as log(-1) or (-1)**0.5 do)")
        # the B in E = sum(s, ...)/B is the batch size itself, the n in sum(k, z[k])/n the range of k
        rhs = rhs.xreplace({sp.Symbol(d.name): d for d in dims.values() if d.name in sizes})
        built.append(Layer(layer.kind, layer.equation.output, indices, rhs, layer.where))

    tensors = _tensors(source, layers, classes, dims, ranks)
    network = Network(source.title, tuple(built[:-1]), built[-1], tensors, source.target,
                      Targets(source.targets), tuple(source.wrt), source.slug, source.layout,
                      source.differential, source.batch, source.mistakes)
    for name in network.wrt:
        if name not in network.differentiable():
            raise NetworkError(f"{source.where}[derive].wrt".lstrip(),
                               f"'{name}' is not a parameter, input or intermediate of this network"
                               f" (these are: {', '.join(network.differentiable())})")
    return network


def _check_loss(loss: LayerSource) -> None:
    if loss.equation.indices:
        raise NetworkError(loss.where, f"the loss must be a scalar, but '{loss.equation.output}' "
                                       f"has indices [{', '.join(loss.equation.indices)}]")


def _check_order(source: NetworkSource) -> None:
    defined_at: dict[str, str] = {}
    outputs = {layer.equation.output: layer.where for layer in [*source.layers, source.loss]}
    used: dict[str, str] = {}
    for layer in [*source.layers, source.loss]:
        for name, _ in list(rank_uses(layer.equation))[1:]:
            if name == layer.equation.output:
                raise NetworkError(layer.where, f"'{name}' is used in its own definition")
            if name == source.target and layer is not source.loss:
                raise NetworkError(layer.where, f"the target '{name}' can only be used by the loss")
            if name in outputs and name not in defined_at:
                raise NetworkError(layer.where, f"'{name}' is used before it is defined ({outputs[name]})")
            used.setdefault(name, layer.where)
        output = layer.equation.output
        if output in defined_at:
            raise NetworkError(layer.where, f"'{output}' is defined twice (first in {defined_at[output]})")
        if output in used:
            raise NetworkError(layer.where, f"'{output}' is already an input of {used[output]}")
        defined_at[output] = layer.where
    if source.target is not None and source.target in defined_at:
        raise NetworkError(source.loss.where, f"the target '{source.target}' is computed by the network")
    known = set(used) | set(defined_at)
    for name in source.constants:
        if name not in known:
            raise NetworkError("constants", f"'{name}' is not used by any equation")
    for name in dict.fromkeys(source.wrt):
        if source.wrt.count(name) > 1:
            raise NetworkError("[derive].wrt", f"'{name}' is listed twice")
    if not is_one_of(source.targets, Targets):
        raise NetworkError(f"{source.loss.where}.targets",
                           f"unknown targets '{source.targets}' (expected one of {', '.join(Targets)})")


def _check_outputs_are_used(source: NetworkSource) -> None:
    """A layer whose output nothing uses is a dead end: usually a later layer's input is misspelt
    (and then taken for a constant), which would make gradients through it a silent 0."""
    used = {name for layer in [*source.layers[1:], source.loss] for name, _ in list(rank_uses(layer.equation))[1:]}
    for layer in source.layers:
        if layer.equation.output not in used:
            raise NetworkError(layer.where, f"its output '{layer.equation.output}' is not used by any later layer "
                                            f"or by the loss (is an input misspelt?)")


def _check_ranks(layers: list[LayerSource]) -> dict[str, int]:
    ranks: dict[str, tuple[int, str]] = {}
    for layer in layers:
        for name, rank in rank_uses(layer.equation):
            if name in ranks and ranks[name][0] != rank:
                raise NetworkError(layer.where, f"'{name}' has {rank} indices here but {ranks[name][0]} "
                                                f"in {ranks[name][1]}")
            if rank > MAX_RANK:
                raise NetworkError(layer.where, f"'{name}' has {rank} indices; at most {MAX_RANK} are supported")
            ranks.setdefault(name, (rank, layer.where))
    return {name: rank for name, (rank, _) in ranks.items()}


def _check_target(source: NetworkSource, ranks: dict[str, int]) -> None:
    if source.target is None:
        return
    used = {name for name, _ in rank_uses(source.loss.equation)}
    if source.target not in used:
        raise NetworkError(f"{source.loss.where}.target", f"the loss does not use the target '{source.target}'")
    if ranks[source.target] == 0 and source.targets in (Targets.ONE_HOT, Targets.DISTRIBUTION):
        raise NetworkError(f"{source.loss.where}.targets",
                           f"{source.targets} targets need a class index, but '{source.target}' has none")


def _index_classes(layers: list[LayerSource]) -> _Classes:
    classes = _Classes()
    for number, layer in enumerate(layers):
        for use in index_uses(layer.equation):
            slot = ("axis", use.tensor, use.axis) if not use.tensor.startswith("#") \
                else ("delta", number, use.tensor)
            classes.union(("scope", number, use.scope), slot)
    return classes


def _dimension_symbols(source, layers, classes, ranks, per_sample=frozenset()) -> dict:
    """One integer symbol per class of index slots, named in order of first appearance."""
    declared = {classes.find(("axis", name, 0)): source.batch.size for name in per_sample}
    for name, names in source.dimensions.items():
        if ranks.get(name) != len(names):
            raise NetworkError(f"{source.where}[dimensions].{name}".lstrip(),
                               f"'{name}' has {ranks.get(name, 0)} indices, not {len(names)}")
        for axis, dim in enumerate(names):
            root = classes.find(("axis", name, axis))
            if declared.get(root, dim) != dim:
                raise NetworkError(f"{source.where}[dimensions].{name}".lstrip(),
                                   f"mismatched index ranges: axis {axis + 1} of '{name}' is declared '{dim}' "
                                   f"but the equations make it the same range as '{declared[root]}'")
            declared[root] = dim
    taken = set(ranks) | set(declared.values())
    pool = iter(DIMENSION_NAMES.without(taken))
    dims: dict = {}
    first = [(name, ranks[name]) for name in _network_inputs(source, ranks)]  # m is the input's size
    for layer in [None, *layers]:
        uses = first if layer is None else list(rank_uses(layer.equation))
        for name, rank in (uses if layer is None else uses[1:] + uses[:1]):  # inputs before outputs
            for axis in range(rank):
                root = classes.find(("axis", name, axis))
                if root not in dims:
                    dims[root] = sp.Symbol(declared.get(root) or next(pool), integer=True, positive=True)
    for key in list(classes.parent):
        if classes.find(key) not in dims and key[0] == "scope":  # sum(j, delta(j,j)): j labels no axis
            layer = layers[key[1]]
            raise NetworkError(layer.where, f"the range of index '{key[2][-1]}' is unknown: it labels no "
                                            f"tensor's axis in {quote(layer.equation.text)}")
    return dims


def _sizes(source) -> set[str]:
    """The names of index ranges the spec declares (the batch size, [dimensions]): in an
    equation, such a name is that size (sum(k, z[k])/n is a mean), not a constant."""
    declared = {dim for names in source.dimensions.values() for dim in names}
    return declared | ({source.batch.size} if source.batch is not None else set())


def _roles(source, layers, ranks) -> dict[str, str]:
    """What each name is: loss, intermediate, target, parameter, constant or the input."""
    outputs = {layer.equation.output for layer in layers}
    parameters = {name for layer in source.layers for name in layer.parameters}
    loss_only = set(ranks) - {n for layer in source.layers for n, _ in rank_uses(layer.equation)}
    roles: dict[str, str] = {}
    for layer in layers:
        for name, rank in rank_uses(layer.equation):
            if name in roles or name in _sizes(source):
                continue  # the batch size B, or a size [dimensions] names: a dimension, not a quantity
            if name == source.loss.equation.output:
                roles[name] = Role.LOSS
            elif name in outputs:
                roles[name] = Role.INTERMEDIATE
            elif name == source.target:
                roles[name] = Role.TARGET
            elif name in parameters:
                roles[name] = Role.PARAMETER
            elif rank == 0 or name in source.constants or name in loss_only:
                roles[name] = Role.CONSTANT
            elif name in _network_inputs(source, ranks):
                roles[name] = Role.INPUT
            else:
                roles[name] = Role.PARAMETER
    return roles


def _network_inputs(source, ranks) -> tuple[str, ...]:
    """The first layer's declared input, or its only candidate; never a guess between several."""
    first = source.layers[0]
    if first.inputs:
        used = {name for name, _ in rank_uses(first.equation)}
        for name in first.inputs:
            if name not in used:
                raise NetworkError(f"{first.where}.input", f"the input '{name}' is not used by its equation")
        return first.inputs
    parameters = {name for layer in source.layers for name in layer.parameters}
    candidates = [name for name, rank in list(rank_uses(first.equation))[1:]
                  if rank > 0 and name not in parameters and name != source.target
                  and name not in source.constants]
    candidates = list(dict.fromkeys(candidates))
    if len(candidates) > 1:
        raise NetworkError(first.where, f"which of {', '.join(candidates)} is the network's input? "
                                        f"Name it with the field 'input'")
    return tuple(candidates)


def _tensors(source, layers, classes, dims, ranks) -> dict[str, Tensor]:
    natural = _natural_indices(layers)
    tensors = {}
    for name, role in _roles(source, layers, ranks).items():
        axis_dims = tuple(dims[classes.find(("axis", name, axis))] for axis in range(ranks[name]))
        tensors[name] = Tensor(name, axis_dims, role, natural.get(name, ()))
    return dict(sorted(tensors.items(), key=lambda item: _order(item[1], layers)))


def _batched(source: NetworkSource, per_sample: set[str]) -> NetworkSource:
    """Every per-sample quantity gains a leading sample index; the loss sums (or averages) over it."""
    used = {n for layer in [*source.layers, source.loss] for n, _ in rank_uses(layer.equation)}
    used |= {i for layer in [*source.layers, source.loss] for use in index_uses(layer.equation)
             for i in [use.scope[-1]]}
    sample = SAMPLE_NAMES.first_free(used)

    def rewrite(layer: LayerSource, is_loss=False) -> LayerSource:
        equation = layer.equation
        rhs = _SampleIndex(per_sample, sample).visit(ast.parse(ast.unparse(equation.rhs), mode="eval").body)
        indices = equation.indices
        if equation.output in per_sample:
            indices = (sample, *indices)
        if is_loss:
            total = ast.Call(ast.Name("sum", ast.Load()), [ast.Name(sample, ast.Load()), rhs], [])
            rhs = ast.BinOp(total, ast.Div(), ast.Name(source.batch.size, ast.Load())) \
                if source.batch.reduction == Reduction.MEAN else total
        ast.fix_missing_locations(rhs)
        return replace(layer, equation=Equation(equation.text, equation.output, indices, rhs))

    return replace(source, layers=[rewrite(layer) for layer in source.layers],
                   loss=rewrite(source.loss, is_loss=True))


class _SampleIndex(ast.NodeTransformer):
    def __init__(self, per_sample: set[str], sample: str):
        self.per_sample, self.sample = per_sample, sample

    def visit_Subscript(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.per_sample:
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            node.slice = ast.Tuple([ast.Name(self.sample, ast.Load()), *items], ast.Load())
        return node

    def visit_Name(self, node):  # a per-sample scalar: one value per sample
        if node.id in self.per_sample:
            return ast.Subscript(ast.Name(node.id, ast.Load()), ast.Name(self.sample, ast.Load()), ast.Load())
        return node


def _natural_indices(layers) -> dict[str, tuple[str, ...]]:
    """The index names each tensor is written with: its defining equation's, else its first use."""
    natural = {layer.equation.output: layer.equation.indices for layer in layers}
    for layer in layers:
        for use_name, names in _subscripted(layer.equation.rhs):
            natural.setdefault(use_name, names)
    return natural


def _subscripted(node):
    for child in ast.walk(node):
        if isinstance(child, ast.Subscript):
            items = child.slice.elts if isinstance(child.slice, ast.Tuple) else [child.slice]
            yield child.value.id, tuple(item.id for item in items)


def _order(tensor: Tensor, layers) -> int:
    for number, layer in enumerate(layers):
        names = [n for n, _ in rank_uses(layer.equation)]
        if tensor.name in names[1:]:
            return 2 * number
        if tensor.name == names[0]:
            return 2 * number + 1
    return 10**6
