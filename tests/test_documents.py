"""The committed documents: fresh, deterministic, accepted by pdflatex and by KaTeX."""
import json
import re
import subprocess
import sys

import pytest

from conftest import OUTPUT, ROOT

TEX = sorted(OUTPUT.glob("*.tex"))
MARKDOWN = sorted(OUTPUT.glob("*.md"))


def build(out):
    subprocess.run([sys.executable, "-m", "derive", "build", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_output_holds_exactly_what_build_writes(tmp_path):
    fresh = build(tmp_path / "a")
    committed = {p.name: p.read_bytes() for p in sorted(OUTPUT.iterdir())}
    assert sorted(fresh) == sorted(committed), "output/ has missing or extra files: run 'derive build'"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"output/ is stale, run 'derive build': {stale}"


def test_build_is_byte_identical_from_run_to_run(tmp_path):
    assert build(tmp_path / "a") == build(tmp_path / "b")


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


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_markdown_math_parses_with_katex(path, katex_node):
    blocks = math_blocks(path.read_text())
    assert len(blocks) > 5
    process = subprocess.run(katex_node, input=json.dumps(blocks), capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == []


def test_katex_check_rejects_broken_math(katex_node):
    broken = [{"tex": "\\frac{a}{", "display": True}, {"tex": "\\notamacro x", "display": False}]
    process = subprocess.run(katex_node, input=json.dumps(broken), capture_output=True, text=True, timeout=60)
    assert len(json.loads(process.stdout)) == 2


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_each_block_appears_once_numbered_in_order(path):
    numbers = [int(n) for n in re.findall(r"^### \((\d+)\)", path.read_text(), re.M)]
    assert numbers == list(range(1, len(numbers) + 1))
    tags = [int(n) for n in re.findall(r"\\tag\{(\d+)\}", path.read_text())]
    assert tags == numbers
