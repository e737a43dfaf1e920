"""The catalogue of step kinds: every kind has its reason, and hands over exactly what the reason reads."""
import pytest
import sympy as sp

from derive import Derivation
from derive.errors import UnfinishedSimplification
from derive.render.environment import environment
from derive.rules import BY_NAME, REWRITES, STEPS, RuleContext, StepKind, simplify
from derive.rules.steps import MAX_STEPS

from conftest import EXAMPLES

@pytest.fixture(scope="module")
def reasons():
    return environment().get_template("reasons.j2").module


@pytest.mark.parametrize("kind", STEPS, ids=lambda k: k.name)
def test_every_step_kind_has_a_reason_macro_that_reads_its_detail(kind, reasons):
    macro = getattr(reasons, kind.name, None)
    assert macro is not None, f"templates/reasons.j2 has no macro '{kind.name}'"
    assert tuple(macro.arguments) == kind.detail


def test_every_reason_macro_belongs_to_a_step_kind(reasons):
    macros = {name for name in dir(reasons) if not name.startswith("_")}
    assert macros == {kind.name for kind in STEPS}


def test_step_kinds_are_named_once_and_rewrites_come_last():
    names = [kind.name for kind in STEPS]
    assert len(names) == len(set(names))
    written_by_the_engine = [kind for kind in STEPS if kind.rewrite is None]
    assert STEPS[:len(written_by_the_engine)] == tuple(written_by_the_engine)
    assert set(REWRITES) <= set(STEPS[len(written_by_the_engine):])


def test_a_step_with_other_detail_than_its_reason_reads_is_refused():
    with pytest.raises(TypeError, match="cancel"):
        BY_NAME["cancel"].step(sp.S.One, factor=[])


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_steps_of_every_example_carry_their_kinds_detail(spec):
    derivation = Derivation.from_spec(spec)
    for gradient in derivation.gradients():
        for step in gradient.steps:
            assert set(step.detail) == set(BY_NAME[step.rule].detail), step.rule


def test_a_simplification_that_does_not_end_is_an_error_naming_the_expression():
    x = sp.Symbol("x")
    grows = StepKind("grows", (), lambda expr, ctx: (expr + 1, {}))
    with pytest.raises(UnfinishedSimplification, match=f"after {MAX_STEPS} steps.*x"):
        simplify(x, RuleContext(), [grows])
