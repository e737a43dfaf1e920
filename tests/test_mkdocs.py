"""The MkDocs plugin, with the real builder: ``mkdocs build`` of small sites in tmp_path, and of
derive's own docs/ site; the built pages looked at in headless Chromium with KaTeX."""
from __future__ import annotations

import html
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import EXAMPLES, ROOT, SPECS

KATEX_INIT = ROOT / "docs" / "assets" / "katex-init.js"  # the script derive's own site uses
SHOTS = Path("/tmp/derive-shots")


def make_site(root: Path, pages: dict[str, str], specs: tuple[str, ...] = (), theme: str = "mkdocs",
              katex: Path | None = None) -> Path:
    """A site in ``root``: ``pages`` (name -> Markdown) and copies of examples/<spec>.toml in
    docs/nets/; KaTeX from ``katex`` (node_modules) with the init script. Returns mkdocs.yml."""
    docs = root / "docs"
    (docs / "nets").mkdir(parents=True)
    for name, text in pages.items():
        (docs / name).write_text(text)
    for name in specs:
        shutil.copy(EXAMPLES / f"{name}.toml", docs / "nets")
    assets = ""
    if katex is not None:
        dist = katex / "katex" / "dist"
        (docs / "assets" / "katex").mkdir(parents=True)
        for name in ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js"):
            shutil.copy(dist / name, docs / "assets" / "katex")
        shutil.copytree(dist / "fonts", docs / "assets" / "katex" / "fonts")
        shutil.copy(KATEX_INIT, docs / "assets")
        assets = ("extra_css: [assets/katex/katex.min.css]\n"
                  "extra_javascript: [assets/katex/katex.min.js, assets/katex/auto-render.min.js, "
                  "assets/katex-init.js]\n")
    font = "\n  font: false" if theme == "material" else ""
    config = root / "mkdocs.yml"
    config.write_text(f"site_name: test\ntheme:\n  name: {theme}{font}\nplugins: [derive]\n"
                      f"markdown_extensions:\n  - pymdownx.arithmatex:\n      generic: true\n{assets}")
    return config


def mkdocs(command: list[str], config: Path, strict: bool = True, site: Path | None = None):
    """``mkdocs build [--strict] -f config``: the process, its output (stdout + stderr) in ``.output``."""
    args = [*(command if strict else [c for c in command if c != "--strict"]), "-f", str(config)]
    if site is not None:
        args += ["-d", str(site)]
    process = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=config.parent, check=False,
                             env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    process.output = process.stdout + process.stderr
    return process


def math(page: str) -> list[str]:
    """The TeX of every arithmatex element of a built page."""
    return [html.unescape(tex) for tex in re.findall(r'class="arithmatex">(.*?)</(?:div|span)>', page, re.DOTALL)]


def derive_block(spec: str, **fields) -> str:
    lines = [f"spec: {spec}", *(f"{key}: {value}" for key, value in fields.items())]
    return "```derive\n" + "\n".join(lines) + "\n```\n"


