"""Network specs: a TOML file (or the same data as a dict) describing layers, loss and gradients."""
from __future__ import annotations

import keyword
import re
import tomllib
from pathlib import Path

from ..errors import SpecError, quote
from ..limits import MAX_NAME_LENGTH, MAX_SPEC_BYTES
from ..model.network import Batch, Layout, Network, Reduction, ShownMistake, Targets, is_one_of
from .assemble import LayerSource, NetworkError, NetworkSource, build_network
from .equations import NAME, RESERVED, EquationError, parse_equation
from .library import LAYERS, LOSSES, WEIGHT_LAYOUTS, layer_equation, loss_equation
from .text import read_spec_text


LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,39}\Z")
TITLE = re.compile(r"[ -~]{1,120}\Z")


def load_spec(path: str | Path) -> Network:
    path = Path(path)
    return network_from_text(read_spec_text(path), origin=str(path), slug=path.stem)


def network_from_text(text: str, origin: str = "<spec>", slug: str = "network") -> Network:
    """A network from the TOML text of a spec; ``origin`` names it in error messages."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError(f"{origin}: more than {MAX_SPEC_BYTES} bytes; that is the limit for a spec")
    return network_from_dict(_parse_toml(origin, text), origin=origin, slug=slug)


def _parse_toml(path: str | Path, text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: TOML syntax error: {error}") from None
    except RecursionError:
        raise SpecError(f"{path}: TOML nested too deeply") from None


def network_from_dict(data: dict, origin: str = "<spec>", slug: str = "network") -> Network:
    try:
        return build_network(_source(data, origin, slug))
    except (NetworkError, EquationError) as error:
        raise SpecError(f"{origin}: {error}") from None


def _source(data: dict, origin: str, slug: str) -> NetworkSource:
    _only(data, {"title", "layers", "loss", "derive", "dimensions", "constants", "batch"}, "", origin)
    layers_data = data.get("layers")
    if not isinstance(layers_data, list) or not layers_data:
        raise SpecError(f"{origin}: missing field 'layers' (at least one [[layers]] table)")
    layers = [part for number, entry in enumerate(layers_data, start=1) for part in _layer(entry, number, origin)]
    if "loss" not in data or not isinstance(data["loss"], dict):
        raise SpecError(f"{origin}: missing table [loss]")
    loss, target, targets = _loss(data["loss"], origin)
    derive = data.get("derive", {})
    _only(derive, {"wrt", "layout", "differential", "mistakes"}, "[derive]", origin)
    layout = derive.get("layout", "denominator")
    if not is_one_of(layout, Layout):
        raise SpecError(f"{origin}: [derive] field 'layout': unknown layout {quote(str(layout))} "
                        f"(expected one of {', '.join(Layout)})")
    differential = derive.get("differential", False)
    if not isinstance(differential, bool):
        raise SpecError(f"{origin}: [derive] field 'differential': expected true or false")
    mistakes = derive.get("mistakes", [ShownMistake.DIAGONAL_ONLY.value])
    if not isinstance(mistakes, list) or not all(isinstance(m, str) and is_one_of(m, ShownMistake) for m in mistakes):
        raise SpecError(f"{origin}: [derive] field 'mistakes': expected a list of mistake models to show, "
                        f"some of {', '.join(ShownMistake)}")
    wrt = derive.get("wrt", [])
    if not isinstance(wrt, list) or not all(isinstance(w, str) for w in wrt):
        raise SpecError(f"{origin}: [derive] field 'wrt': expected a list of names")
    dimensions = data.get("dimensions", {})
    if not isinstance(dimensions, dict) or not all(
            isinstance(v, list) and all(isinstance(d, str) and NAME.match(d) for d in v)
            for v in dimensions.values()):
        raise SpecError(f"{origin}: [dimensions]: expected name = [\"dim\", ...] entries")
    constants = _names_field(data, "constants", "", origin) if "constants" in data else []
    title = data.get("title", slug)
    if not isinstance(title, str) or not TITLE.match(title):
        raise SpecError(f"{origin}: field 'title': expected one line of printable ASCII, up to 120 characters")
    return NetworkSource(title, layers, loss, target, targets, wrt, dimensions, constants, slug,
                         layout=Layout(layout), differential=differential, batch=_batch(data, origin),
                         mistakes=tuple(ShownMistake(m) for m in dict.fromkeys(mistakes)))


def _batch(data: dict, origin: str) -> Batch | None:
    if "batch" not in data:
        return None
    table = data["batch"]
    _only(table, {"size", "reduction"}, "[batch]", origin)
    size = table.get("size", "B")
    if not isinstance(size, str) or not NAME.match(size):
        raise SpecError(f"{origin}: [batch] field 'size': expected a name such as \"B\"")
    reduction = table.get("reduction", "mean")
    if not is_one_of(reduction, Reduction):
        raise SpecError(f"{origin}: [batch] field 'reduction': expected \"mean\" or \"sum\"")
    return Batch(size, Reduction(reduction))


def _only(table: dict, allowed: set[str], where: str, origin: str = "") -> None:
    if not isinstance(table, dict):
        raise SpecError(f"{origin}: {where}: expected a table")
    for key in table:
        if key not in allowed:
            place = f"{where} " if where else ""
            raise SpecError(f"{origin}: {place}unknown field {quote(key)} (expected: {', '.join(sorted(allowed))})")


def _layer(entry, number: int, origin: str) -> list[LayerSource]:
    """The layer's equation; a custom layer may have several (define = ["mu = ...", "h[j] = ..."]),
    its named parts, each derived as a layer of its own."""
    if not isinstance(entry, dict):
        raise SpecError(f"{origin}: layer {number}: expected a table")
    kind = _field(entry, "type", f"layer {number}", origin)
    where = f"layer {number} ({kind})"
    if kind == "custom":
        _only(entry, {"type", "define", "name", "input", "parameters"}, where, origin)
        texts = _defines(entry, where, origin)
        inputs = (_name_field(entry, "input", where, origin),) if "input" in entry else ()
        parameters = tuple(_names_field(entry, "parameters", where, origin))
        label = _label(entry, where, origin)
        named = f"layer {number} ({label})" if label != "custom" else where
        if len(texts) == 1:
            return [LayerSource(label, _parse(texts[0], where, "define", origin), where, parameters, inputs)]
        return [LayerSource(label, _parse(text, named, f"define (equation {n + 1})", origin), f"{named}, part {n + 1}",
                            parameters, inputs if n == 0 else ())
                for n, text in enumerate(texts)]
    if kind not in LAYERS:
        raise SpecError(f"{origin}: layer {number}: unknown layer type {quote(kind)} "
                        f"(known: {', '.join([*LAYERS, 'custom'])})")
    spec = LAYERS[kind]
    _only(entry, {"type", *spec.fields, *spec.optional}, where, origin)
    fields = {name: _name_field(entry, name, where, origin) for name in spec.fields}
    for name in spec.optional:
        if name in entry:
            fields[name] = _name_field(entry, name, where, origin) if name != "layout" else entry[name]
    if fields.get("layout", "in_out") not in WEIGHT_LAYOUTS:
        raise SpecError(f"{origin}: {where} field 'layout': expected one of {', '.join(WEIGHT_LAYOUTS)}")
    text = layer_equation(kind, fields)
    parameters = tuple(fields[name] for name in spec.parameters if fields.get(name))
    return [LayerSource(kind, _parse(text, where, "type", origin), where, parameters, (fields["input"],))]


def _defines(entry: dict, where: str, origin: str) -> list[str]:
    """A custom layer's equation, or its list of equations (at least one)."""
    value = entry.get("define")
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) for v in value):
            raise SpecError(f"{origin}: {where} field 'define': expected an equation, or a list of equations")
        return value
    return [_field(entry, "define", where, origin)]


