"""The Sphinx extension (derive/integrations/sphinx.py), with the real sphinx-build, pdflatex and
a browser: pages build, equations are numbered and referenced, a bad spec is one warning."""
import html
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from conftest import EXAMPLES, require

CONF = 'extensions = ["derive.sphinx", "myst_parser"]\n'
SHOTS = Path("/tmp/derive-shots")  # where the lead looks at screenshots


def project(root: Path, pages: dict[str, str], specs=("softmax-cross-entropy",), conf: str = "") -> Path:
    """A Sphinx source directory: conf.py, the pages (name -> text) and example specs under nets/."""
    (root / "nets").mkdir(parents=True)
    (root / "conf.py").write_text(CONF + conf)
    for name in specs:
        shutil.copy(EXAMPLES / f"{name}.toml", root / "nets" / f"{name}.toml")
    for name, text in pages.items():
        (root / name).write_text(text)
    return root


def sphinx(command, source: Path, out: Path, *options: str, builder: str = "html") -> subprocess.CompletedProcess:
    return subprocess.run([*command, "-b", builder, *options, str(source), str(out)],
                          capture_output=True, text=True, timeout=600)


def built(command, source: Path, out: Path, builder: str = "html") -> Path:
    """Build with -W (every warning fails) and return the output directory."""
    process = sphinx(command, source, out, "-W", builder=builder)
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    return out


def display_math(page: str) -> list[str]:
    """The TeX of every display-math block of an HTML page, as MathJax gets it."""
    return [html.unescape(m) for m in re.findall(r'<div class="math[^"]*"[^>]*>(.*?)</div>', page, re.S)]


PAGE = """\
Gradients
=========

The gradient by the logits is :eq:`softmax-cross-entropy-3`.

.. derivation:: nets/softmax-cross-entropy.toml
"""


def test_html_page_has_the_derivation_as_numbered_referenced_math(sphinx_build, tmp_path):
    out = built(sphinx_build, project(tmp_path / "src", {"index.rst": PAGE}), tmp_path / "out")
    page = (out / "index.html").read_text()
    blocks = display_math(page)
    assert any(r"\boxed{\frac{\partial E}{\partial z_{j}} = o_{j} - t_{j}}" in block for block in blocks)
    assert any(r"&= o_{j} - t_{j}" in block and r"\text{substitute } (1)\text{ and }(2)" in block for block in blocks)
    assert r"\text{from (3)}" in page  # the results cite the blocks by the numbers Sphinx gave them
    assert "deriveref" not in page
    for n in range(1, 10):  # every step block is a numbered, linkable equation
        assert f'id="equation-softmax-cross-entropy-{n}"' in page
        assert f'<span class="eqno">({n})' in page
    # the :eq: in the page's own text is a link to the equation
    assert '<a class="reference internal" href="#equation-softmax-cross-entropy-3">(3)</a>' in page


TWO_LAYER = """\
Two layers
==========

.. derivation:: nets/two-layer-tanh.toml
   :wrt: z1
   :show: network steps
"""


def test_pages_read_in_parallel_number_and_cite_their_own_equations(sphinx_build, tmp_path):
    """parallel_read_safe: with -j 2 each page's equations, labels and cited numbers are its own."""
    pages = {"index.rst": "Index\n=====\n\n.. toctree::\n\n" + "".join(f"   page{n}\n" for n in range(4))}
    for n in range(4):
        pages[f"page{n}.rst"] = (f"Page {n}\n======\n\nSee :eq:`net{n}-3`.\n\n"
                                 f".. derivation:: nets/softmax-cross-entropy.toml\n   :label: net{n}\n")
    source = project(tmp_path / "src", pages)
    process = sphinx(sphinx_build, source, tmp_path / "out", "-W", "-j", "2")
    assert process.returncode == 0, process.stderr
    for n in range(4):
        page = (tmp_path / "out" / f"page{n}.html").read_text()
        assert f'href="#equation-net{n}-3">(3)</a>' in page
        assert r"\text{substitute } (1)\text{ and }(2)" in html.unescape(page)