NESTED = """# Syntax

````markdown
```derive
spec: nets/does-not-exist.toml
```
````

~~~text
```derive
spec: nets/does-not-exist-either.toml
```
~~~
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, mkdocs_build):
    """One site, built once with --strict: a whole derivation, one showing results only, and a
    page that shows the syntax inside other fences."""
    root = tmp_path_factory.mktemp("mkdocs-site")
    pages = {"index.md": "# Softmax\n\n" + derive_block("nets/softmax-cross-entropy.toml"),
             "results.md": "# Results only\n\n" + derive_block("nets/softmax-cross-entropy.toml", show="results",
                                                              wrt="[w]"),
             "syntax.md": NESTED + "\nAnd a real one:\n\n" + derive_block("nets/softmax-cross-entropy.toml",
                                                                          show="[results]")}
    config = make_site(root, pages, ("softmax-cross-entropy",))
    process = mkdocs(mkdocs_build, config)
    assert process.returncode == 0, process.output
    assert "WARNING" not in process.output
    return root / "site"


def test_a_block_becomes_the_derivation(site):
    page = (site / "index.html").read_text()
    formulas = math(page)
    assert any(r"\frac{\partial E}{\partial z_{j}} = o_{j} - t_{j}" in tex for tex in formulas)  # the boxed result
    assert any("o_{j} - t_{j}" in tex and r"\tag{3}" in tex for tex in formulas)  # its derivation, step by step
    assert all(tex.startswith((r"\(", r"\[")) for tex in formulas)
    for section in ("The network", "Derivation", "Results", "Matrix form", "Verification"):
        assert re.search(rf"<h2 id=\"[^\"]*\">{section}</h2>", page), section
    assert "chain rule" in page
    assert "```derive" not in page and "spec:" not in page


def test_show_results_shows_no_steps(site):
    page = (site / "results" / "index.html").read_text()
    formulas = math(page)
    assert any(r"\boxed{\frac{\partial E}{\partial w_{ij}} = y_{i} \left(o_{j} - t_{j}\right)}" in tex
               for tex in formulas)
    assert not any(r"\partial b_{j}" in tex for tex in formulas)  # wrt: [w] only
    assert ">Results</h2>" in page and ">Derivation</h2>" not in page
    assert "chain rule" not in page and r"\tag{" not in page


def test_blocks_inside_other_fences_are_left_alone(site):
    page = (site / "syntax" / "index.html").read_text()
    code = re.findall(r"<code[^>]*>(.*?)</code>", page, re.DOTALL)
    assert any("```derive\nspec: nets/does-not-exist.toml\n```" in html.unescape(c) for c in code)
    assert any("spec: nets/does-not-exist-either.toml" in html.unescape(c) for c in code)
    assert any(r"\partial z_{j}} = o_{j} - t_{j}" in tex for tex in math(page))  # the real block after them


def test_an_edited_spec_is_rendered_anew(tmp_path, mkdocs_build, _private_cache):
    config = make_site(tmp_path, {"index.md": "# Net\n\n" + derive_block("nets/two-layer-tanh.toml")},
                       ("two-layer-tanh",))
    page = tmp_path / "site" / "index.html"

    def entries() -> int:  # derive's cache: one entry per rendering
        return len(list(_private_cache.rglob("*.json")))
    assert mkdocs(mkdocs_build, config).returncode == 0
    assert r"\tanh z^{(1)}_{j}" in page.read_text() and r"\sigma" not in page.read_text()
    before = entries()
    assert mkdocs(mkdocs_build, config).returncode == 0  # unchanged: from the cache
    assert entries() == before

    spec = tmp_path / "docs" / "nets" / "two-layer-tanh.toml"
    spec.write_text(spec.read_text().replace('type = "tanh"', 'type = "sigmoid"'))
    process = mkdocs(mkdocs_build, config)
    assert process.returncode == 0, process.output
    text = page.read_text()
    assert r"\sigma\left(z^{(1)}_{j}\right)" in text and r"\tanh" not in text
    assert "The sigmoid layer" in text
    assert entries() == before + 1


BAD_SPEC_PAGE = """---
title: Bad
---
# A bad spec

Some text.

