"""The cases of a layer's Jacobian and the tempting mistake: read off the derived expressions for
any layer, checked numerically, shown in the documents."""
import dataclasses

import numpy as np
import pytest
import sympy as sp

from derive import Derivation, VerificationError
from derive.numeric.mistakes import check_mistake
from derive.numeric.points import points
from derive.printing import text

NORMALISED = {  # an L2-normalising layer: a Jacobian with off-diagonal entries, and no softmax
    "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},
               {"type": "custom", "name": "l2 norm", "define": "h[j] = z[j]/sqrt(sum(k, z[k]**2))"}],
    "loss": {"type": "mse", "input": "h", "target": "t"}}


def cases_of(derivation, output, wrt):
    block = next(b for b in derivation.engine.blocks_for(derivation.wrt)
                 if b.layer is not None and b.key.output == output and b.key.wrt == wrt)
    return derivation.engine.jacobian_cases(block)


def test_the_softmax_jacobian_has_both_cases(seed):
    cases = cases_of(seed, "o", "z")
    assert (text(cases.equal), text(cases.different)) == ("o[j]*(1 - o[j])", "-o[j]*o[k]")
    assert not cases.diagonal


def test_an_elementwise_layer_is_diagonal(derivation_of):
    cases = cases_of(derivation_of("two-layer-tanh"), "a1", "z1")
    assert text(cases.equal) == "1 - a1[j]**2" and cases.different == 0 and cases.diagonal


def test_cases_of_a_layer_they_were_not_written_for_are_checked_and_shown():
    derivation = Derivation.from_dict(NORMALISED)
    cases = cases_of(derivation, "h", "z")
    assert not cases.diagonal and text(cases.different) == "-h[j]*h[k]/sqrt(sum(l, z[l]**2))"  # = -z_j z_k / |z|^3
    report = derivation.verify()
    assert report.cases_checked >= 2
    assert "it is $" in derivation.markdown() and "not $0$" in derivation.markdown()


def test_the_first_askers_mistake_is_derived_not_written_in(seed):
    (mistake, example), _ = seed.verify().mistakes
    assert mistake.model == "diagonal_only" and mistake.variable == "z"
    assert text(mistake.wrong) == "-t[j]*(1 - o[j])" and text(mistake.right) == "o[j] - t[j]"
    # the example's numbers are the network's own at the first sample point
    point = points(seed.network)[0]
    assert np.allclose(example.values["o"], point.values["o"]) and example.values["t"].sum() == 1
    assert np.allclose(example.right, example.values["o"] - example.values["t"])
    assert np.allclose(example.wrong, -example.values["t"] * (1 - example.values["o"]))
    assert not np.allclose(example.right, example.wrong)


def test_the_shortcut_of_an_unseen_layer_is_derived_too():
    derivation = Derivation.from_dict(NORMALISED)
    (mistake, example), = derivation.verify().mistakes
    assert mistake.variable == "z" and mistake.layer.kind == "l2 norm"
    assert example is not None and not np.allclose(example.right, example.wrong)


@pytest.mark.parametrize("name", ["linear-mse", "sigmoid-binary-cross-entropy"])
def test_networks_with_only_diagonal_jacobians_show_no_mistake(derivation_of, name):
    derivation = derivation_of(name)
    assert derivation.verify().mistakes == ()
    assert "tempting mistake" not in derivation.markdown()


def test_the_second_askers_division_is_derived_too(seed):
    """The spec asks for it (mistakes = ["diagonal_only", "divided"]): dE/do_j by dividing dE/dz_j
    by do_j/dz_j, with the numbers that show it is not -t_j/o_j."""
    _, (mistake, example) = seed.verify().mistakes
    assert mistake.model == "divided" and mistake.variable == "o"
    assert text(mistake.wrong) == "(o[j] - t[j])/((1 - o[j])*o[j])" and text(mistake.right) == "-t[j]/o[j]"
    o, t = example.values["o"], example.values["t"]
    assert np.allclose(example.wrong, (o - t) / (o * (1 - o))) and np.allclose(example.right, -t / o)
    section = seed.markdown().split("Tempting mistakes")[1].split("## Results")[0]
    assert r"\frac{\partial E}{\partial z_{j}} = \sum_{k} \frac{\partial E}{\partial o_{k}} " in section
    assert r"\Big/ \frac{\partial o_{j}}{\partial z_{j}} = \frac{o_{j} - t_{j}}" in section


def test_a_spec_chooses_the_mistakes_its_documents_show():
    spec = {"layers": [{"type": "affine", "input": "y", "output": "z", "weight": "w"},
                       {"type": "softmax", "input": "z", "output": "o"}],
            "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
            "derive": {"wrt": ["o", "w"]}}
    assert [m.model for m, _ in Derivation.from_dict(spec).verify().mistakes] == ["diagonal_only"]  # the default
    for chosen in ([], ["divided"], ["divided", "diagonal_only"]):
        derivation = Derivation.from_dict({**spec, "derive": {"wrt": ["o", "w"], "mistakes": chosen}})
        assert [m.model for m, _ in derivation.verify().mistakes] == chosen
    assert "mistake" not in Derivation.from_dict({**spec, "derive": {"mistakes": []}}).markdown().lower()


def test_an_unknown_mistake_in_a_spec_is_one_line(cli, one_line_error, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text('[[layers]]\ntype = "softmax"\ninput = "z"\noutput = "o"\n[loss]\ntype = "cross_entropy"\n'
                    'input = "o"\ntarget = "t"\n[derive]\nmistakes = ["sign"]\n')
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), "[derive] field 'mistakes'", "diagonal_only, divided")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("model", ["diagonal_only", "divided"])
def test_a_wrong_shortcut_result_is_caught(seed, model):
    mistake = next(m for m, _ in seed.verify().mistakes if m.model == model)
    tampered = dataclasses.replace(mistake, wrong=mistake.wrong * 2)
    with pytest.raises(VerificationError, match="does not follow from its model"):
        check_mistake(seed.engine, tampered, points(seed.network)[0])


def test_the_softmax_document_shows_why_the_diagonal_alone_is_wrong_with_numbers(seed):
    """The issue's test: a student who kept only o_j(1 - o_j) finds the line that shows why, and a
    number that proves it."""
    for document in (seed.markdown(), seed.latex()):
        section = document.split("Tempting mistakes")[1]
        assert r"o_{j} \left(1 - o_{j}\right) & \text{if } k = j" in section
        assert r"- o_{j} o_{k} & \text{if } k \neq j" in section
        assert r"= - t_{j} \left(1 - o_{j}\right) \qquad \text{instead of} \qquad o_{j} - t_{j}" in section
        assert r"the shortcut gives $\partial E/\partial z = \left(" in section


def test_a_batch_softmax_has_its_class_cases_beside_the_sample_index(derivation_of):
    derivation = derivation_of("batch-mean")
    (mistake, example), = derivation.verify().mistakes
    assert example.right.shape == example.wrong.shape == (2, 2)
    assert mistake.cases.equal.has(sp.KroneckerDelta)  # the samples' delta stays: samples do not mix
