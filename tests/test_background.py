"""Verification in a child process beside rendering: the same documents, the same errors."""
import os

import pytest

import derive.api
from derive import Derivation
from derive.background import in_background
from derive.errors import VerificationError

from conftest import EXAMPLES

forks = pytest.mark.skipif(not hasattr(os, "fork"), reason="this platform has no fork; the work is done in turn")


@forks
def test_work_in_the_background_is_done_in_another_process_and_its_value_returned():
    assert in_background(os.getpid).result() != os.getpid()
    assert in_background(lambda: {"sizes": (2, 3)}).result() == {"sizes": (2, 3)}


def test_work_not_worth_a_process_is_done_here_when_asked_for():
    assert in_background(os.getpid, worth_it=False).result() == os.getpid()


@pytest.mark.parametrize("worth_it", [True, False])
def test_an_error_in_the_background_is_raised_here_as_it_was(worth_it):
    def failing():
        raise VerificationError("step 2 (cancel) of dE/dw does not agree with the line before")
    with pytest.raises(VerificationError, match=r"step 2 \(cancel\) of dE/dw"):
        in_background(failing, worth_it=worth_it).result()


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["verified in a child", "verified in turn"])
def test_documents_are_byte_identical_however_they_are_verified(threshold, monkeypatch):
    monkeypatch.setattr(derive.api, "PROCESS_WORTH_BLOCKS", threshold)
    together = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml").documents(["markdown", "latex"])
    alone = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml")
    assert together == {"markdown": alone.markdown(), "latex": alone.latex()}


def test_a_failed_matrix_check_fails_the_documents_after_the_steps_are_checked(monkeypatch):
    def wrong(engine, names):
        raise VerificationError("the matrix form of dE/dw does not agree with its index form")
    monkeypatch.setattr(derive.api, "PROCESS_WORTH_BLOCKS", 0)
    monkeypatch.setattr(derive.api, "check_matrices", wrong)
    with pytest.raises(VerificationError, match="the matrix form of dE/dw"):
        Derivation.from_spec(EXAMPLES / "softmax-cross-entropy.toml").documents(["markdown"])


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["verified in a child", "verified in turn"])
def test_a_failed_verification_fails_the_documents(threshold, monkeypatch):
    def wrong(engine, names):
        raise VerificationError("step 3 (cancel) of dE/dw does not agree with the line before")
    monkeypatch.setattr(derive.api, "PROCESS_WORTH_BLOCKS", threshold)
    monkeypatch.setattr(derive.api, "check_steps", wrong)
    with pytest.raises(VerificationError, match=r"step 3 \(cancel\) of dE/dw"):
        Derivation.from_spec(EXAMPLES / "softmax-cross-entropy.toml").documents(["markdown"])
