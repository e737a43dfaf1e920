"""Every kind of step a derivation shows, in one ordered list.

The first five are written by the engine itself (``derive/engine``); the rest are rewrites,
which ``simplify`` tries in this order, top to bottom, taking the first that changes the
expression.  Each kind's reason is the macro of the same name in ``templates/reasons.j2``
and takes exactly the ``detail`` listed here (``tests/test_catalogue.py`` checks both).
"""
from __future__ import annotations

from . import rewrites as rw
from .steps import StepKind

# --- written by the engine, in the order they appear in a block -------------------------------
DEFINITION = StepKind("definition", ("output",))                    # d/dx of a layer's right-hand side
DIFFERENTIATE = StepKind("differentiate", ("variable", "functions"))  # SymPy's diff, Kronecker deltas included
CHAIN_RULE = StepKind("chain_rule", ("through", "variable", "loss"))  # sum over every consumer and its index
SUBSTITUTE = StepKind("substitute", ("blocks",))                    # derived blocks put into the chain
SUBSTITUTE_DERIVED = StepKind("substitute_derived", ("references", "blocks"))  # write-out at the very end

# --- the rewrites, in order of priority ----------------------------------------------------
REWRITES: tuple[StepKind, ...] = (
    # a substitution is multiplied together before anything else looks at it
    StepKind("cancel", ("factors",), rw.cancel),
    # a factor with no index (1/B, T) leaves the sums first, so no line after carries it
    StepKind("pull_out_scalar", ("factors",), rw.pull_out_scalar),
    # the derivative of a step function vanishes before anything else is done with it
    StepKind("step_is_flat", ("arguments",), rw.step_is_flat),
    # logarithms of quotients and of exponentials first: they turn into the sums the rest works on
    StepKind("log_of_exp", ("logs",), rw.log_of_exp),
    StepKind("log_of_quotient", ("logs",), rw.log_of_quotient),
    # a Kronecker delta under a sum collapses it; everything after sees the fewer sums
    StepKind("contract_delta", ("pairs",), rw.contract_delta),
    # name layer outputs back (e^{z_j} / sum_l e^{z_l} = o_j) once the deltas have chosen the indices
    StepKind("fold_definition", ("definitions",), rw.fold_definition),
    # and a logistic function written with exponentials is named, where no layer output is it
    StepKind("fold_sigmoid", ("arguments",), rw.fold_sigmoid),
    # multiply out and split sums only where that puts a delta in a term of its own, or frees a factor
    StepKind("distribute", ("why",), rw.distribute),
    StepKind("split_sum", (), rw.split_sum),
    StepKind("pull_out_constant", ("factors",), rw.pull_out_constant),
    # after a constant is pulled out, what is left to sum is 1: the sum is the size of the range
    StepKind("count_terms", ("indices", "sizes"), rw.count_terms),
    # x^g / x = x^(g - 1): SymPy adds numeric exponents itself, a symbolic one only when asked
    StepKind("combine_powers", ("bases",), rw.combine_powers),
    # common factors are taken out before multiplying out, so (a/T)(x - y) is not expanded again
    StepKind("common_factor", ("factors",), rw.common_factor),
    # a number common to a bracket stands in front of it, where it cancels against a fraction later
    StepKind("common_number", ("numbers",), rw.common_number),
    StepKind("multiply_out", ("how",), rw.multiply_out),
    # a layer's outputs that its own equation makes sum to one (a softmax's)
    StepKind("outputs_sum_to_one", ("sums",), rw.outputs_sum_to_one),
    # last: the targets' sum to one is used only after the general form has been shown
    StepKind("normalized_targets", ("sums", "target", "kind"), rw.normalized_targets),
    # and the value of a weight at the true class, which one-hot targets pick out
    StepKind("true_class", ("weights", "target"), rw.true_class),
)

# --- applied only to a requested gradient, once it is written out ------------------------------
# an error the substitutions have put in more than once is called by its name (its value is shown where it
# is derived)
NAME_ERROR = StepKind("name_error", ("error", "value", "block", "times"), rw.name_error)
# and, last, a sub-expression it repeats that is no quantity and no error gets a name of its own
ABBREVIATE = StepKind("abbreviate", ("name", "value", "times"), rw.abbreviate)

STEPS: tuple[StepKind, ...] = (DEFINITION, DIFFERENTIATE, CHAIN_RULE, SUBSTITUTE, SUBSTITUTE_DERIVED, *REWRITES,
                               NAME_ERROR, ABBREVIATE)
BY_NAME: dict[str, StepKind] = {kind.name: kind for kind in STEPS}
NORMALIZED_TARGETS = BY_NAME["normalized_targets"]


def rules_named(*names: str) -> tuple[StepKind, ...]:
    return tuple(BY_NAME[name] for name in names)


# the steps that rest on what the spec declares of the targets: documents say whether any was used
TARGET_ASSUMPTIONS = (NORMALIZED_TARGETS, BY_NAME["true_class"])

# applied to a layer's definition before it is differentiated: log(e^{z_j}/S) = z_j - log S is
# simpler to differentiate than the quotient
BEFORE_DIFFERENTIATING: tuple[StepKind, ...] = (BY_NAME["log_of_exp"], BY_NAME["log_of_quotient"])


# applied to a gradient once it is written out: a layer output the substituted results make up
# between them is named back, a scalar they bring into a sum (1/B) leaves it, and a factor they
# share (1/sqrt(v + eps)) is taken out ...
AFTER_WRITE_OUT: tuple[StepKind, ...] = rules_named("fold_definition", "pull_out_scalar", "common_factor")
# ... and in the form documents show, an error they repeat is named
FINISHING: tuple[StepKind, ...] = (*rules_named("fold_definition"), NAME_ERROR,
                                   *rules_named("pull_out_scalar", "common_factor"), ABBREVIATE)
