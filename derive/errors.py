"""Every error derive reports to its user, each with the exit code the command line uses.

The CLI has one handler: it prints ``derive: error: <message>`` and exits with the error's
``exit_code``.  Anything else that escapes is a bug in derive (exit code 70).
"""
from __future__ import annotations

from .limits import MAX_MESSAGE, MAX_QUOTE

INTERNAL_ERROR = 70  # the exit code of a bug in derive itself


def printable(text: str) -> str:
    """Text on one line, control characters (newlines, escapes, bells) written as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(text))


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """User text inside a message: quoted, printable, long text cut with an ellipsis."""
    shown = printable(text)
    return f"'{shown if len(shown) <= limit else shown[:limit - 1] + '…'}'"


def one_line(message: str) -> str:
    """A message as the command line prints it: printable, at most MAX_MESSAGE characters."""
    shown = printable(message)
    return shown if len(shown) <= MAX_MESSAGE else shown[:MAX_MESSAGE - 1] + "…"


class DeriveError(Exception):
    """Base of derive's own errors; ``message`` is the one line a user sees."""

    exit_code = INTERNAL_ERROR

    @property
    def message(self) -> str:
        return str(self)


class InputError(DeriveError, ValueError):
    """Input that cannot be used: a spec, a command line, an output directory."""

    exit_code = 2


class SpecError(InputError):
    """A spec that cannot be used; the message names the file, the layer and the field."""


class NotInNetwork(InputError, KeyError):
    """A name asked for that the network does not have (or cannot differentiate by)."""

    def __str__(self) -> str:
        return str(self.args[0])


class UsageError(InputError):
    """A command line that cannot be acted on."""

    @property
    def message(self) -> str:
        return f"{self} (see 'derive --help')"


class OutputError(InputError):
    """An output directory or file that cannot be written."""


class LimitReached(InputError):
    """Work that would pass one of derive's limits (derive/limits.py): refused, not attempted."""


class VerificationError(DeriveError, AssertionError):
    """A step whose two sides differ numerically."""

    exit_code = 3

    @property
    def message(self) -> str:
        return f"verification failed: {self}"


class UnfinishedSimplification(LimitReached):
    """The rules were still changing an expression when the step limit was reached."""