def test_editing_the_spec_rebuilds_the_page(sphinx_build, tmp_path):
    source = project(tmp_path / "src", {"index.rst": TWO_LAYER}, specs=["two-layer-tanh"])
    out = built(sphinx_build, source, tmp_path / "out")
    before = (out / "index.html").read_text()
    assert r"\text{(tanh)}" in before and r"\text{(sigmoid)}" not in before

    spec = source / "nets" / "two-layer-tanh.toml"
    spec.write_text(spec.read_text().replace('type = "tanh"', 'type = "sigmoid"'))
    later = spec.stat().st_mtime + 5  # an edit after the build, whatever the clock's resolution
    os.utime(spec, (later, later))
    process = sphinx(sphinx_build, source, out, "-W")  # incremental: same output, no -E
    assert process.returncode == 0, process.stderr
    assert "1 changed" in process.stdout
    after = (out / "index.html").read_text()
    assert r"\text{(sigmoid)}" in after and r"\text{(tanh)}" not in after
    assert r"\sigma' = \sigma\,(1 - \sigma)" in after  # the sigmoid's derivative, used in a step


BAD_PAGES = {
    "index.rst": "Site\n====\n\n.. toctree::\n\n   good\n   bad\n   options\n",
    "good.rst": "Good\n====\n\n.. derivation:: nets/softmax-cross-entropy.toml\n",
    "bad.rst": "Bad\n===\n\nText before.\n\n.. derivation:: nets/bad.toml\n\nText after.\n",
}


def bad_project(root: Path) -> Path:
    source = project(root, BAD_PAGES)
    good = (EXAMPLES / "softmax-cross-entropy.toml").read_text()
    (source / "nets" / "bad.toml").write_text(good.replace('type = "softmax"', 'type = "softmaxx"'))
    (source / "options.rst").write_text(OPTIONS)
    return source


OPTIONS = """\
Options
=======

.. derivation:: nets/softmax-cross-entropy.toml
   :show: steps | proof

.. derivation:: nets/softmax-cross-entropy.toml
   :layout: sideways
   :label: b

.. derivation:: nets/softmax-cross-entropy.toml
   :wrt: z, q
   :label: c

.. derivation:: nets/missing.toml

.. derivation::

   [[layers]]
   type = "affine"
   input = "x"
   output = "z"
"""


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "WARNING" in line or "ERROR" in line]


def test_a_bad_spec_fails_a_strict_build_with_one_warning_naming_page_spec_and_field(sphinx_build, tmp_path):
    process = sphinx(sphinx_build, bad_project(tmp_path / "src"), tmp_path / "out", "-W")
    assert process.returncode != 0
    assert "Traceback" not in process.stderr
    found = [line for line in warnings_of(process.stderr) if "bad.rst" in line]
    assert len(found) == 1, process.stderr
    line = found[0]
    assert f"{tmp_path / 'src' / 'bad.rst'}:6:" in line  # the directive's page and line
    assert f"{tmp_path / 'src' / 'nets' / 'bad.toml'}: layer 2: unknown layer type 'softmaxx'" in line


def test_without_W_a_bad_spec_or_option_is_a_warning_and_the_site_is_built(sphinx_build, tmp_path):
    source = bad_project(tmp_path / "src")
    process = sphinx(sphinx_build, source, tmp_path / "out")
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    found = warnings_of(process.stderr)
    options = str(source / "options.rst")
    expected = [
        (f"{source / 'bad.rst'}:6:", "unknown layer type 'softmaxx'"),
        (f"{options}:4:", "unknown section 'proof' to show"),
        (f"{options}:7:", "unknown layout 'sideways'"),
        (f"{options}:11:", "'q' is not a parameter, input or intermediate of this network"),
        (f"{options}:15:", f"{source / 'nets' / 'missing.toml'}: no such file"),
        (f"{options}:17:", "the inline spec: layer 1 (affine): missing field 'weight'"),  # an inline spec
    ]
    for where, what in expected:
        assert any(where in line and what in line for line in found), (where, what, process.stderr)
    assert len(found) == len(expected), process.stderr
    assert "internal error" not in process.stderr
    good = (tmp_path / "out" / "good.html").read_text()
    assert any(r"o_{j} - t_{j}" in block for block in display_math(good))
    bad = (tmp_path / "out" / "bad.html").read_text()
    assert "Text before." in bad and "Text after." in bad  # the rest of the page is there