""" + derive_block("nets/bad.toml")


def test_a_bad_spec_fails_strict_and_names_page_line_spec_and_field(tmp_path, mkdocs_build):
    config = make_site(tmp_path, {"index.md": "# Good\n\n" + derive_block("nets/softmax-cross-entropy.toml"),
                                  "bad.md": BAD_SPEC_PAGE}, ("softmax-cross-entropy",))
    good = (EXAMPLES / "softmax-cross-entropy.toml").read_text()
    (tmp_path / "docs" / "nets" / "bad.toml").write_text(good.replace('targets = "one_hot"', 'targets = "hot"'))

    strict = mkdocs(mkdocs_build, config)
    assert strict.returncode != 0
    warnings = [line for line in strict.output.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, strict.output
    assert "bad.md:8: " in warnings[0]  # the fence's line in the file, front matter included
    assert os.path.join("docs", "nets", "bad.toml") in warnings[0]
    assert "field 'targets'" in warnings[0] and "'hot'" in warnings[0]
    assert "Traceback" not in strict.output

    relaxed = mkdocs(mkdocs_build, config, strict=False)
    assert relaxed.returncode == 0, relaxed.output
    assert "Traceback" not in relaxed.output
    site = tmp_path / "site"
    assert any("o_{j} - t_{j}" in tex for tex in math((site / "index.html").read_text()))
    bad = (site / "bad" / "index.html").read_text()
    assert "Some text." in bad and 'class="derive-error"' in bad and "field &#x27;targets&#x27;" in bad


BAD_BLOCKS = [  # (block body, what the warning says)
    ("spec: nets/softmax-cross-entropy.toml\ncolour: red", "unknown field 'colour' (expected some of spec, wrt"),
    ("wrt: [w]", "missing field 'spec'"),
    ("spec: [a, b]", "field 'spec': expected the path"),
    ("spec: nets/softmax-cross-entropy.toml\nwrt: 3", "field 'wrt': expected a name or a list of names"),
    ("spec: nets/softmax-cross-entropy.toml\nshow: [results, proofs]", "field 'show': unknown section 'proofs'"),
    ("spec: nets/softmax-cross-entropy.toml\nlayout: [a]", "field 'layout': expected denominator or numerator"),
    ("spec: nets/softmax-cross-entropy.toml\nlayout: diagonal", "unknown layout 'diagonal'"),
    ("spec: nets/softmax-cross-entropy.toml\nwrt: [q]", "'q' is not a parameter, input or intermediate"),
    ("spec: nets/missing.toml", "field 'spec': " + os.path.join("docs", "nets", "missing.toml") + ": no such file"),
    ("spec: [unclosed", "derive block: not YAML"),
    ("just words", "derive block: expected 'field: value' lines"),
]


def test_bad_blocks_are_one_warning_each_at_their_line(tmp_path, mkdocs_build):
    text = "# Bad blocks\n\n" + "\ntext\n\n".join(f"```derive\n{body}\n```" for body, _ in BAD_BLOCKS) + "\n"
    config = make_site(tmp_path, {"index.md": text}, ("softmax-cross-entropy",))
    lines = text.splitlines()
    fences = [number for number, line in enumerate(lines, start=1) if line == "```derive"]

    process = mkdocs(mkdocs_build, config)
    assert process.returncode != 0
    assert "Traceback" not in process.output
    warnings = [line for line in process.output.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == len(BAD_BLOCKS), process.output
    for (_, fragment), line in zip(BAD_BLOCKS, fences):
        assert any(f"index.md:{line}: " in w and fragment in w for w in warnings), (line, fragment, warnings)


# --- the plugin object itself ------------------------------------------------------------------

class FakeServer:
    def __init__(self):
        self.watched: list[str] = []

    def watch(self, path, func=None, *, recursive=True):
        self.watched.append(path)


def plugin_and_page(tmp_path, markdown: str, **options):
    from derive.integrations.mkdocs import DerivePlugin
    plugin = DerivePlugin()
    errors, warnings = plugin.load_config(options)
    assert not errors and not warnings
    (tmp_path / "page.md").write_text(markdown)
    file = SimpleNamespace(src_path="page.md", abs_src_path=str(tmp_path / "page.md"), content_string=markdown)
    return plugin, SimpleNamespace(file=file)


def test_serve_watches_every_spec_read(tmp_path):
    specs = [EXAMPLES / "softmax-cross-entropy.toml", EXAMPLES / "linear-mse.toml"]
    markdown = derive_block(str(specs[0]), show="results")
    plugin, page = plugin_and_page(tmp_path, markdown)
    rendered = plugin.on_page_markdown(markdown, page=page, config=None, files=None)
    assert "o_{j} - t_{j}" in rendered
    server = FakeServer()
    assert plugin.on_serve(server, config=None, builder=None) is server
    assert server.watched == [str(specs[0])]
    # mkdocs serve keeps the plugin across rebuilds (it has on_startup): a spec first read in a
    # rebuild is watched at once
    assert hasattr(plugin, "on_startup")
    other = derive_block(str(specs[1]), show="results")
    plugin.on_page_markdown(other, page=page, config=None, files=None)
    assert server.watched == [str(specs[0]), str(specs[1])]


def test_an_internal_error_is_one_warning_without_traceback(tmp_path, monkeypatch, caplog):
    import derive.api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something derive did not expect")
    monkeypatch.setattr(derive.api.Derivation, "from_text", broken)
    monkeypatch.setenv("DERIVE_NO_CACHE", "1")
    markdown = "# Page\n\n" + derive_block(str(EXAMPLES / "linear-mse.toml"))
    plugin, page = plugin_and_page(tmp_path, markdown)
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.derive"):
        rendered = plugin.on_page_markdown(markdown, page=page, config=None, files=None)
    assert [r.getMessage() for r in caplog.records] == [
        "page.md:3: internal error in derive (ZeroDivisionError: something derive did not expect)"]
    assert "Traceback" not in caplog.text and "spec:" not in rendered and "# Page" in rendered


def test_an_unclosed_block_is_left_as_it_is(tmp_path, caplog):
    markdown = "text\n\n```derive\nspec: nets/a.toml\n"
    plugin, page = plugin_and_page(tmp_path, markdown)
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.derive"):
        assert plugin.on_page_markdown(markdown, page=page, config=None, files=None) == markdown
    assert [r.getMessage() for r in caplog.records] == ["page.md:3: derive block: no closing fence"]


@pytest.mark.parametrize("markdown", [
    "```derive-like\nspec: x\n```\n",          # another info string
    "``` derive extra\nspec: x\n```\n",
    "  ```derive\nspec: x\n```\n",               # not at the start of the line
    "`````\n```derive\nspec: x\n```\n`````\n",  # inside a longer fence
    "~~~\n```derive\nspec: x\n```\n~~~\n",      # inside a tilde fence
    "````md\n~~~derive\nspec: x\n~~~\n````\n",
])
def test_only_top_level_derive_fences_count(markdown):
    from derive.integrations.mkdocs import derive_blocks
    assert list(derive_blocks(markdown.split("\n"))) == []


def test_fences_found(tmp_path):
    from derive.integrations.mkdocs import derive_blocks
    lines = "```derive\na\n```\n~~~derive \nb\n~~~~\n````\n```\n````\n```derive\nc\n```".split("\n")
    assert list(derive_blocks(lines)) == [(0, 2), (3, 5), (9, 11)]


def test_heading_level_is_checked():
    from derive.integrations.mkdocs import DerivePlugin
    errors, _ = DerivePlugin().load_config({"heading_level": 7})
    assert errors and errors[0][0] == "heading_level"


# --- in a browser -------------------------------------------------------------------------------

def katex_dom_checks(dom: str) -> None:
    """KaTeX typeset every formula: katex elements, no error, no TeX left outside its annotations."""
    assert dom.count('class="katex"') >= 10
    assert "katex-error" not in dom
    shown = re.sub(r"<(annotation|script)[^>]*>.*?</\1>", "", dom, flags=re.DOTALL)
    for tex in (r"\frac", r"\begin{aligned}", r"\(", r"\["):
        assert tex not in shown, tex


def test_katex_renders_the_page_in_a_browser(tmp_path, mkdocs_build, browser, node_modules):
    config = make_site(tmp_path, {"index.md": "# Softmax and cross-entropy\n\n"
                                  + derive_block("nets/softmax-cross-entropy.toml")},
                       ("softmax-cross-entropy",), theme="material", katex=node_modules)
    process = mkdocs(mkdocs_build, config)
    assert process.returncode == 0, process.output
    SHOTS.mkdir(parents=True, exist_ok=True)
    dom = browser(tmp_path / "site" / "index.html", screenshot=tmp_path / "mkdocs.png")
    shutil.copy(tmp_path / "mkdocs.png", SHOTS / "mkdocs.png")
    assert (tmp_path / "mkdocs.png").stat().st_size > 10_000
    katex_dom_checks(dom)
    assert "Results" in dom and "chain rule" in dom


# --- derive's own documentation -------------------------------------------------------------

def test_the_docs_site_builds_strict_with_a_page_per_example(tmp_path, mkdocs_build, browser, node_modules):
    pages = sorted(p.stem for p in (ROOT / "docs" / "examples").glob("*.md"))
    assert pages == [spec.stem for spec in SPECS], "every spec in examples/ has a page in docs/examples/"
    process = mkdocs(mkdocs_build, ROOT / "mkdocs.yml", site=tmp_path / "site")
    assert process.returncode == 0, process.output
    assert "WARNING" not in process.output
    site = tmp_path / "site"
    assert (site / "assets" / "katex" / "katex.min.js").is_file()  # through the link to node_modules
    for name in pages:
        page = (site / "examples" / name / "index.html").read_text()
        assert re.search(r"<h2 id=\"results\">Results", page) and r"\boxed{" in page, name
        assert "[[layers]]" in page, name  # the spec itself, shown above its derivation
    dom = browser(site / "examples" / "two-layer-tanh" / "index.html")
    katex_dom_checks(dom)


def test_readmes_fenced_block_builds_as_written(mkdocs_build, tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"````markdown\n(```derive\n.*?```)\n````", readme, re.S).group(1)
    config = make_site(tmp_path, {"index.md": "# Notes\n\n" + block + "\n"}, specs=("two-layer-tanh",))
    (tmp_path / "docs" / "nets" / "two-layer-tanh.toml").rename(tmp_path / "docs" / "nets" / "two-layer.toml")
    process = mkdocs(mkdocs_build, config)
    assert process.returncode == 0, process.output
    page = (tmp_path / "site" / "index.html").read_text()
    assert "\\boxed" in page and "chain rule" not in page  # show: results
