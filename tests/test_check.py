"""derive check: claims about derivatives, and derivations line by line, judged against the
true derivative; the mistakes diagnosed on networks the mistake models were not written for."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from derive import Derivation
from derive.errors import InputError
from derive.model.network import Targets
from derive.numeric.claims import Verdict
from derive.spec.chains import read_chain
from derive.spec.claims import ClaimError, read_claim
from derive.spec.latex import read_latex_claim

from conftest import EXAMPLES, ROOT

CHECKS = EXAMPLES / "checks"


@pytest.fixture(scope="module")
def builtin():
    return Derivation.builtin()


def example(name: str) -> Derivation:
    return Derivation.from_spec(EXAMPLES / f"{name}.toml")


def residual() -> Derivation:
    """z feeds the loss twice: through tanh and around it (a skip connection)."""
    return Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w", "bias": "b"},
                   {"type": "tanh", "input": "z", "output": "a"},
                   {"type": "custom", "name": "skip", "define": "r[j] = a[j] + z[j]"},
                   {"type": "softmax", "input": "r", "output": "o"}],
        "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}})


# --- right answers, in the forms people write them -------------------------------------------------
@pytest.mark.parametrize("claim", [
    "dE/dw[i,j] = y[i]*(o[j] - t[j])",
    "dE/dw[i,j] = y[i]*o[j] - t[j]*y[i]",
    "dE/dw[i,j] = y[i]*(o[j]*sum(k, t[k]) - t[j])",             # the general form, before sum_k t_k = 1
    "dE/dw[i,j] = sum(l, y[i]*delta(l, j)*(o[l] - t[l]))",       # a dummy index of its own
    "dE/dz[k] = -sum(j, t[j]*(delta(j, k) - o[k]))",
    "do[j]/dz[k] = o[j]*(delta(j, k) - o[k])",
    "do[p]/dz[q] = exp(z[p])*delta(p, q)/sum(l, exp(z[l])) - exp(z[p])*exp(z[q])/sum(l, exp(z[l]))**2",
    "dE/do[j] = -t[j]/o[j]",
    "dE/db[j] = o[j] - t[j]",
    r"\frac{\partial E}{\partial w_{ij}} = y_i (o_j - t_j)",
    r"\frac{\partial E}{\partial w_{pq}} = \sum_k (o_k \tau - t_k)\delta_{kq} y_p".replace(r"\tau", r"\sum_j t_j"),
    r"\frac{\partial E}{\partial z_k} = o_k\left(\sum_j t_j\right) - t_k",
    r"\frac{\partial o_j}{\partial z_k} = o_j(\delta_{jk} - o_k)",
    r"\frac{\partial E}{\partial y_i} = \sum_j w_{ij} \cdot (o_j - t_j)",
])
def test_right_answers_are_accepted_in_every_form(builtin, claim):
    checked = builtin.check(claim)
    assert checked.verdict == Verdict.RIGHT, builtin.check_report(checked)
    assert checked.points == 6


@pytest.mark.parametrize("spec, claim", [
    ("two-layer-tanh", "dE/dz1[j] = (1 - a1[j]**2)*sum(k, w2[j,k]*(o[k] - t[k]))"),
    ("two-layer-tanh", "dE/dw1[i,j] = x[i]*(1 - a1[j]**2)*sum(k, w2[j,k]*(o[k] - t[k]))"),
    ("temperature-softmax", "dE/dz[j] = (o[j] - t[j])/T"),
    ("batch-mean", "dE/dw[i,j] = sum(s, y[s,i]*(o[s,j] - t[s,j]))/B"),
    ("log-softmax-nll", "dE/dz[j] = exp(z[j])/sum(k, exp(z[k])) - t[j]"),
    ("two-layer-tanh", r"\frac{\partial E}{\partial z^{(1)}_j} = (1 - (a^{(1)}_j)^2) \sum_k w^{(2)}_{jk} (o_k - t_k)"),
    ("two-layer-tanh", r"\frac{\partial a^{(1)}_j}{\partial z^{(1)}_j} = 1 - \tanh^2(z^{(1)}_j)"),
    ("sigmoid-binary-cross-entropy", r"\frac{\partial o_j}{\partial z_j} = \sigma(z_j)(1-\sigma(z_j))"),
    ("softmax-cross-entropy", r"\frac{\mathrm{d}E}{\mathrm{d}z_k} = \left[o_k - t_k\right] \,."),
    ("softmax-cross-entropy",
     r"\dfrac{\partial o_j}{\partial z_k} = \frac{\exp\left(z_j\right)}{\sum_{l=1}^{n} e^{z_l}}"
     r"\left(\delta_{jk} - o_k\right)"),
])
def test_right_answers_on_other_networks(spec, claim):
    assert example(spec).check(claim).verdict == Verdict.RIGHT


# --- the verdicts short of right --------------------------------------------------------------------
def test_a_claim_that_needs_targets_summing_to_one_says_so():
    soft = example("soft-targets")  # targets not declared to sum to one
    checked = soft.check("dE/dz[j] = o[j] - t[j]")
    assert checked.verdict == Verdict.ASSUMED and checked.assumption == Targets.DISTRIBUTION
    assert not checked.is_right and "sum to one over j" in " ".join(soft.check_report(checked).split())
    assert soft.check("dE/dz[j] = o[j]*sum(k, t[k]) - t[j]").verdict == Verdict.RIGHT
    # regression: t_j^2 = t_j holds for one-hot targets, not for every distribution
    one_hot = soft.check("dE/dz[j] = o[j] - t[j]**2")
    assert one_hot.verdict == Verdict.ASSUMED and one_hot.assumption == Targets.ONE_HOT
    assert "are one-hot" in soft.check_report(one_hot)


def test_the_diagonal_of_a_jacobian_that_is_not_diagonal_is_only_part_of_it(builtin):
    checked = builtin.check(r"\frac{\partial o_j}{\partial z_j} = o_j(1-o_j)")
    assert checked.verdict == Verdict.DIAGONAL and not checked.is_right
    report = " ".join(builtin.check_report(checked).split())
    assert "-o[j]*o[k] where k ≠ j" in report
    # an elementwise layer's derivative is diagonal: there its diagonal is all of it
    tanh = example("two-layer-tanh")
    assert tanh.check("da1[j]/dz1[j] = 1 - a1[j]**2").verdict == Verdict.RIGHT


# --- wrong claims: the diagnosis, on networks the models were not written for -----------------------
@pytest.mark.parametrize("network, claim, models", [
    # the first seed question, on the built-in network
    (Derivation.builtin, "dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]", ("diagonal_only",)),
    (Derivation.builtin, "dE/dw[i,j] = -t[j]*(1 - o[j])*o[i]", ("diagonal_only", "wrong_layer")),
    (Derivation.builtin, "dE/dz[k] = t[k] - o[k]", ("lost_sign",)),
    (Derivation.builtin, "dE/dw[i,j] = y[j]*(o[i] - t[i])", ("transposed",)),
    # the second: dividing, with the sign of its dE/dz
    (Derivation.builtin, "dE/do[j] = (t[j] - o[j])/(o[j]*(1 - o[j]))", ("divided", "lost_sign")),
    (Derivation.builtin, "dE/do[j] = partial(E, z[j])/partial(o[j], z[j])", ("divided",)),
    # a hidden tanh layer below the softmax
    (lambda: example("two-layer-tanh"), "dE/dz1[j] = -(1 - a1[j]**2)*sum(k, w2[j,k]*t[k]*(1 - o[k]))",
     ("diagonal_only",)),
    (lambda: example("two-layer-tanh"), "dE/dw2[i,j] = z1[i]*(o[j] - t[j])", ("wrong_layer",)),
    # a softmax with temperature, written as a custom layer
    (lambda: example("temperature-softmax"), "dE/dz[j] = -t[j]*(1 - o[j])/T", ("diagonal_only",)),
    (lambda: example("temperature-softmax"), "dE/dz[j] = o[j] - t[j]", None),
    # a batch with the mean over it
    (lambda: example("batch-mean"), "dE/dz[s,j] = o[s,j] - t[s,j]", ("lost_mean",)),
    (lambda: example("batch-mean"), "dE/dz[s,j] = -t[s,j]*(1 - o[s,j])/B", ("diagonal_only",)),
    # a skip connection: z reaches the loss on two paths
    (residual, "dE/dz[j] = (1 - a[j]**2)*(o[j] - t[j])", ("ignored_path",)),
    (residual, "dE/dz[j] = o[j] - t[j]", ("ignored_path",)),
])
def test_each_mistake_is_diagnosed(network, claim, models):
    checked = network().check(claim)
    assert checked.verdict == Verdict.WRONG
    if models is None:
        return  # wrong, and not one of the catalogue's
    assert checked.diagnosis is not None, claim
    assert checked.diagnosis.models == models


def test_a_wrong_claim_gets_the_right_answer_and_what_it_misses(builtin):
    checked = builtin.check("dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]")
    report = " ".join(builtin.check_report(checked).split())
    assert "right: dE/dw[i,j] = y[i]*(o[j] - t[j])" in report
    assert "right - claimed = o[j]*y[i]*(1 - t[j])" in report
    assert "only the k = j case of do[k]/dz[j] is kept" in report
    assert "-o[j]*o[k] where k ≠ j" in report


def test_the_counterexample_is_one(builtin):
    """Recompute the network at the counterexample's values by hand: the claim's value and the
    true derivative (by finite differences of the loss) are the ones reported, and differ."""
    example_ = builtin.check("dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]").counterexample
    assert example_.sizes == {"m": 2, "n": 2}
    w, y, b, t = (example_.values[name] for name in "wybt")

    def loss(w):
        z = y @ w + b
        o = np.exp(z) / np.exp(z).sum()
        return -(t * np.log(o)).sum(), o
    i, j = example_.entry["i"], example_.entry["j"]
    o = loss(w)[1]
    assert -t[j] * (1 - o[j]) * y[i] == pytest.approx(example_.claimed, abs=1e-12)
    step = np.zeros_like(w)
    step[i, j] = 1e-6
    true = (loss(w + step)[0] - loss(w - step)[0]) / 2e-6
    assert true == pytest.approx(example_.true, abs=1e-7)
    assert abs(true - example_.claimed) > 0.05


def test_an_index_over_two_ranges_is_named(builtin):
    checked = builtin.check(r"\frac{\partial z_j}{\partial w_{ij}} = o_i")
    assert checked.verdict == Verdict.WRONG and checked.diagnosis.models == ("wrong_layer",)
    conflict, = checked.claim.conflicts
    assert conflict.index == "i" and {use[0] for use in conflict.uses} == {"w", "o"}
    assert "labels axes of different ranges" in " ".join(builtin.check_report(checked).split())


# --- LaTeX and the spec syntax: one reader, one verdict ----------------------------------------------
@pytest.mark.parametrize("latex, spec", [
    (r"\frac{\partial E}{\partial w_{ij}} = -t_j (1-o_j) y_i", "dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]"),
    (r"\frac{\partial E}{\partial z_k} = -\sum_j t_j(\delta_{jk} - o_k)",
     "dE/dz[k] = -sum(j, t[j]*(delta(j,k) - o[k]))"),
    (r"\frac{\delta E}{\delta o_j} = \frac{t_j-o_j}{o_j(1-o_j)}", "dE/do[j] = (t[j]-o[j])/(o[j]*(1-o[j]))"),
    (r"\frac{dE}{dz_k} = \frac{e^{z_k}}{\sum_l e^{z_l}} - t_k", "dE/dz[k] = exp(z[k])/sum(l, exp(z[l])) - t[k]"),
    (r"\frac{\partial E}{\partial b_j} = \log e^{o_j} \cdot 1 - t_{j}", "dE/db[j] = log(exp(o[j]))*1 - t[j]"),
])
def test_latex_and_spec_syntax_read_the_same(builtin, latex, spec):
    from_latex, from_spec = read_latex_claim(builtin.network, latex), read_claim(builtin.network, spec)
    assert from_latex.lhs == from_spec.lhs and from_latex.rhs == from_spec.rhs
    assert builtin.check(latex).verdict == builtin.check(spec).verdict


@pytest.mark.parametrize("claim, problem", [
    (r"\frac{\partial E}{\partial q_j} = 1", "'q' is not a quantity of this network"),
    (r"\frac{\partial E}{\partial W_{ij}} = y_i", "'W' is not a quantity of this network; did you mean 'w'?"),
    (r"\frac{\partial E}{\partial z_k} = t_1", "not numbered entries such as t_1"),
    (r"\frac{\partial E}{\partial z_k} = (o_k", "'(' is never closed at column 35"),
    (r"\frac{\partial E}{\partial z_k} = \foo o_k", "'\\foo' is not part of the LaTeX derive reads at column 35"),
    (r"\frac{\partial E}{\partial z_k} = o_{kj}", "'o' has 1 index, the subscript gives 2"),
    (r"\frac{\partial E}{\partial z_k} = \sum t_k", "write the index a sum runs over"),
    (r"o_j = e^{z_j}", "the left-hand side must be a derivative"),
    ("dE/dz[k] = o[k] - t[j]", "index 'j' is neither on the left-hand side nor summed over"),
    ("dE/dz[k] = o[k] +", "syntax error"),
    ("dE/dz = o[k]", "'z' has 1 index, the claim gives it 0"),
    ("E = 1", "the left-hand side must be a derivative"),
    ("dE/dz[k]", "a claim is an equation"),
    ("dE/dt[k] = 1", "'t' is a target"),
    ("dE/dz[k] = 1/log(1)", "the right-hand side divides by zero"),  # regression: it crashed the evaluator
    ("dE/dz[k] = log(-1)", "not a real number"),                     # and so did this
])
def test_a_claim_that_cannot_be_read_gets_one_line(builtin, claim, problem):
    with pytest.raises(InputError) as error:
        builtin.check(claim)
    assert problem in str(error.value)
    assert "\n" not in str(error.value)


LATEX_PIECES = ["o_j", "t_j", "y_i", "z_k", "w_{ij}", "+", "-", "(", ")", r"\frac{", "}{", "}", r"\sum_k",
                r"\sum_{l=1}^n", r"\delta_{jk}", "e^{", r"\log", r"\cdot", "2", "0.5", "^2", "_", "{", r"\left(",
                r"\right)", r"\partial", "E", "=", "&", r"\\", "q", r"\exp", r"\sqrt{", "b_j",
                r"\frac{\partial o_j}{\partial z_k}", "/", "*"]


@given(st.lists(st.sampled_from(LATEX_PIECES), max_size=14))
def test_any_latex_is_read_or_refused_in_one_line(pieces):
    derivation = Derivation.builtin()
    text = r"\frac{\partial E}{\partial w_{ij}} = " + " ".join(pieces)
    try:
        checked = derivation.check(text)
    except InputError as error:
        assert "\n" not in str(error)
        return
    assert checked.verdict in Verdict


@given(st.text(alphabet="dEwzoytij[],()+-*/=. 0123456789kpartialsumdeltaexplog", max_size=40))
def test_any_text_claim_is_read_or_refused_in_one_line(text):
    try:
        Derivation.builtin().check(text)
    except InputError as error:
        assert "\n" not in str(error)


# --- derivations line by line ------------------------------------------------------------------------
def test_the_first_askers_derivation(builtin):
    """As he wrote it (examples/checks/first-asker.md): the chain rule without its sum is the first
    wrong step, o_j(1 - o_j) is only the diagonal, and the result is wrong twice over."""
    checked = builtin.check_derivation((CHECKS / "first-asker.md").read_text())
    verdicts = {(s.line.number, s.line.side): s.check for s in checked.steps}
    assert checked.first_wrong.line.number == 8
    assert verdicts[8, 1].diagnosis.models == ("diagonal_only",)
    assert verdicts[12, 1].diagnosis.models == ("wrong_layer",)      # o_i: the asker's name for y_i
    assert verdicts[16, 1].verdict == Verdict.RIGHT                  # dE/do_j = -t_j/o_j
    assert verdicts[20, 1].verdict == Verdict.DIAGONAL               # do_j/dz_j = o_j(1 - o_j)
    assert verdicts[24, 2].diagnosis.models == ("diagonal_only", "wrong_layer")
    assert checked.steps[-1].follows is True
    assert checked.skipped == (6,)                                   # E(t,o) = ...: a definition


def test_the_second_askers_division(builtin):
    checked = builtin.check_derivation((CHECKS / "second-asker.md").read_text())
    first, second, guess = checked.steps
    assert first.check.diagnosis.models == ("divided",)
    assert second.check.diagnosis.models == ("divided", "lost_sign") and second.follows is False
    assert guess.check.verdict == Verdict.RIGHT


def test_a_plain_text_derivation_with_continuation_lines(builtin):
    text = ("# dE/dz, step by step\n"
            "dE/dz[k] = -sum(j, t[j]*(delta(j,k) - o[k]))\n"
            "= sum(j, t[j]*o[k]) - t[k]\n"
            "= o[k] - t[k]\n"
            "= o[k] + t[k]\n")
    checked = builtin.check_derivation(text)
    assert [s.check.verdict for s in checked.steps] == [Verdict.RIGHT] * 3 + [Verdict.WRONG]
    assert [s.follows for s in checked.steps] == [None, True, True, False]
    assert checked.first_wrong.line.number == 5


def test_an_align_block_is_split_into_rows(builtin):
    text = ("\\begin{align}\n"
            "\\frac{\\partial E}{\\partial z_k} &= -\\sum_j t_j (\\delta_{jk} - o_k) \\\\\n"
            "&= o_k \\sum_j t_j - t_k \\label{eq:general} \\\\\n"
            "&= o_k - t_k\n"
            "\\end{align}\n")
    checked = builtin.check_derivation(text)
    assert [s.line.number for s in checked.steps] == [2, 3, 4]
    assert checked.all_right


def test_a_derivation_error_names_the_line(builtin):
    with pytest.raises(ClaimError) as error:
        read_chain(builtin.network, "dE/dz[k] = o[k] - t[k]\n= o[k] - q[k]\n", "steps.txt")
    assert "steps.txt, line 2: 'q' is not a quantity" in str(error.value)
    with pytest.raises(InputError, match="notes.md: found no step to check"):
        read_chain(builtin.network, "just prose\n", "notes.md")
    with pytest.raises(ClaimError, match="must say which derivative"):
        read_chain(builtin.network, "= o[k]\n", "steps.txt")


# --- reports and the command line ---------------------------------------------------------------------
def test_the_command_says_wrong_with_exit_1_and_right_with_exit_0(cli):
    run = cli("check", "--claim", "dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]")
    out = " ".join(run.stdout.split())
    assert run.returncode == 1
    assert "wrong" in out and "only the k = j case of do[k]/dz[j] is kept" in out
    assert "right: dE/dw[i,j] = y[i]*(o[j] - t[j])" in out
    assert "counterexample, at sizes m = 2, n = 2" in out and "t = [0, 1]" in out
    run = cli("check", "--claim", "dE/dw[i,j] = y[i]*(o[j] - t[j])")
    assert (run.returncode, run.stdout) == (0, "claim: dE/dw[i,j] = y[i]*(o[j] - t[j])\n  right\n")


def test_the_command_checks_a_file_against_a_spec(cli, one_line_error):
    # the asker's names (y, w, b) are not those of the two-layer network
    one_line_error(cli("check", EXAMPLES / "two-layer-tanh.toml", CHECKS / "first-asker.md"),
                   "first-asker.md, line 8: 'w' is not a quantity of this network")
    run = cli("check", EXAMPLES / "softmax-cross-entropy.toml", CHECKS / "first-asker.md")
    assert run.returncode == 1 and "The first step that is not right is on line 8." in run.stdout


def test_json_report(cli):
    run = cli("check", CHECKS / "first-asker.md", "--format", "json")
    report = json.loads(run.stdout)
    assert run.returncode == 1 and report["first_wrong_line"] == 8 and report["skipped_lines"] == [6]
    first = report["steps"][0]
    assert first["diagnosis"] == ["diagonal_only"] and first["right"] == "y[i]*(o[j] - t[j])"
    assert first["counterexample"]["sizes"] == {"m": 2, "n": 2}
    assert set(first["counterexample"]["values"]) == {"w", "y", "b", "t", "z", "o"}


@pytest.mark.parametrize("arguments, message", [
    (["check"], "give the claims to check with --claim, or a derivation FILE"),
    (["check", "a.toml", "b.toml", "--claim", "x"], "at most one spec"),
    (["check", "missing.md"], "missing.md: no such file"),
    (["check", "--claim", "dE/dq = 1"], "'q' is not a quantity"),
])
def test_bad_input_to_check_is_one_line(cli, one_line_error, arguments, message):
    one_line_error(cli(*arguments), message)


def test_markdown_report_parses_with_katex(builtin, katex_node):
    from test_documents import katex_errors, math_blocks
    reports = [builtin.check_report(builtin.check_derivation((CHECKS / name).read_text()), "markdown")
               for name in ("first-asker.md", "second-asker.md")]
    reports.append(builtin.check_report(builtin.check(r"\frac{\partial o_j}{\partial z_j} = o_j(1-o_j)"), "markdown"))
    blocks = [block for report in reports for block in math_blocks(report)]
    assert len(blocks) > 40
    assert katex_errors(katex_node, blocks) == []


def test_reports_are_deterministic(builtin):
    text = (CHECKS / "first-asker.md").read_text()
    first = [builtin.check_report(builtin.check_derivation(text), fmt) for fmt in ("text", "markdown", "json")]
    again = Derivation.builtin()
    assert first == [again.check_report(again.check_derivation(text), fmt) for fmt in ("text", "markdown", "json")]


def test_readme_example_of_check_is_true(cli):
    """README's check example is what the command prints, to the character."""
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```sh\n\$ derive check --claim '([^']+)'\n(.*?)```", readme, re.S)
    assert shown, "README shows no derive check example"
    run = cli("check", "--claim", shown.group(1))
    assert run.returncode == 1 and run.stdout == shown.group(2)


