"""The ``derive`` command: build documents, or print one gradient.

    derive build [SPEC ...] [--out DIR] [--check] [--no-cache]
    derive gradient [SPEC] --wrt NAME [--format json|latex|markdown|text] [--layout denominator|numerator]
    derive backward [SPEC] [--wrt NAME ...] [--layout denominator|numerator]
    derive check [SPEC] (--claim "dE/dw[i,j] = ..." ... | FILE) [--format text|markdown|json]

Without a SPEC the built-in catalogue is used.  Every error is one line on stderr and a
non-zero exit; a build renders everything in memory first and then replaces each file
atomically, so a failure never leaves output/ half written.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
from pathlib import Path

from .background import cores, in_background
from .cache import cached
from .errors import INTERNAL_ERROR, DeriveError, OutputError, UsageError, one_line
from .render.formats import EXTENSIONS
from .spec.examples import DEFAULT, example_specs, examples_dir
from .spec.text import read_spec_text

EXIT_INTERRUPTED = 130
EXIT_STALE = 1
EXIT_BROKEN_PIPE = 141  # as a shell reports a process ended by SIGPIPE


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="derive", description="Step-by-step, verified gradients of neural networks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    build = commands.add_parser("build", help="render derivation documents (LaTeX and Markdown)")
    build.add_argument("specs", nargs="*", metavar="SPEC", help="network spec files (default: the built-in catalogue)")
    build.add_argument("--out", default="output", metavar="DIR", help="output directory (default: output)")
    build.add_argument("--check", action="store_true",
                       help="write nothing; list each document that is missing or differs, and exit 1 if any")
    build.add_argument("--no-cache", action="store_true", help="derive everything anew (see derive.cache)")
    gradient = commands.add_parser("gradient", help="print one gradient")
    gradient.add_argument("spec", nargs="?", metavar="SPEC", help="network spec file (default: the built-in network)")
    gradient.add_argument("--wrt", required=True, metavar="NAME", help="the quantity to differentiate by")
    gradient.add_argument("--format", default="text", choices=["json", "latex", "markdown", "text"])
    gradient.add_argument("--layout", choices=["denominator", "numerator"],
                          help="matrix layout: the shape of the variable (default) or the Jacobian's")
    backward = commands.add_parser("backward", help="print a NumPy backward pass (Python source, checked)")
    backward.add_argument("spec", nargs="?", metavar="SPEC", help="network spec file (default: the built-in network)")
    backward.add_argument("--wrt", action="append", metavar="NAME",
                          help="a gradient to return (repeatable; default: every parameter and input)")
    backward.add_argument("--layout", choices=["denominator", "numerator"],
                          help="matrix layout: the shape of the variable (default) or the Jacobian's")
    check = commands.add_parser("check", help="check claims about derivatives, or a derivation line by line")
    check.add_argument("paths", nargs="*", metavar="SPEC|FILE",
                       help="a network spec (.toml; default: the built-in network) and/or a derivation to check, "
                            "one step a line (text, Markdown or LaTeX)")
    check.add_argument("--claim", action="append", metavar="CLAIM",
                       help="a claim such as 'dE/dw[i,j] = y[i]*(o[j] - t[j])', or in LaTeX (repeatable)")
    check.add_argument("--format", default="text", choices=["text", "markdown", "json"])
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "build":
            return build(args.specs, Path(args.out), check=args.check, use_cache=not args.no_cache)
        if args.command == "backward":
            return backward(args.spec, args.wrt, args.layout)
        if args.command == "check":
            return check(args.paths, args.claim, args.format)
        return gradient(args.spec, args.wrt, args.format, args.layout)
    except DeriveError as error:
        return _fail(error.message, error.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
    except BrokenPipeError:  # the reader went away (derive build | head): there is no one to tell
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a bug in derive itself: still one line, unless asked for more
        if os.environ.get("DERIVE_DEBUG"):
            raise
        return _fail(f"internal error ({type(error).__name__}: {error}); "
                     "rerun with DERIVE_DEBUG=1 for the traceback", INTERNAL_ERROR)


def run() -> None:
    """The console script: main(), then exit at once.  Tearing down SymPy's caches (millions of
    objects after a deep network) takes up to half a second and would only free memory the
    operating system frees anyway; every file is already written and closed."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more can be said
        code = code or EXIT_BROKEN_PIPE
    os._exit(code)


def _fail(message: str, code: int) -> int:
    print(f"derive: error: {one_line(message)}", file=sys.stderr)
    return code


def _derivation(spec: str | None):
    from .api import Derivation  # here, not above: a build served from the cache needs no SymPy
    return Derivation.from_spec(spec) if spec else Derivation.from_spec(examples_dir() / f"{DEFAULT}.toml")


def _check_in_network(derivation, spec: str | None, name: str) -> None:
    if name not in derivation.network.differentiable():
        where = spec or "the built-in network"
        raise UsageError(f"{where}: --wrt '{name}' is not in the network "
                        f"(choose from: {', '.join(derivation.network.differentiable())})")


def backward(spec: str | None, names: list[str] | None, layout: str | None = None) -> int:
    """The backward pass's source, after every gradient it returns is verified and the pass itself
    checked against them."""
    derivation = _derivation(spec)
    for name in names or []:
        _check_in_network(derivation, spec, name)
    names = list(dict.fromkeys(names)) if names else None
    derivation.verify(derivation.backward_names(names), documents=False)  # a wrong step is reported first
    sys.stdout.write(derivation.numpy_source(names, layout))
    return 0


