"""How long `derive check` takes to judge one claim, in process.  Prints figures; asserts nothing.

    python benchmarks/check.py

Goal: at most 100 ms for one claim, in process.  Measured four ways:
- the first claim in a new process, after the import: nothing derived, no cache warm;
- first claim on a fresh Derivation of the built-in network: the gradient is derived, the
  mistake models' alternative derivations too (everything a first claim needs), in a process
  that has checked a claim before (SymPy's caches warm);
- a claim on a Derivation that has checked another claim already (a derivation file, a
  notebook, a grader going through answers);
- a whole derivation file (examples/checks/first-asker.md, 6 claims) on a fresh Derivation.
Each median of 15, and the same on the two-layer tanh network (a hidden layer below the softmax).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive import Derivation  # noqa: E402

WRONG = "dE/dw[i,j] = -t[j]*(1 - o[j])*y[i]"
RIGHT = "dE/dw[i,j] = y[i]*(o[j] - t[j])"
LATEX = r"\frac{\partial E}{\partial w_{ij}} = -t_j (1-o_j) o_i"
HIDDEN = "dE/dz1[j] = -(1 - a1[j]**2)*sum(k, w2[j,k]*t[k]*(1 - o[k]))"
GOAL_MS = 100


def median_ms(function, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def first_claim(make, claim: str) -> float:
    return median_ms(lambda: make().check(claim))


def later_claim(make, warmup: str, claim: str) -> float:
    derivations = []

    def prepared():
        d = make()
        d.check(warmup)
        derivations.append(d)
    for _ in range(15):
        prepared()
    queue = iter(derivations)
    return median_ms(lambda: next(queue).check(claim))


COLD = """
import sys, time
sys.path.insert(0, {root!r})
from derive import Derivation
start = time.perf_counter()
Derivation.builtin().check({claim!r})
print(time.perf_counter() - start)
"""


def cold_ms(claim: str, repeat: int = 5) -> float:
    """The first claim in a new process, after the import: nothing derived or cached yet."""
    import subprocess
    script = COLD.format(root=str(ROOT), claim=claim)
    times = [float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(repeat)]
    return statistics.median(times) * 1e3


def main() -> None:
    builtin = Derivation.builtin
    tanh = lambda: Derivation.from_spec(ROOT / "examples" / "two-layer-tanh.toml")  # noqa: E731
    steps = (ROOT / "examples" / "checks" / "first-asker.md").read_text()
    Derivation.builtin().check(WRONG)  # imports and SymPy's caches, as in a process that has started
    rows = [
        ("built-in network, a wrong claim, the first in a new process (median of 5)", cold_ms(WRONG)),
        ("built-in network, a wrong claim, first on a fresh Derivation", first_claim(builtin, WRONG)),
        ("built-in network, the same claim in LaTeX, first", first_claim(builtin, LATEX)),
        ("built-in network, a right claim, first", first_claim(builtin, RIGHT)),
        ("built-in network, a wrong claim after another claim", later_claim(builtin, RIGHT, WRONG)),
        ("built-in network, the first asker's derivation (6 claims), fresh", median_ms(
            lambda: builtin().check_derivation(steps))),
        ("two-layer tanh network, a wrong claim by z1, first", first_claim(tanh, HIDDEN)),
        ("two-layer tanh network, a wrong claim after another claim", later_claim(
            tanh, "dE/dz2[k] = o[k] - t[k]", HIDDEN)),
    ]
    print(f"derive check, one claim in process (median of 15; goal <= {GOAL_MS} ms)")
    for what, ms in rows:
        print(f"   {what}: {ms:.1f} ms ({ms / GOAL_MS:.2f} of the goal)")


if __name__ == "__main__":
    main()
