"""The document formats: their templates and the extensions of the files a build writes."""

TEMPLATES = {"latex": "derivation.tex", "markdown": "derivation.md", "rst": "derivation.rst"}
EXTENSIONS = {"latex": ".tex", "markdown": ".md"}