def test_readme_api_lines_of_check(builtin):
    readme = (ROOT / "README.md").read_text()
    c = builtin.check("dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]")
    from derive.printing import text
    shown = f"Verdict.WRONG, {text(c.right)}, {text(c.difference)}"
    assert f"# {shown}" in readme and c.verdict == Verdict.WRONG
    assert f"# ('{c.diagnosis.models[0]}',), the sizes" in readme


# --- regressions from the review of derive check ------------------------------------------------------
@pytest.mark.parametrize("spec, claim", [
    # a dead rectifier at the all-2 point made every gradient below it 0 there
    ("relu-class-weights", "dE/db[j] = heaviside(h[j])*x[j]"),
    ("relu-class-weights", "dE/dh[j] = heaviside(h[j])*sum(k, w[k,j]*(o[k]*sum(l, c[l]*t[l]) - c[k]*t[k]))"),
])
def test_a_claim_is_compared_at_more_than_one_point(spec, claim):
    assert example(spec).check(claim).verdict == Verdict.WRONG


def test_a_derivative_of_a_quantity_by_itself(builtin):
    assert builtin.check("dz[j]/dz[k] = delta(j,k)").verdict == Verdict.RIGHT
    assert builtin.check("dz[j]/dz[j] = 2").verdict == Verdict.WRONG  # it crashed the counterexample


