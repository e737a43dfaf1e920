"""The Sphinx extension: a derivation as part of a page, in reStructuredText or MyST Markdown.

conf.py: ``extensions = ["derive.sphinx"]``; then in a page::

    .. derivation:: nets/two-layer.toml
       :wrt: w1, b1
       :show: steps | results | matrix
       :layout: numerator
       :label: twolayer

The path is relative to the page, as for ``literalinclude``, and editing the spec rebuilds the
page. Without a path, the directive's content is the spec's TOML. Every derived equation is a
Sphinx math block labelled ``<label>-<n>`` (default label: the spec file's stem), so ``:eq:``
refers to it. A spec or option that cannot be used is one warning at the directive (``-W``
makes it fail the build); the rest of the site is built as usual.
"""
from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Parser, directives
from docutils.utils import new_document
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from ..api import Derivation
from ..cache import cached
from ..errors import DeriveError, InputError, one_line, quote
from ..spec import read_spec_text

logger = logging.getLogger(__name__)

# what the template writes where a step cites an earlier equation: (\deriveref{<label>-<n>})
REFERENCE = re.compile(r"\\deriveref\{([^{}]*)\}")
# a label prefix goes into TeX (\deriveref, \ref) and into HTML ids: no braces, spaces or backslashes
LABEL = re.compile(r"[A-Za-z0-9][\w.:-]*")


def _words(value: str | None) -> list[str] | None:
    """An option's list ("w1, b1", "steps | results"), or None when it is not given."""
    words = [word for word in re.split(r"[\s,|]+", value or "") if word]
    return words or None


class DerivationDirective(SphinxDirective):
    """``.. derivation:: SPEC`` (or the spec as content): the derivation's reStructuredText,
    parsed into this page."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"wrt": directives.unchanged, "show": directives.unchanged,
                   "layout": directives.unchanged, "label": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        # a bad spec must not stop the site's build: one warning here (-W fails on it), no traceback
        try:
            return self._parse(self._rst())
        except DeriveError as error:
            message = error.message
        except Exception as error:  # a bug in derive: still one warning, naming the directive
            message = f"internal error in derive ({type(error).__name__}: {error})"
        logger.warning(one_line(message), location=(self.env.docname, self.lineno), type="derive")
        return []

    def _rst(self) -> str:
        """The derivation as reStructuredText, from the cache when an earlier build made it."""
        label = self.options.get("label") or None
        if self.arguments:
            if self.content:
                raise InputError("the derivation directive takes a spec file or the spec as its content, not both")
            relative, absolute = self.env.relfn2path(self.arguments[0], self.env.docname)
            self.env.note_dependency(relative)  # noted first: fixing a bad spec rebuilds the page too
            path = Path(absolute)
            text, origin, slug = read_spec_text(path), str(path), path.stem
        elif self.content:
            text = "\n".join(self.content)
            origin, slug = "the inline spec", label or "derivation"  # Sphinx adds the page and line
        else:
            raise InputError("the derivation directive needs a spec file or the spec as its content")
        prefix = label or slug
        if not LABEL.fullmatch(prefix):
            raise InputError(f"{quote(prefix)} cannot be an equation label; give :label: letters, digits, '-' or '_'")
        names, show = _words(self.options.get("wrt")), _words(self.options.get("show"))
        layout = self.options.get("layout")

        def make() -> str:
            derivation = Derivation.from_text(text, origin=origin, slug=slug)
            presentation = Derivation.presentation(show, standalone=False, label=prefix,
                                                   reference=lambda n: rf"\deriveref{{{prefix}-{n}}}")
            return derivation.render("rst", names, layout or None, presentation)
        return cached(make, spec=text, slug=slug, names=names, layout=layout, show=show, label=prefix,
                      format="sphinx-rst")

    def _parse(self, rst: str) -> list[nodes.Node]:
        """The nodes of ``rst``, read as reStructuredText whatever this page is written in
        (``nested_parse`` would read it as Markdown in a MyST page).  The new document shares
        the page's settings, and with them Sphinx's environment: its math directive numbers and
        labels the equations as this page's own."""
        page = self.state.document
        document = new_document(page["source"], page.settings)
        document.reporter = page.reporter
        Parser().parse(rst, document)
        page.ids.update(document.ids)
        source, line = self.get_source_info()
        for node in document.findall(nodes.Element):  # later warnings (a duplicate label) point here
            node.source, node.line = source, line
        return list(document.children)


def resolve_references(app, doctree: nodes.document, docname: str) -> None:
    r"""Write each ``\deriveref{label}`` as this builder numbers the equation: a ``\ref`` to
    Sphinx's own label for LaTeX (so LaTeX numbers them as it numbers the blocks), the number
    Sphinx gave the block everywhere else."""
    env = app.env
    equations = env.get_domain("math").equations

    def reference(match: re.Match) -> str:
        label = match.group(1)
        if label not in equations:
            logger.warning(f"derivation refers to equation {quote(label)}, which is not on any page",
                           location=(docname, None), type="derive")
            return "?"
        defined_in, number = equations[label]
        if app.builder.format == "latex":
            return rf"\ref{{equation:{defined_in}:{label}}}"
        return _shown_number(env, defined_in, label, number)

    for math in doctree.findall(lambda node: isinstance(node, (nodes.math, nodes.math_block))):
        for text in list(math.findall(nodes.Text)):
            if r"\deriveref{" in text:
                text.parent.replace(text, nodes.Text(REFERENCE.sub(reference, text)))


def _shown_number(env, docname: str, label: str, number: int) -> str:
    """The number as Sphinx shows it beside the block: per section with numfig and math_numfig
    (as the math domain resolves ``:eq:``), else counted through the page."""
    if not (env.config.math_numfig and env.config.numfig):
        return str(number)
    numbers = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(nodes.make_id(f"equation-{label}"), ())
    shown = ".".join(map(str, numbers))
    return env.config.math_numsep.join(shown.rsplit(".", 1))


def _version() -> str:
    try:
        return version("derive")
    except PackageNotFoundError:
        return "unknown"


def setup(app) -> dict:
    app.add_directive("derivation", DerivationDirective)
    app.connect("doctree-resolved", resolve_references)
    return {"version": _version(), "parallel_read_safe": True, "parallel_write_safe": True}
