"""Matrix notation: node classes, and the translation of index forms into them."""
from .nodes import Node, NodeVisitor
from .translate import NoMatrixForm, in_layout, matrix_form, to_matrix

__all__ = ["NoMatrixForm", "Node", "NodeVisitor", "in_layout", "matrix_form", "to_matrix"]