def test_the_diagonal_of_any_derivative(builtin):
    """do_j/dw_ij through z is the same situation as do_j/dz_j: right only where the indices are equal."""
    assert builtin.check("do[j]/dw[i,j] = y[i]*o[j]*(1-o[j])").verdict == Verdict.DIAGONAL


@pytest.mark.parametrize("claim, read_as", [
    (r"\frac{\partial a1_i}{\partial z1_i} = 1 - \tanh(z1_i)^2", "1 - tanh(z1[i])**2"),   # (tanh x)^2, not tanh(x^2)
    (r"\frac{\partial E}{\partial z1_j} = a1_j \qquad (2)", "a1[j]"),                     # an equation number
    (r"\frac{\partial E}{\partial z1_j} = a1_j \tag{2}", "a1[j]"),
    (r"dE/dz1_j = a1_j", "a1[j]"),
    (r"\partial E / \partial z1_j = a1_j", "a1[j]"),
    (r"dE/dz1[j] = a1[j]^2", "a1[j]**2"),
    (r"\frac{\partial E}{\partial z^{[1]}_j} = \frac1{a1_j}", "1/a1[j]"),
    (r"\frac{\partial E}{\partial z1_j} = \left[z1_j > 0\right] a1_j", "heaviside(z1[j])*a1[j]"),
    (r"\frac{\partial E}{\partial z1_j} = \frac{\partial}{\partial z1_j}\left(a1_j^2\right)",
     "partial(a1[j]**2, z1[j])"),
])
def test_latex_people_write(claim, read_as):
    from derive.render.claims import _Text
    derivation = example("two-layer-tanh")
    assert _Text.expr(read_latex_claim(derivation.network, claim).rhs) == read_as


