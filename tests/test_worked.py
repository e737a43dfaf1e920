"""The worked example at n = 2: read off the derivation for any layer whose Jacobian is not
diagonal, every line checked numerically, shown in every document that has such a layer."""
import dataclasses
import re

import numpy as np
import pytest

from derive import Derivation, VerificationError
from derive.numeric.worked import check_worked
from derive.printing import text
from derive.rules.steps import Step

from conftest import OUTPUT, SPECS
from test_mistakes import NORMALISED


def worked(derivation):
    return derivation.engine.worked_example(derivation.wrt)


def test_the_seed_network_is_worked_out_as_the_seed_answer_does(seed):
    example = worked(seed)
    assert text(example.lhs) == "partial(E, z[1])"
    assert [(s.rule, text(s.expr)) for s in example.steps] == [
        ("worked_chain_rule", "partial(E, o[1])*partial(o[1], z[1]) + partial(E, o[2])*partial(o[2], z[1])"),
        ("worked_substitute", "(-t[1]/o[1])*(o[1]*(1 - o[1])) + (-t[2]/o[2])*(-o[1]*o[2])"),
        ("worked_multiply_out", "o[1]*t[1] + o[1]*t[2] - t[1]"),
        ("worked_collect", "o[1]*(t[1] + t[2]) - t[1]"),
        ("worked_normalized_targets", "o[1] - t[1]"),
    ]
    assert [text(rhs) for _, rhs in example.equations] == [
        "exp(z[1])/(exp(z[1]) + exp(z[2]))", "exp(z[2])/(exp(z[1]) + exp(z[2]))", "-t[1]*log(o[1]) - t[2]*log(o[2])"]


def test_the_numbers_shown_are_the_networks_own(seed):
    checked = seed.verify().worked
    values = {text(entry): value for entry, value in checked.values}
    z = np.array([values["z[1]"], values["z[2]"]])
    o = np.exp(z) / np.exp(z).sum()
    assert np.allclose(o, [values["o[1]"], values["o[2]"]])
    assert checked.value == pytest.approx(o[0] - values["t[1]"], abs=1e-7)


def test_a_layer_it_was_not_written_for():
    """An L2-normalising layer: its Jacobian is not diagonal either, and mse has no targets' sum."""
    derivation = Derivation.from_dict(NORMALISED)
    example = worked(derivation)
    assert example.layer.kind == "l2 norm" and [s.rule for s in example.steps][:3] == [
        "worked_chain_rule", "worked_substitute", "worked_multiply_out"]
    assert "worked_normalized_targets" not in [s.rule for s in example.steps]
    assert derivation.verify().worked is not None  # every line agrees with finite differences
    assert "A worked example at $n = 2$" in derivation.markdown()


def test_temperature_and_class_weights_end_at_their_index_form():
    temperature = worked(Derivation.from_spec(SPECS[[p.stem for p in SPECS].index("temperature-softmax")]))
    assert temperature.steps[-1].rule == "worked_index_form" and text(temperature.steps[-1].expr) == "(o[1] - t[1])/T"
    weights = worked(Derivation.from_spec(SPECS[[p.stem for p in SPECS].index("relu-class-weights")]))
    assert [text(s.expr) for s in weights.steps[-2:]] == [  # with one-hot targets, c_1 t_1 = (c_1 t_1 + c_2 t_2) t_1
        "o[1]*(c[1]*t[1] + c[2]*t[2]) - c[1]*t[1]", "(c[1]*t[1] + c[2]*t[2])*(o[1] - t[1])"]


def test_a_wrong_line_is_caught(seed):
    example = worked(seed)
    steps = list(example.steps)
    steps[2] = Step(steps[2].expr + example.steps[-1].expr * 0 + 1, steps[2].rule)
    with pytest.raises(VerificationError, match="line 3 .* of the worked example"):
        check_worked(seed.engine, dataclasses.replace(example, steps=tuple(steps)))


@pytest.mark.parametrize("name, has_one", [
    ("softmax-cross-entropy", True), ("two-layer-tanh", True), ("batch-mean", True), ("soft-targets", True),
    ("temperature-softmax", True), ("relu-class-weights", True), ("log-softmax-nll", True),
    ("linear-mse", False), ("sigmoid-binary-cross-entropy", False)])
def test_every_document_with_a_non_diagonal_layer_has_one(name, has_one):
    for extension in ("md", "tex"):
        found = re.search(r"A worked example at \$[^$]*= 2\$", (OUTPUT / f"{name}.{extension}").read_text())
        assert bool(found) == has_one
