"""The Jinja2 environment both document formats share, and the escapes for plain text in them.

Delimiters that do not collide with TeX braces: ``<< expr >>``, ``<% block %>``, ``<# comment #>``.
Undefined names are errors (StrictUndefined), so a template that asks for what the context
does not hold fails loudly.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2

from ..resources import data_dir


_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "*": r"\*", "_": r"\_", "`": r"\`",
                 "[": r"\[", "]": r"\]", "$": r"\$", "\\": "\\\\", "#": r"\#"}


def template_dir() -> Path:
    return data_dir("templates")


_DOLLAR_MATH = re.compile(r"\$([^$]+)\$")


def rst_math(text: str) -> str:
    """The shared macros write inline math as $...$ (TeX and Markdown); reStructuredText wants roles."""
    return _DOLLAR_MATH.sub(lambda m: f":math:`{m.group(1)}`", str(text))


def times_in_words(times: int) -> str:
    return {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}.get(times, f"{times} times")


def tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_escape(text: str) -> str:
    return "".join(_HTML_SPECIAL.get(ch, ch) for ch in str(text))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        variable_start_string="<<", variable_end_string=">>",
        block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["tex_escape"] = tex_escape
    env.filters["md_escape"] = markdown_escape
    env.filters["rst_math"] = rst_math
    env.filters["tex_width"] = tex_width
    env.filters["times_in_words"] = times_in_words
    return env




_NO_WIDTH = {"left", "right", "textstyle", "displaystyle", "Bigl", "Bigr", "bigl", "bigr", "limits", "top"}
_WORDS = {"log", "exp", "tanh", "max", "min", "quad", "qquad"}
_TEXT = {"text", "mathrm", "operatorname", "textrm"}


def tex_width(tex: str) -> float:
    """About how many characters wide TeX math prints: a fraction as wide as its wider part,
    scripts smaller, a command one symbol, sizing commands and braces nothing.  Good enough
    to tell a line that fits a page from one that does not (tests/test_documents.py compiles)."""
    return _width(str(tex), 0, len(str(tex)))[0]


def _width(tex: str, start: int, end: int) -> tuple[float, int]:
    total, position = 0.0, start
    while position < end:
        char = tex[position]
        if char == "}":
            return total, position + 1
        if char == "{":
            inner, position = _width(tex, position + 1, end)
            total += inner
        elif char in "^_":
            inner, position = _argument(tex, position + 1, end)
            total += 0.7 * inner
        elif char == "\\":
            total, position = _command(tex, position + 1, end, total)
        else:
            total += 0 if char.isspace() or char == "&" else 1
            position += 1
    return total, position


def _argument(tex: str, position: int, end: int) -> tuple[float, int]:
    while position < end and tex[position] == " ":
        position += 1
    if position < end and tex[position] == "{":
        return _width(tex, position + 1, end)
    if position < end and tex[position] == "\\":
        return _command(tex, position + 1, end, 0.0)
    return 1.0, position + 1


def _command(tex: str, position: int, end: int, total: float) -> tuple[float, int]:
    name_end = position
    while name_end < end and tex[name_end].isalpha():
        name_end += 1
    name = tex[position:name_end] or tex[position:position + 1]
    position = max(name_end, position + 1)
    if name == "frac":
        above, position = _argument(tex, position, end)
        below, position = _argument(tex, position, end)
        return total + max(above, below) + 0.5, position
    if name in _TEXT:  # a space of text is narrower than a letter
        group_end = tex.find("}", position)
        words = tex[position + 1:group_end]
        return total + len(words) - 0.5 * words.count(" "), group_end + 1
    if name in _NO_WIDTH or name in (",", ";", "!", " "):
        return total + (0.3 if name in (",", ";", " ") else 0), position
    if name in ("mathbf", "boxed", "hat", "tilde", "bar", "sqrt"):
        inner, position = _argument(tex, position, end)
        return total + inner + (1 if name == "sqrt" else 0), position
    return total + (len(name) if name in _WORDS else 1), position