@pytest.mark.parametrize("claim, problem", [
    (r"\frac{\partial E}{\partial", "the expression ends too early"),   # it crashed (exit 70)
    (r"\frac{dE}{d", "the expression ends too early"),
    (r"\frac{\partial E}{\partial z_j} = \sum_{k \neq j} o_k", "derive sums over the whole range of an index"),
    (r"\frac{\partial^2 E}{\partial z_j^2} = 1", "first derivatives only"),
    ("dE/dz[j] = o[j] = t[j]", "a claim has one '='"),
])
def test_latex_that_cannot_be_read_says_why(builtin, claim, problem):
    with pytest.raises(InputError, match=re.escape(problem)):
        builtin.check(claim)


@pytest.mark.parametrize("text", [
    "$$\n\\begin{aligned}\n\\frac{\\partial E}{\\partial z_k} &= -\\sum_j t_j (\\delta_{jk} - o_k)"
    " && \\text{chain rule} \\\\[4pt]\n&= o_k \\sum_j t_j - t_k \\,. \\\\\n&= o_k - t_k \\;.\n\\end{aligned}\n$$\n",
    "We find $\\frac{\\partial E}{\\partial z_k} = o_k - t_k$. Then T = 5 and dz/dw is y.\n",
])
def test_derivations_as_people_format_them(builtin, text):
    assert builtin.check_derivation(text).all_right


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_derive_check_agrees_with_every_step_derive_writes(spec):
    """The Derivation section of each rendered document, checked by derive check: an independent
    reading of every printed line, back through the LaTeX reader."""
    from conftest import OUTPUT
    section = (OUTPUT / f"{spec.stem}.md").read_text().split("\n## Derivation\n")[1].split("\n## ")[0]
    checked = Derivation.from_spec(spec).check_derivation(section, spec.stem)
    assert len(checked.steps) > 15 and checked.all_right


