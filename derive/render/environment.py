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
    return env


