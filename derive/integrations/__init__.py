"""Front ends for documentation builds (Sphinx, MkDocs, Jupyter) go here.

They import ``derive.api`` only, and nothing in the package imports them.
"""