def check(paths: list[str], claims: list[str] | None, fmt: str) -> int:
    """Exit 0 when every claim (or line) checked is right, 1 when one is not."""
    specs = [p for p in paths if p.endswith(".toml")]
    files = [p for p in paths if not p.endswith(".toml")]
    if len(specs) > 1 or len(files) > 1:
        raise UsageError("check takes at most one spec (.toml) and one derivation file")
    if bool(claims) == bool(files):
        raise UsageError("give the claims to check with --claim, or a derivation FILE (not both)")
    from .numeric.claims import ChainCheck  # here, not above: a build served from the cache needs no SymPy
    derivation = _derivation(specs[0] if specs else None)
    if files:
        checked = derivation.check_derivation(read_spec_text(Path(files[0]), "a derivation"), files[0])
    else:
        checked = ChainCheck.of_claims([derivation.check(claim) for claim in claims])
    sys.stdout.write(derivation.check_report(checked, fmt))
    return 0 if checked.all_right else 1


def gradient(spec: str | None, name: str, fmt: str, layout: str | None = None) -> int:
    derivation = _derivation(spec)
    _check_in_network(derivation, spec, name)
    if fmt == "json":
        output = json.dumps(derivation.as_json(name, layout), indent=2) + "\n"
    elif fmt == "text":
        derivation.verify([name], documents=False)
        output = derivation.text(name)
    else:
        output = getattr(derivation, fmt)([name], layout)
    sys.stdout.write(output)
    return 0


def build(specs: list[str], out: Path, check: bool = False, use_cache: bool = True) -> int:
    paths = [Path(s) for s in specs] or example_specs()
    slugs: dict[str, Path] = {}
    for path in paths:
        if path.stem in slugs:
            raise UsageError(f"{path}: another spec is also named '{path.stem}'; both would write {path.stem}.md")
        slugs[path.stem] = path
    documents: dict[str, str] = {}
    found = _every_spec(paths, use_cache)
    for path in paths:  # the first spec that fails, in the order given, is the one reported
        if isinstance(found[path], BaseException):
            raise found[path]
        documents.update(found[path])
    files = {out / name: content for name, content in documents.items()}
    if check:
        return _check_fresh(files)
    _check_writable(out)
    for path in write_all_or_nothing(files):
        print(path)
    return 0


def _every_spec(paths: list[Path], use_cache: bool) -> dict:
    """Each spec's documents (or the error it ended in); with a second core, every other spec is
    done in a child process.  Each half stops at its first error: what comes after is not needed."""
    def documents_of(group: list[Path]) -> dict:
        found: dict = {}
        for path in group:
            try:
                found[path] = _documents(path, use_cache)
            except Exception as error:  # any failure, so that the first in order is the one raised
                found[path] = error
                break
        return found
    theirs = in_background(lambda: documents_of(paths[1::2]), worth_it=len(paths) > 1 and cores() > 1)
    try:
        mine = documents_of(paths[0::2])
    except BaseException:
        theirs.abandon()
        raise
    return {**mine, **theirs.result()}


def _documents(path: Path, use_cache: bool) -> dict[str, str]:
    """The documents of one spec, by file name: from the cache, or derived once for all formats."""
    text = read_spec_text(path)

    @functools.cache
    def derivation():
        from .api import Derivation  # imported, with SymPy, only for what the cache does not hold
        return Derivation.from_text(text, origin=str(path), slug=path.stem)
    @functools.cache
    def every_format() -> dict[str, str]:
        return derivation().documents(list(EXTENSIONS))

    def render(fmt: str) -> str:
        return every_format()[fmt]
    return {path.stem + extension: cached(functools.partial(render, fmt), enabled=use_cache, spec=text,
                                          slug=path.stem, format=fmt)
            for fmt, extension in EXTENSIONS.items()}


def _check_fresh(files: dict[Path, str]) -> int:
    """``--check``: each document that is missing or differs from what a build would write."""
    stale = 0
    for path, content in files.items():
        try:
            on_disk = path.read_bytes()
        except FileNotFoundError:
            print(f"{path}: missing")
            stale += 1
            continue
        except OSError as error:
            raise OutputError(f"--out {path.parent}: cannot read {path.name} ({error.strerror})") from None
        if on_disk != content.encode("utf-8"):
            print(f"{path}: differs")
            stale += 1
    if stale:
        print(f"derive: {stale} of {len(files)} documents are stale; run derive build to renew them",
              file=sys.stderr)
        return EXIT_STALE
    return 0


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"--out {out}: cannot create the directory ({error.strerror})") from None
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise OutputError(f"--out {out}: not a writable directory")


def write_all_or_nothing(files: dict[Path, str]) -> list[Path]:
    """Write every file to a temporary file beside its target, and only when all are written
    rename them into place: a failure before that leaves every target as it was and no temporary
    file behind; readers never see half a file."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in files.items():
            if path.is_dir():
                raise OutputError(f"--out {path.parent}: {path.name} is a directory; nothing was written")
            staged.append((_staged(path.resolve(), content), path))  # a link: write where it points
    except BaseException:
        for temporary, _ in staged:
            _remove(temporary)
        raise
    for done, (temporary, path) in enumerate(staged):
        try:
            os.replace(temporary, path.resolve())
        except OSError as error:
            for left, _ in staged[done:]:
                _remove(left)
            raise OutputError(f"--out {path.parent}: cannot replace {path.name} ({error.strerror}); "
                              f"{done} of {len(staged)} documents were already replaced") from None
    return [path for _, path in staged]


def _staged(path: Path, content: str) -> str:
    """A temporary file beside ``path`` holding ``content``, with the mode a plain write gives."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        os.chmod(temporary, 0o666 & ~_umask())
    except BaseException as error:
        _remove(temporary)
        if isinstance(error, OSError):
            raise OutputError(f"--out {path.parent}: cannot write {path.name} ({error.strerror}); "
                              f"nothing was written") from None
        raise
    return temporary


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


if __name__ == "__main__":
    run()
