"""Fuzzing: whatever a user types ends in a result or in derive's one-line error, never in another
exception, a warning, or unbounded time.  Four kinds of input: equations from a grammar (and
mutations of them), mutated specs, damaged TOML files, and command lines.

Each test runs FUZZ_EXAMPLES examples (25 here; CI runs 2000 with a fixed seed; set
DERIVE_FUZZ_EXAMPLES to run longer).  A failing example is shrunk by hypothesis and should
become a regression test in test_limits.py or test_spec_errors.py.
"""
import contextlib
import copy
import signal
import tomllib
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import Derivation
from derive.cli import main
from derive.errors import DeriveError, one_line
from derive.limits import MAX_MESSAGE
from derive.model.primitives import PRIMITIVES

from conftest import EXAMPLES, FUZZ_EXAMPLES, SPECS

SECONDS = 30  # for one example: derive, verify, render
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
USER_VISIBLE = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextlib.contextmanager
def bounded(seconds: int = SECONDS):
    """Fail an example that runs longer than ``seconds`` (SIGALRM interrupts it)."""
    def expire(signum, frame):
        raise TimeoutError(f"an example took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_result_or_one_clear_line(data: dict) -> None:
    """The API path of `derive build`: derive, verify, render both formats, NumPy code."""
    with warnings.catch_warnings(record=True) as caught, bounded():
        warnings.simplefilter("always")
        try:
            derivation = Derivation.from_dict(data)
            derivation.latex()
            derivation.markdown()
            for name in derivation.wrt:
                derivation.numpy_code(name)
        except DeriveError as error:
            line = one_line(error.message)
            assert line and "\n" not in line and len(line) <= MAX_MESSAGE
    shown = [str(w.message) for w in caught if not issubclass(w.category, USER_VISIBLE)]
    assert not shown, shown


# --- equations from a grammar ----------------------------------------------------------------

INDEX = st.sampled_from(["i", "j", "k"])
SUBSCRIPTED = st.builds(lambda name, idx: f"{name}[{','.join(idx)}]", st.sampled_from(["x", "w", "z", "h"]),
                        st.lists(INDEX, min_size=1, max_size=3))
NUMBER = st.one_of(st.integers(-3, 50).map(str), st.floats(-1e6, 1e6, allow_nan=False).map(repr),
                   st.sampled_from(["0", "1e300", "9" * 40, "0.5", "1e-300", "2**70", "(-1)**0.5"]))
FUNCTIONS = [p.name for p in PRIMITIVES] + ["foo", "sum", "delta", "eval", "__import__"]
EXPRESSIONS = st.recursive(
    st.one_of(SUBSCRIPTED, st.sampled_from(["T", "c", "x[j]", "w[i,j]*x[i]"]), NUMBER),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda a: f"-{a}"),
        st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(INDEX, inner).map(lambda t: f"sum({t[0]}, {t[1]})"),
        st.tuples(INDEX, INDEX, inner).map(lambda t: f"delta({t[0]},{t[1]})*{t[2]}"),
    ), max_leaves=14)
EQUATIONS = st.tuples(st.lists(INDEX, max_size=2, unique=True), EXPRESSIONS).map(
    lambda t: f"o[{','.join(t[0])}] = {t[1]}" if t[0] else f"o = {t[1]}")


def _grammar(leaves, extra=()):
    return st.recursive(leaves, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda a: f"-{a}"),
        st.tuples(st.sampled_from([p.name for p in PRIMITIVES]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        *extra), max_leaves=10)


# well formed: j is free, k summed, so most of these get through to derivation and verification
_IN_K = _grammar(st.sampled_from(["x[k]", "w[k]", "x[j]", "delta(j,k)", "T", "2", "0.5"]))
WELL_FORMED = st.builds(lambda e: f"o[j] = {e}", _grammar(
    st.sampled_from(["x[j]", "w[j]", "T", "c", "1", "3", "0.25"]),
    extra=(_IN_K.map(lambda body: f"sum(k, {body})"),)))


def _mutated(text: str, edits) -> str:
    for position, replacement in edits:
        cut = position % (len(text) + 1)
        text = text[:cut] + replacement + text[cut + 1:]
    return text


MUTATED_EQUATIONS = st.builds(_mutated, EQUATIONS, st.lists(
    st.tuples(st.integers(0, 500), st.sampled_from(["", "(", ")", "[", "]", ",", "*", "**", " ", "x", "j", "1e9",
                                                    "\n", "\x1b", "#", "=", "'", "sum(", "lambda: "])),
    min_size=1, max_size=3))
LOSSES = st.sampled_from([{"type": "mse", "input": "o", "target": "t"},
                          {"type": "custom", "define": "E = sum(j, o[j])"},
                          {"type": "custom", "define": "E = o"},
                          {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}])


