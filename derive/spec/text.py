"""Reading a spec file's text: plain file reading, so a cached build needs no SymPy."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import SpecError
from ..limits import MAX_SPEC_BYTES


def read_spec_text(path: Path, what: str = "a spec") -> str:
    """The text of a spec file (or of another input, ``what``): a regular file of at most
    MAX_SPEC_BYTES, in UTF-8."""
    try:
        # opened without blocking and checked on the open file: a FIFO is never waited on
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SpecError(f"{path}: not a regular file")
            data = stream.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: more than {MAX_SPEC_BYTES} bytes; that is the limit for {what}")
        return data.decode("utf-8")
    except SpecError:
        raise
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not UTF-8 text (byte {error.start + 1})") from None
    except (OSError, ValueError) as error:
        raise SpecError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