def _loss(entry: dict, origin: str):
    kind = _field(entry, "type", "[loss]", origin)
    where = f"[loss] ({kind})"
    targets = entry.get("targets", "unnormalized")
    if not is_one_of(targets, Targets):
        raise SpecError(f"{origin}: {where} field 'targets': unknown value {quote(str(targets))} "
                        f"(expected one of {', '.join(Targets)})")
    if kind == "custom":
        _only(entry, {"type", "define", "target", "targets", "name"}, where, origin)
        text = _field(entry, "define", where, origin)
        target = _name_field(entry, "target", where, origin) if "target" in entry else None
        return LayerSource(_label(entry, where, origin), _parse(text, where, "define", origin), where), \
            target, targets
    if kind not in LOSSES:
        raise SpecError(f"{origin}: [loss]: unknown loss type {quote(kind)} (known: {', '.join([*LOSSES, 'custom'])})")
    _only(entry, {"type", "input", "target", "targets"}, where, origin)
    fields = {name: _name_field(entry, name, where, origin) for name in LOSSES[kind].fields}
    text = loss_equation(kind, fields)
    return LayerSource(kind, _parse(text, where, "type", origin), where), fields["target"], targets


def _label(entry: dict, where: str, origin: str) -> str:
    """What a custom layer is called in documents ("softmax with temperature"); plain words only."""
    if "name" not in entry:
        return "custom"
    value = _field(entry, "name", where, origin)
    if not LABEL.match(value):
        raise SpecError(f"{origin}: {where} field 'name': use up to 40 letters, digits, spaces and hyphens")
    return value


def _field(entry: dict, name: str, where: str, origin: str) -> str:
    if name not in entry:
        raise SpecError(f"{origin}: {where}: missing field '{name}'")
    value = entry[name]
    if not isinstance(value, str):
        raise SpecError(f"{origin}: {where} field '{name}': expected a string")
    return value


def _name_field(entry: dict, name: str, where: str, origin: str) -> str:
    value = _field(entry, name, where, origin)
    if not NAME.match(value) or keyword.iskeyword(value) or value in RESERVED:
        raise SpecError(f"{origin}: {where} field '{name}': {quote(value)} is not a valid name "
                        f"(letters and digits, starting with a letter, at most {MAX_NAME_LENGTH}; "
                        f"not a keyword, a function name or np)")
    return value


def _names_field(entry: dict, name: str, where: str, origin: str) -> list[str]:
    values = entry.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SpecError(f"{origin}: {where} field '{name}': expected a list of names")
    return [_name_field({name: v}, name, where, origin) for v in values]


def _parse(text: str, where: str, field: str, origin: str):
    try:
        return parse_equation(text)
    except EquationError as error:
        raise SpecError(f"{origin}: {where} field '{field}': {error}") from None