def test_several_claims_make_one_json_object(cli):
    run = cli("check", "--claim", "dE/dz[k] = o[k]", "--claim", "dE/dz[k] = o[k] - t[k]", "--format", "json")
    report = json.loads(run.stdout)
    assert run.returncode == 1 and report["all_right"] is False and len(report["steps"]) == 2
    assert [s["verdict"] for s in report["steps"]] == ["wrong", "right"]


def test_a_scalar_counterexample_has_no_entry(cli):
    run = cli("check", EXAMPLES / "temperature-softmax.toml", "--claim", "dE/dT = 0")
    assert "\n    the claim gives 0, the true value is" in run.stdout and "at :" not in run.stdout


def test_a_wrong_claim_on_top_of_an_assumption():
    checked = example("soft-targets").check("dE/dz[j] = t[j] - o[j]")
    assert checked.diagnosis.models == ("lost_sign",) and checked.diagnosis.detail["assumed"] == Targets.DISTRIBUTION
    assert "taken to sum to one" in " ".join(example("soft-targets").check_report(checked).split())


def test_a_transposed_matrix_inside_a_sum(builtin):
    checked = builtin.check("dE/dy[i] = sum(j, w[j,i]*(o[j]-t[j]))")
    assert checked.diagnosis.models == ("transposed",)


