"""Printers: index forms as LaTeX and as text, matrix forms as LaTeX and as NumPy code."""
from .index import latex, latex_inline, text
from .matrix import matrix_latex, numpy_code
from .names import index_tex, matrix_name_tex, name_tex

__all__ = ["index_tex", "latex", "latex_inline", "matrix_latex", "matrix_name_tex", "name_tex", "numpy_code",
           "text"]
