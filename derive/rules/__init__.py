"""The rules: every step kind in one ordered catalogue, the rewrites, and the driver."""
from .catalogue import BY_NAME, REWRITES, STEPS, rules_named
from .steps import RuleContext, Step, StepKind, simplify

__all__ = ["BY_NAME", "REWRITES", "STEPS", "RuleContext", "Step", "StepKind", "rules_named", "simplify"]