def test_a_layer_derivative_reads_as_the_chain_rule_uses_it_or_as_the_total():
    """dh_k/dz_j of a layer norm: as its own equation's partial (mu and v held fixed), which
    derive's documents and a chain rule use, and as the total derivative through mu and v; both
    right, and the report says which (derive check used to call the first wrong)."""
    layer_norm = example("layer-norm")
    partial = layer_norm.check("dh[k]/dz[j] = delta(j,k)/sqrt(v + eps)")
    total = layer_norm.check("dh[k]/dz[j] = (delta(j,k) - 1/n - h[j]*h[k]/n)/sqrt(v + eps)")
    assert (partial.verdict, partial.reading) == (Verdict.RIGHT, "partial")
    assert (total.verdict, total.reading) == (Verdict.RIGHT, "total")
    assert "with mu, v held fixed" in layer_norm.check_report(partial)
    assert layer_norm.check("dh[k]/dz[j] = delta(j,k)").verdict == Verdict.WRONG


def test_a_row_broken_over_two_lines_is_one_step(builtin):
    text = ("\\begin{align*}\n\\frac{\\partial E}{\\partial z_k} &= o_k \\sum_j t_j \\\\\n"
            "&\\qquad - t_k \\\\\n&= o_k - t_k\n\\end{align*}\n")
    checked = builtin.check_derivation(text)
    assert len(checked.steps) == 2 and checked.all_right


