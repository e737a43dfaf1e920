"""Shared fixtures and the rule for external tools: skip locally with a reason, fail in CI."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OUTPUT = ROOT / "output"
REQUIRE_TOOLS = os.environ.get("DERIVE_REQUIRE_TOOLS") == "1"


def require(tool: str, found: bool, hint: str) -> None:
    """Skip (with the reason shown by -ra) when a tool is missing; in CI, fail instead."""
    if found:
        return
    message = f"{tool} is not available ({hint})"
    if REQUIRE_TOOLS:
        pytest.fail(f"{message}; DERIVE_REQUIRE_TOOLS=1 requires it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pdflatex() -> str:
    path = shutil.which("pdflatex")
    require("pdflatex", path is not None, "install Debian's texlive-latex-base")
    return path


@pytest.fixture(scope="session")
def katex_node() -> list[str]:
    node = shutil.which("node")
    katex = (ROOT / "node_modules" / "katex").is_dir()
    require("KaTeX", node is not None and katex, "run 'npm ci' at the project root")
    return [node, str(ROOT / "tests" / "tools" / "katex-check.cjs")]


@pytest.fixture(scope="session")
def seed():
    from derive import Derivation
    return Derivation.from_spec(EXAMPLES / "softmax-cross-entropy.toml")
