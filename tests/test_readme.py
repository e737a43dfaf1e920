"""README stays true: its excerpt is in the rendered document, its API example gives what it says."""
import re

from derive import Derivation
from derive.printing import text

from conftest import OUTPUT, ROOT

README = (ROOT / "README.md").read_text()


def test_excerpt_is_taken_from_the_rendered_document():
    excerpt = re.search(r"<!-- excerpt: (\S+) .*?-->\n```markdown\n(.*?)```\n<!-- end excerpt -->", README, re.S)
    assert excerpt, "README has no excerpt block"
    assert excerpt.group(2) in (OUTPUT / excerpt.group(1)).read_text()


def test_api_example():
    d = Derivation.builtin()
    g = d.gradient("w")
    assert text(g.result) == "y[i]*(o[j] - t[j])"
    assert "g.result                                 # SymPy: y[i]*(o[j] - t[j])" in README
    assert [s.rule for s in g.block.steps] == ["chain_rule", "substitute", "contract_delta"]
    assert str([s.rule for s in g.block.steps]) in README
    assert len(g.steps) == 22 and "22 steps" in README


def test_the_two_commands():
    assert "pip install -e . && derive build" in README
    assert "npm ci && pip install -e '.[test]' && python -m pytest" in README
    assert "npm ci && pip install -e '.[test]' && python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_matrix_excerpt_lines_are_in_the_rendered_document():
    block = README.split("in a stated layout and with its")[1].split("```markdown\n")[1].split("```")[0]
    document = (OUTPUT / "softmax-cross-entropy.md").read_text()
    for line in block.strip().splitlines():
        assert line in document
