"""Results as compact as a hand derivation: every result of benchmarks/readability.py (the
examples, and layer norm, RMSNorm, batch norm, attention, GELU and focal loss written as a person
derives them) within 1.5 times its hand-written reference, each reference checked right first."""
import importlib.util

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("readability", ROOT / "benchmarks" / "readability.py")
readability = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readability)


@pytest.mark.parametrize("network, derivation, claims", list(readability.rows()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_result_is_within_its_goal(network, derivation, claims):
    for claim in claims:
        name, chars, ref_chars, ops, ref_ops = readability.measure(derivation, claim)
        assert chars <= readability.GOAL * ref_chars and ops <= readability.GOAL * ref_ops, (network, name)
        assert "sum(k, 1)" not in str(derivation.gradient(name).result)
