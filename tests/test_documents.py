"""The committed documents: fresh, deterministic, accepted by pdflatex and by KaTeX."""
import json
import re
import subprocess

import pytest

from derive import Derivation

from conftest import EXAMPLES, OUTPUT

TEX = sorted(OUTPUT.glob("*.tex"))
MARKDOWN = sorted(OUTPUT.glob("*.md"))


def test_output_holds_exactly_what_build_writes(built):
    committed = {p.name: p.read_bytes() for p in sorted(OUTPUT.iterdir())}
    assert sorted(built) == sorted(committed), "output/ has missing or extra files: run 'derive build'"
    stale = [name for name in built if built[name] != committed[name]]
    assert not stale, f"output/ is stale, run 'derive build': {stale}"


def test_build_is_byte_identical_from_run_to_run(built, build, tmp_path):
    assert build(tmp_path / "again") == built


@pytest.mark.parametrize("path", TEX, ids=lambda p: p.name)
def test_latex_compiles_with_pdflatex(path, pdflatex, tmp_path):
    process = subprocess.run([pdflatex, "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                              f"-output-directory={tmp_path}", str(path)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert process.returncode == 0, process.stdout[-2000:]
    assert (tmp_path / path.with_suffix(".pdf").name).stat().st_size > 1000
    log = (tmp_path / path.with_suffix(".log").name).read_text(errors="replace")
    assert "Overfull \\hbox" not in log, "a formula runs into the margin"


def math_blocks(markdown: str) -> list[dict]:
    """Every $$ display block and $ inline formula of a Markdown document."""
    blocks = [{"tex": m.group(1).strip(), "display": True}
              for m in re.finditer(r"^\$\$\n(.*?)\n\$\$$", markdown, re.S | re.M)]
    prose = re.sub(r"^\$\$\n.*?\n\$\$$", "", markdown, flags=re.S | re.M)
    prose = re.sub(r"`[^`]*`", "", prose)
    blocks += [{"tex": m.group(1), "display": False} for m in re.finditer(r"(?<![\\$])\$([^$\n]+)\$", prose)]
    return blocks


def test_math_extraction_finds_display_and_inline_math():
    found = math_blocks("a $x_j$ b\n\n$$\n\\frac{a}{b}\n$$\n`$not$`\n")
    assert found == [{"tex": "\\frac{a}{b}", "display": True}, {"tex": "x_j", "display": False}]


def katex_errors(katex_node, blocks: list[dict]) -> list[dict]:
    """What KaTeX (strict, no trust) reports for each formula that fails, in one node process."""
    process = subprocess.run(katex_node, input=json.dumps(blocks), capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


@pytest.fixture(scope="module")
def katex_errors_by_document(katex_node) -> dict[str, tuple[int, list[dict]]]:
    """Every math block of every committed Markdown document through KaTeX in one process:
    document name -> (how many blocks it has, KaTeX's errors for them)."""
    blocks = {path.name: math_blocks(path.read_text()) for path in MARKDOWN}
    everything = [(name, block) for name, found in blocks.items() for block in found]
    errors = {name: [] for name in blocks}
    for error in katex_errors(katex_node, [block for _, block in everything]):
        errors[everything[error["position"]][0]].append(error)
    return {name: (len(blocks[name]), errors[name]) for name in blocks}


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_markdown_math_parses_with_katex(path, katex_errors_by_document):
    count, errors = katex_errors_by_document[path.name]
    assert count > 5
    assert errors == []


def test_katex_check_rejects_broken_math(katex_node):
    broken = [{"tex": "\\frac{a}{", "display": True}, {"tex": "x_j", "display": False},
              {"tex": "\\notamacro x", "display": False}]
    assert [error["position"] for error in katex_errors(katex_node, broken)] == [0, 2]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_each_block_appears_once_numbered_in_order(path):
    numbers = [int(n) for n in re.findall(r"^### \((\d+)\)", path.read_text(), re.M)]
    assert numbers == list(range(1, len(numbers) + 1))
    tags = [int(n) for n in re.findall(r"\\tag\{(\d+)\}", path.read_text())]
    assert tags == numbers


def test_a_loss_with_another_name_is_called_by_it():
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "o", "weight": "w"}],
        "loss": {"type": "custom", "define": "L = sum(j, (o[j] - t[j])**2)", "target": "t"}})
    markdown = derivation.markdown()
    assert r"\frac{\partial L}{\partial \mathbf{W}}" in markdown and r"\partial E" not in markdown
    assert derivation.text("w").startswith("dL/dw[i,j] = ")


def test_a_document_defines_the_matrix_symbols_it_uses_and_no_others(example):
    markdown = example.markdown()
    section = markdown.split("## Matrix form")[1].split("## Verification")[0]
    definitions, math = section.split("The quantities are")[0], section.split("network computes")[1]
    for symbol in (r"\odot", r"\oslash"):
        assert (symbol in definitions) == (symbol in math), symbol
    assert "finite difference" in markdown and "as below" not in markdown  # no dangling reference


def test_the_relu_convention_is_stated_with_the_assumptions_not_in_a_reason(derivation_of):
    markdown = derivation_of("relu-class-weights").markdown()
    conventions = markdown.split("## Conventions and assumptions")[1].split("## Derivation")[0]
    assert r"$\operatorname{relu}'(0)$ is taken to be $0$" in conventions
    assert r"\text{, else 0}" not in markdown.split("## Derivation")[1]  # the reason column stays short
    assert "is flat, with derivative" not in markdown  # the step's own convention: only where a step is written
    assert "relu'(0)" not in derivation_of("two-layer-tanh").markdown()


def test_a_log_of_a_sum_of_exponentials_says_how_code_computes_it():
    """#10: log-softmax never said why one uses it; the stable form is stated where the equation has it."""
    from derive import Derivation
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "h[j] = v[j] - log(sum(p, exp(2*v[p])))", "input": "v"}],
        "loss": {"type": "mse", "input": "h", "target": "t"}})
    markdown = derivation.markdown()
    assert r"$c + \log\left(\sum_{p} e^{2 v_{p} - c}\right)$ with $c = \max_{p} 2 v_{p}$" in markdown
    assert "In code" not in Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml").markdown()


def test_a_long_line_is_broken_before_a_plus_or_minus():
    from derive.render.document import WIDE, _lines
    term = r"\frac{a_{j} \left(b_{j} - c_{j}\right)}{\sqrt{\varepsilon + v}}"
    top = " - ".join([term] * 5)
    first, second = _lines(top)
    assert len(top) > WIDE and second.startswith("- ") and f"{first} {second}" == top
    assert abs(len(first) - len(second)) < len(term) + 5  # nearest the middle
    inside = r"x_{i} \left(" + top + r"\right)"
    first, second = _lines(inside)
    assert first.startswith(r"x_{i} \Bigl(") and second.endswith(r"\Bigr)") and r"\left(b_{j}" in first
    assert _lines("a + b") == ["a + b"]
