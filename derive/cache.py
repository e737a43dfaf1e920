"""Rendered derivations kept on disk, so a doc build with dozens of specs stays fast.

An entry is keyed by everything its text depends on: the spec's content and the rendering's
settings (given by the caller), derive itself (its version and a hash of its code and
templates, so an edited checkout never reads what older code wrote), and the versions of
Python and of the libraries that shape the text (SymPy, Jinja2, NumPy).  The cache lives in
``$DERIVE_CACHE_DIR``, else ``$XDG_CACHE_HOME/derive``, else ``~/.cache/derive``;
``DERIVE_NO_CACHE=1`` (or ``derive build --no-cache``) turns it off.

An entry is JSON that carries its own key and a hash of its text; anything else found under
the key (a damaged, truncated, foreign or oversized file) is ignored and written anew.  The
cache never makes a build fail: when it cannot be read or written, derive derives.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

from .resources import data_dir

CACHE_DIR_VARIABLE = "DERIVE_CACHE_DIR"
NO_CACHE_VARIABLE = "DERIVE_NO_CACHE"
MAX_ENTRY_BYTES = 64 * 1024 * 1024
FORMAT = 1  # of an entry; a change makes every older entry foreign


def cache_dir() -> Path | None:
    """Where entries are kept, or None when the cache is turned off."""
    if os.environ.get(NO_CACHE_VARIABLE, "") not in ("", "0"):
        return None
    if os.environ.get(CACHE_DIR_VARIABLE):
        return Path(os.environ[CACHE_DIR_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "derive"


# what else shapes a document's text: SymPy's diff and printers, Jinja2, NumPy's numbers
LIBRARIES = ("derive", "sympy", "jinja2", "numpy")


@functools.cache
def fingerprint() -> str:
    """The versions of derive, the libraries that shape its text and Python, and a hash of
    derive's code and templates."""
    digest = hashlib.sha256(sys.version.encode())
    for library in LIBRARIES:
        try:
            digest.update(f"{library} {version(library)}".encode())
        except PackageNotFoundError:
            pass
    package = Path(__file__).resolve().parent
    for root in (package, data_dir("templates")):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def entry_key(parts: dict) -> str:
    description = json.dumps({"format": FORMAT, "derive": fingerprint(), **parts}, sort_keys=True)
    return hashlib.sha256(description.encode()).hexdigest()


def cached(make: Callable[[], str], *, enabled: bool = True, **parts) -> str:
    """The text ``make()`` returns for ``parts`` (JSON-serialisable values), from the cache when
    it holds it; otherwise made, kept, and returned.  ``enabled=False``: just ``make()``."""
    directory = cache_dir() if enabled else None
    if directory is None:
        return make()
    key = entry_key(parts)
    path = directory / key[:2] / f"{key}.json"
    found = _read(path, key)
    if found is not None:
        return found
    text = make()
    _write(path, key, text)
    return text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _read(path: Path, key: str) -> str | None:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            return None
        entry = json.loads(data.decode("utf-8"))
        text = entry["text"]
        if entry.get("key") != key or not isinstance(text, str) or entry.get("sha256") != _digest(text):
            return None
        return text
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _write(path: Path, key: str, text: str) -> None:
    """Write the entry whole or not at all (a temporary file renamed into place); never fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"key": key, "sha256": _digest(text), "text": text}, stream)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
    except (OSError, ValueError):
        pass
