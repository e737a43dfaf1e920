"""Where derive's data lives: the top-level ``templates/`` and ``examples/`` of the source tree,
copied into the package (``derive/templates``, ``derive/examples``) when it is installed as a wheel."""
from __future__ import annotations

from pathlib import Path


def data_dir(name: str) -> Path:
    installed = Path(__file__).parent / name
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / name
