"""The MkDocs plugin: a fenced ``derive`` block in a page becomes the derivation it names.

In mkdocs.yml: ``plugins: [derive]`` (option ``heading_level``: the level of a derivation's
section headings, default 2) and
``markdown_extensions: [pymdownx.arithmatex: {generic: true}]`` for the math.  In a page::

    ```derive
    spec: nets/two-layer.toml     # relative to the page
    wrt: [w1, b1]                 # optional: default what the spec asks for
    show: results                 # optional: any of network, steps, results, matrix; default all
    layout: numerator             # optional
    ```

Only a fence at the start of a line whose info string is exactly ``derive`` counts; fences
inside other fenced code blocks are left as they are.  A block that cannot be rendered is a
warning ``page.md:line: message`` (so ``mkdocs build --strict`` fails) and a one-line note in
the page.  ``mkdocs serve`` rebuilds when a spec read during the build changes.
"""
from __future__ import annotations

import html
import logging
import os
import re
from pathlib import Path

import yaml
from mkdocs.config import base, config_options
from mkdocs.plugins import BasePlugin

from ..cache import cached
from ..errors import DeriveError, one_line, quote
from ..spec.text import read_spec_text

log = logging.getLogger("mkdocs.plugins.derive")

FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
FIELDS = ("spec", "wrt", "show", "layout")


class BlockError(Exception):
    """A block that cannot be rendered; the message is the one line the build log shows."""


class DeriveConfig(base.Config):
    heading_level = config_options.Choice((1, 2, 3, 4), default=2)


class DerivePlugin(BasePlugin[DeriveConfig]):
    def __init__(self):
        self.specs: set[Path] = set()  # every spec read so far, for mkdocs serve to watch
        self.server = None

    def on_startup(self, *, command, dirty):
        """Present so that mkdocs serve keeps this plugin (and its server) across rebuilds."""

    def on_serve(self, server, *, config, builder):
        self.server = server
        for path in sorted(self.specs):
            if path.exists():
                server.watch(str(path))
        return server

    def on_page_markdown(self, markdown, *, page, config, files):
        lines = markdown.split("\n")
        blocks = list(derive_blocks(lines))
        if not blocks:
            return markdown
        offset = _lines_before(page, markdown)
        for first, last in reversed(blocks):  # from the end, so earlier line numbers stay valid
            where = f"{page.file.src_path}:{offset + first + 1}"
            if last is None:
                log.warning(f"{where}: derive block: no closing fence")
                continue
            try:
                text = self.render("\n".join(lines[first + 1:last]), page, config)
            except BlockError as error:
                log.warning(f"{where}: {one_line(str(error))}")
                text = f'<p class="derive-error">derive: {html.escape(one_line(str(error)))}</p>'
            except Exception as error:  # a bug in derive: one line, never a traceback
                log.warning(f"{where}: internal error in derive ({one_line(f'{type(error).__name__}: {error}')})")
                text = '<p class="derive-error">derive: internal error</p>'
            lines[first:last + 1] = ["", *text.strip("\n").split("\n"), ""]
        return "\n".join(lines)

    def render(self, body: str, page, config) -> str:
        """The Markdown of one block's derivation; BlockError when the block or its spec is bad."""
        spec, names, show, layout = parse_block(body)
        base_dir = Path(page.file.abs_src_path).parent if page.file.abs_src_path else Path(config.docs_dir)
        path = _shown(base_dir / spec)
        try:
            text = read_spec_text(path)
        except DeriveError as error:
            raise BlockError(f"derive block: field 'spec': {error.message}") from None
        self._watch(path)
        level = self.config.heading_level

        def make() -> str:
            from ..api import Derivation  # here, not above: a page served from the cache needs no SymPy
            try:
                presentation = Derivation.presentation(show, standalone=False, level=level)
            except DeriveError as error:
                raise BlockError(f"derive block: field 'show': {error.message}") from None
            derivation = Derivation.from_text(text, origin=str(path), slug=path.stem)
            try:
                return derivation.render("markdown", names, layout, presentation)
            except DeriveError as error:  # the block's wrt or layout, or the network's verification
                raise BlockError(f"derive block for {path}: {error.message}") from None
        try:
            return cached(make, spec=text, slug=path.stem, names=names, layout=layout, show=show, level=level,
                          format="mkdocs-markdown")
        except DeriveError as error:  # the spec itself: its message names the file and the field
            raise BlockError(error.message) from None

    def _watch(self, path: Path) -> None:
        absolute = path.absolute()
        if absolute not in self.specs:
            self.specs.add(absolute)
            if self.server is not None:  # a spec first read in a rebuild of mkdocs serve
                self.server.watch(str(absolute))


def derive_blocks(lines: list[str]):
    """(first, last) line numbers of each ``derive`` fence and its closing fence (last None when
    it is never closed), skipping every other fenced code block and what it contains."""
    fence = None
    for number, line in enumerate(lines):
        found = FENCE.fullmatch(line)
        if fence is None:
            if found and not (found[1][0] == "`" and "`" in found[2]):
                fence, first = found[1], number
                is_derive = line.startswith(fence) and found[2].strip() == "derive"
        elif found and found[1][0] == fence[0] and len(found[1]) >= len(fence) and not found[2].strip():
            if is_derive:
                yield first, number
            fence = None
    if fence is not None and is_derive:
        yield first, None


def parse_block(body: str) -> tuple[str, list[str] | None, list[str] | None, str | None]:
    """The block's (spec, wrt, show, layout), checked; BlockError names the field."""
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1} of the block" if mark is not None else ""
        raise BlockError(f"derive block: not YAML ({getattr(error, 'problem', None) or 'unreadable'}{at})") from None
    if not isinstance(data, dict):
        raise BlockError(f"derive block: expected 'field: value' lines (fields: {', '.join(FIELDS)})")
    for key in data:
        if key not in FIELDS:
            raise BlockError(f"derive block: unknown field {quote(str(key))} (expected some of {', '.join(FIELDS)})")
    if "spec" not in data:
        raise BlockError("derive block: missing field 'spec' (the spec file, relative to this page)")
    if not isinstance(data["spec"], str) or not data["spec"].strip():
        raise BlockError("derive block: field 'spec': expected the path of a spec file")
    if not isinstance(data.get("layout"), (str, type(None))):
        raise BlockError("derive block: field 'layout': expected denominator or numerator")
    return data["spec"], _names(data, "wrt"), _names(data, "show"), data.get("layout")


def _names(data: dict, field: str) -> list[str] | None:
    value = data.get(field)
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BlockError(f"derive block: field '{field}': expected a name or a list of names")
    return names


def _shown(path: Path) -> Path:
    """The path as messages show it: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return Path(relative if not relative.startswith("..") else os.path.abspath(path))


def _lines_before(page, markdown: str) -> int:
    """How many lines of the page's file (its front matter) MkDocs took off before the Markdown."""
    try:
        source = page.file.content_string
    except (OSError, ValueError):
        return 0
    return source[:len(source) - len(markdown)].count("\n") if source.endswith(markdown) else 0