MYST = """\
# In Markdown

The logits' gradient is {eq}`sce-3`.

```{derivation} nets/softmax-cross-entropy.toml
:wrt: z, w
:show: steps | results
:label: sce
```

After the derivation.
"""


def test_myst_markdown_page(sphinx_build, tmp_path):
    out = built(sphinx_build, project(tmp_path / "src", {"index.md": MYST}), tmp_path / "out")
    page = (out / "index.html").read_text()
    blocks = display_math(page)
    assert any(r"\boxed{\frac{\partial E}{\partial z_{j}} = o_{j} - t_{j}}" in block for block in blocks)
    assert any(r"\frac{\partial E}{\partial w_{ij}}" in block for block in blocks)
    # read as reStructuredText, not as Markdown: rubrics, not literal ".. math::" text
    assert '<p class="rubric">Results</p>' in page and ".. math::" not in page and ".. rubric::" not in page
    assert "The network is defined" not in page  # :show: left the network out
    assert 'id="equation-sce-3"' in page and "deriveref" not in page
    assert '<a class="reference internal" href="#equation-sce-3">(3)</a>' in page
    assert "After the derivation." in page


INLINE = """\
Inline
======

.. derivation::
   :label: inline
   :wrt: z

   [[layers]]
   type = "affine"
   input = "x"
   output = "z"
   weight = "w"

   [loss]
   type = "mse"
   input = "z"
   target = "t"

See :eq:`inline-1`.
"""


def test_the_spec_can_be_the_directives_content(sphinx_build, tmp_path):
    out = built(sphinx_build, project(tmp_path / "src", {"index.rst": INLINE}, specs=()), tmp_path / "out")
    page = (out / "index.html").read_text()
    blocks = display_math(page)
    assert any(r"\frac{\partial E}{\partial z_{j}}" in block for block in blocks)
    assert 'id="equation-inline-1"' in page and "deriveref" not in page
    assert '<a class="reference internal" href="#equation-inline-1">(1)</a>' in page


def tex_has(package: str) -> bool:
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return False
    return bool(subprocess.run([kpsewhich, package], capture_output=True, text=True).stdout.strip())


# Sphinx's default LaTeX fonts (tgtermes, tgheros) are in texlive-fonts-recommended, which derive
# does not need; Computer Modern does as well here.
LATEX_CONF = 'latex_elements = {"fontpkg": ""}\n'


def test_latex_builder_output_compiles_with_references_to_the_equations(sphinx_build, pdflatex, tmp_path):
    require("texlive-latex-extra", tex_has("titlesec.sty"),
            "install Debian's texlive-latex-extra (Sphinx's LaTeX needs it)")
    source = project(tmp_path / "src", {"index.rst": PAGE}, conf=LATEX_CONF + 'project = "gradients"\n')
    out = built(sphinx_build, source, tmp_path / "out", builder="latex")
    tex = out / "gradients.tex"
    text = tex.read_text()
    assert r"\label{equation:index:softmax-cross-entropy-1}" in text
    reference = r"\ref{equation:index:softmax-cross-entropy-%d}"
    assert rf"\text{{substitute }} ({reference % 1})\text{{ and }}({reference % 2})" in text
    assert r"\text{from (\ref{equation:index:softmax-cross-entropy-3})}" in text
    assert "deriveref" not in text
    for _ in range(2):  # the second run resolves the references
        process = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                                  tex.name], capture_output=True, text=True, timeout=300, cwd=out)
        assert process.returncode == 0, process.stdout[-3000:]
    log = (out / "gradients.log").read_text(errors="replace")
    assert "undefined references" not in log and "Reference `" not in log
    assert (out / "gradients.pdf").stat().st_size > 10_000