# --- regressions from the review of the whole session ----------------------------------------------
def test_quantities_read_back_as_derive_prints_them():
    """\\kappa and \\mathrm{logits} are how derive's documents print the names kappa and logits."""
    spec = {"layers": [{"type": "affine", "input": "y", "output": "logits", "weight": "w"},
                       {"type": "custom", "name": "scaled softmax", "define": "o[j] = exp(logits[j]/kappa)/"
                                                                          "sum(k, exp(logits[k]/kappa))"}],
            "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
            "constants": ["kappa"]}
    derivation = Derivation.from_dict(spec)
    assert derivation.check(r"\frac{\partial E}{\partial \mathrm{logits}_{j}} = \frac{o_j - t_j}{\kappa}").verdict \
        == Verdict.RIGHT


def test_distribution_targets_may_still_be_assumed_one_hot():
    soft = Derivation.from_dict({"layers": [{"type": "softmax", "input": "z", "output": "o"}],
                                 "loss": {"type": "cross_entropy", "input": "o", "target": "t",
                                          "targets": "distribution"}})
    checked = soft.check("dE/dz[j] = o[j] - t[j]**2")
    assert checked.verdict == Verdict.ASSUMED and checked.assumption == Targets.ONE_HOT


def test_a_derivative_of_an_expression_in_a_claim_is_no_internal_error(builtin):
    checked = builtin.check(r"\frac{\partial E}{\partial z_j} = \frac{\partial}{\partial z_j}"
                            r"\left(-\sum_k t_k \log o_k\right)")
    assert checked.verdict == Verdict.WRONG and checked.difference is None  # o held fixed: 0
