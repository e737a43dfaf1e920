"""README stays true: its excerpts are in the rendered document, its API example gives what it says.

Nothing here pins a number that a new rule would change: where README states a count, the
test reads it from README and compares it with what derive does.
"""
import re

import pytest

from derive import Derivation
from derive.printing import text

from conftest import OUTPUT, ROOT


@pytest.fixture(scope="module")
def readme() -> str:
    return (ROOT / "README.md").read_text()


@pytest.fixture(scope="module")
def builtin_w():
    d = Derivation.builtin()
    return d, d.gradient("w")


def api_comment(readme: str, code: str) -> str:
    """The comment README's API example puts after a line of code: ``code   # comment``."""
    found = re.search(rf"^{re.escape(code)}\s+# (.*)$", readme, re.M)
    assert found, f"README's API example has no line '{code}  # ...'"
    return found.group(1).strip()


def test_excerpt_is_taken_from_the_rendered_document(readme):
    excerpt = re.search(r"<!-- excerpt: (\S+) .*?-->\n```markdown\n(.*?)```\n<!-- end excerpt -->", readme, re.S)
    assert excerpt, "README has no excerpt block"
    assert excerpt.group(2) in (OUTPUT / excerpt.group(1)).read_text()


def test_api_example(readme, builtin_w):
    d, g = builtin_w
    assert text(g.result) == "y[i]*(o[j] - t[j])"
    assert f"g.result                                 # the SymPy expression {g.result} " in readme
    assert api_comment(readme, "g.indices") == "(" + ", ".join(i.name for i in g.indices) + ")"
    assert api_comment(readme, "[s.rule for s in g.block.steps]") == str([s.rule for s in g.block.steps])
    assert api_comment(readme, 'd.numpy_code("w")') == repr(d.numpy_code("w"))


def test_the_step_count_readme_states_is_the_real_one(readme, builtin_w):
    _, g = builtin_w
    claims = re.findall(r"dE/dw of the seed network with its (\d+) steps", readme)
    assert all(int(claim) == len(g.steps) for claim in claims), \
        f"README says dE/dw has {claims} steps; it has {len(g.steps)} (rerun benchmarks/bench.py)"


def test_the_two_commands(readme):
    assert "pip install -e . && derive build" in readme
    assert "npm ci && pip install -e '.[test]' && python -m pytest" in readme
    assert "npm ci && pip install -e '.[test]' && python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_matrix_excerpt_lines_are_in_the_rendered_document(readme):
    block = readme.split("in a stated layout and with its")[1].split("```markdown\n")[1].split("```")[0]
    document = (OUTPUT / "softmax-cross-entropy.md").read_text()
    for line in block.strip().splitlines():
        assert line in document


def test_the_backward_pass_shown_is_what_derive_backward_prints(readme, cli):
    shown = re.search(r"<!-- backward: (\S+) -->\n```python\n(.*?)```\n<!-- end backward -->", readme, re.S)
    assert shown, "README shows no backward pass"
    process = cli("backward", ROOT / shown.group(1))
    assert process.returncode == 0 and process.stdout == shown.group(2)