def serve_mathjax_locally(node_modules: Path, source: Path) -> str:
    """Copy MathJax 4 and its default font (only the CHTML parts) into the project's _static
    and return the conf.py lines that load them from there instead of from a CDN.

    MathJax 4 looks for its font at ``[fonts]/mathjax-newcm-font``, and ``[fonts]`` is a CDN
    address in a browser, so the loader's ``fonts`` path is pointed at the copy, relative to
    ``[mathjax]`` (the directory the script was loaded from, whatever the page's depth)."""
    static = source / "_static"
    shutil.copytree(node_modules / "mathjax", static / "mathjax")
    font = node_modules / "@mathjax" / "mathjax-newcm-font"
    copy = static / "mathjax" / "fonts" / "mathjax-newcm-font"
    shutil.copytree(font / "chtml", copy / "chtml")
    for name in ("chtml.js", "package.json"):
        shutil.copy(font / name, copy / name)
    return ('html_static_path = ["_static"]\n'
            'mathjax_path = "mathjax/tex-mml-chtml.js"\n'
            'mathjax4_config = {"loader": {"paths": {"fonts": "[mathjax]/fonts"}}}\n')


class VisibleText(HTMLParser):
    """The page's text outside MathJax's output, scripts and styles: what is left unrendered."""

    HIDDEN = {"mjx-container", "script", "style"}

    def __init__(self):
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.HIDDEN

    def handle_endtag(self, tag):
        self.depth -= tag in self.HIDDEN

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def test_mathjax_renders_the_page_offline(sphinx_build, browser, node_modules, tmp_path):
    require("the MathJax font", (node_modules / "@mathjax" / "mathjax-newcm-font").is_dir(), "run 'npm ci'")
    source = project(tmp_path / "src", {"index.rst": PAGE})
    source_conf = source / "conf.py"
    source_conf.write_text(source_conf.read_text() + serve_mathjax_locally(node_modules, source))
    out = built(sphinx_build, source, tmp_path / "out")
    page = (out / "index.html").read_text()
    assert "cdn.jsdelivr" not in page and '<script defer="defer" src="_static/mathjax/tex-mml-chtml.js' in page
    math = page.count('class="math notranslate nohighlight"')

    SHOTS.mkdir(exist_ok=True)
    dom = browser(out / "index.html", screenshot=tmp_path / "sphinx.png")
    shutil.copy(tmp_path / "sphinx.png", SHOTS / "sphinx.png")
    assert dom.count("<mjx-container") == math > 30  # every formula, inline and display, rendered
    assert "<mjx-merror" not in dom  # and none of them is a TeX error (an unknown macro, say)
    visible = VisibleText()
    visible.feed(dom)
    text = "".join(visible.parts)
    for source_text in (r"\frac", r"\begin", r"\partial", r"\(", r"\["):
        assert source_text not in text
    fonts = set(re.findall(r'url\("([^"]+\.woff2)"\)', dom))
    assert fonts and all(url.startswith((out / "_static" / "mathjax" / "fonts").as_uri()) for url in fonts)
    assert (tmp_path / "sphinx.png").stat().st_size > 50_000


def test_readmes_directive_example_builds_as_written(sphinx_build, tmp_path):
    readme = (EXAMPLES.parent / "README.md").read_text()
    example = re.search(r"```rst\n(\.\. derivation::.*?)```", readme, re.S).group(1)
    source = project(tmp_path / "src", {"index.rst": "Notes\n=====\n\n" + example}, specs=("two-layer-tanh",))
    (source / "nets" / "two-layer-tanh.toml").rename(source / "nets" / "two-layer.toml")
    out = built(sphinx_build, source, tmp_path / "out")
    page = (out / "index.html").read_text()
    assert 'id="equation-twolayer-1"' in page and "Matrix form" not in page  # :show: steps, results