@FUZZ
@given(equation=st.one_of(WELL_FORMED, WELL_FORMED, EQUATIONS, MUTATED_EQUATIONS, st.text(max_size=60)), loss=LOSSES,
       first=st.booleans())
def test_equations_from_a_grammar(equation, loss, first):
    layers = [{"type": "custom", "define": equation, "input": "x"}]
    if not first:
        layers.insert(0, {"type": "affine", "input": "x", "output": "z", "weight": "w0"})
        layers[1]["input"] = "z"
        layers[1]["define"] = equation.replace("x[", "z[")
    assert_result_or_one_clear_line({"layers": layers, "loss": loss})


# --- mutated specs ---------------------------------------------------------------------------

BASES = [tomllib.loads(path.read_text()) for path in SPECS]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 10**20), st.floats(), st.text(max_size=12),
                 st.lists(st.text(max_size=5), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                 st.sampled_from(["x", "o", "t", "z1", "a1", "E", "custom", "tanh", "softmax", "one_hot", "B",
                                  "mean", "numerator", "o[j] = o[j]", "E = T"]))


def _places(tree, path=()):
    """Every (container, key) in a spec's nested tables and lists."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else []
    for key, value in items:
        yield tree, key
        yield from _places(value, (*path, key))


@FUZZ
@given(data=st.data())
def test_mutated_specs(data):
    spec = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    for _ in range(data.draw(st.integers(1, 3))):
        places = list(_places(spec))
        container, key = data.draw(st.sampled_from(places))
        action = data.draw(st.sampled_from(["delete", "replace", "add", "batch", "dimensions", "wrt"]))
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = data.draw(JUNK)
        elif action == "add" and isinstance(container, dict):
            container[data.draw(st.text(max_size=8))] = data.draw(JUNK)
        elif action == "batch":
            spec["batch"] = data.draw(st.dictionaries(st.sampled_from(["size", "reduction", "rows"]), JUNK, max_size=2))
        elif action == "dimensions":
            spec["dimensions"] = data.draw(st.dictionaries(st.sampled_from(["x", "w", "o", "t", "q"]),
                                                           st.lists(st.sampled_from(["m", "n", "B", "9"]), max_size=3)))
        elif action == "wrt":
            if not isinstance(spec.get("derive"), dict):
                spec["derive"] = {}
            spec["derive"]["wrt"] = data.draw(st.lists(st.sampled_from(["w", "x", "o", "z", "t", "q"]),
                                                                       max_size=4))
    assert_result_or_one_clear_line(spec)


# --- damaged TOML files and command lines, through the command itself -----------------------

def run(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught, bounded(120):
        warnings.simplefilter("always")
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit_:  # --help prints and exits
            code = exit_.code
    out, err = capsys.readouterr()
    shown = [str(w.message) for w in caught if not issubclass(w.category, USER_VISIBLE)]
    return code, out, err + "".join(shown)


def assert_success_or_one_line(code, out, err):
    if code == 0:
        return
    assert code in (2, 3), (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive: error: "), err
    assert out == "" and "Traceback" not in err
    assert all(ch.isprintable() for ch in lines[0])


TEXTS = [path.read_text() for path in SPECS]


@FUZZ
@given(text=st.sampled_from(TEXTS), edits=st.lists(st.tuples(st.integers(0, 2000), st.text(max_size=3)),
                                                    min_size=1, max_size=4),
       truncate=st.one_of(st.none(), st.integers(0, 2000)))
def test_damaged_toml_files(text, edits, truncate, tmp_path_factory, capsys):
    damaged = _mutated(text, edits)
    damaged = damaged if truncate is None else damaged[:truncate]
    where = tmp_path_factory.mktemp("toml")
    spec = where / "spec.toml"
    spec.write_bytes(damaged.encode("utf-8", "surrogatepass"))  # lone surrogates make invalid UTF-8
    assert_success_or_one_line(*run(["build", spec, "--out", where / "out"], capsys))


TOKENS = ["build", "gradient", "--wrt", "--format", "--layout", "--out", "json", "latex", "markdown", "text", "pdf",
          "w", "z", "b", "y", "q", "numerator", "denominator", "sideways", "--help", "-x", "",
          str(EXAMPLES / "softmax-cross-entropy.toml"), str(EXAMPLES / "two-layer-tanh.toml"), "nope.toml",
          "/dev/null", "/"]


@FUZZ
@given(argv=st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=6))
def test_command_lines(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # `derive build` without --out writes ./output: keep it here
    if argv[:1] == ["build"] and not any(a.endswith(".toml") or a.startswith("/") for a in argv[1:]):
        argv = [*argv, str(EXAMPLES / "linear-mse.toml")]  # the whole catalogue takes seconds: one spec
    assert_success_or_one_line(*run(argv, capsys))
