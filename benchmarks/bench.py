"""derive's speed, measured in one run.  Prints figures and ratios; asserts nothing.

    python benchmarks/bench.py

1. In-process time to derive dE/dw of the seed network with all its steps (goal: median <= 50 ms).
2. Whole-process time of `derive build` as a ratio to `python -c "import sympy, jinja2"` (goal <= 2.5),
   cold (--no-cache: everything derived, verified, rendered) and warm (served from the cache,
   as a doc build's rebuild is; goal <= 1.3).
3. Derivation time against depth: L hidden tanh layers before softmax + cross-entropy,
   gradient with respect to the first layer's weights (goal: linear, L = 16 within 1 s; L = 64 derives).
4. The plain-SymPy route for comparison: explicit components z1..zn, diff, simplify.
5. Whole-process `derive build` of deep networks: 16 affine + tanh layers, 16 tanh layers in a row.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive import network_from_dict  # noqa: E402
from derive.spec import deep_tanh_network, example_network  # noqa: E402
from derive.engine import Engine  # noqa: E402


def timed(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def seed_gradient():
    network = example_network()
    first = timed(lambda: Engine(network).gradient_of("w"), 1)[0]
    times = timed(lambda: Engine(network).gradient_of("w"), 30)
    steps = len(Engine(network).gradient_of("w").steps)
    print("1. dE/dw of the seed network, all steps, in process")
    print(f"   {steps} steps; first run {first * 1e3:.1f} ms; median of 30 runs {statistics.median(times) * 1e3:.1f} ms"
          f" (goal <= 50 ms)")


# Processes run as an installed package does: with Python's bytecode cache (a sandbox may set
# PYTHONDONTWRITEBYTECODE, which would make every run compile derive's modules again; SymPy's
# were compiled when pip installed it).
AS_INSTALLED = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def process_time(command, repeat=5, env=None):
    def run():
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env or AS_INSTALLED)
    run()  # the bytecode cache written once, outside the timing
    return statistics.median(timed(run, repeat))


def peak_memory(command) -> float:
    """The peak resident memory of one run of ``command``, in MiB (as the kernel counts it)."""
    result = subprocess.run([sys.executable, "-c", "import resource, subprocess, sys; "
                             "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
                             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", *command],
                            cwd=ROOT, check=True, capture_output=True, text=True, env=AS_INSTALLED)
    return int(result.stdout) / 1024


def alternating(commands: dict, rounds: int = 5) -> dict:
    """The median time of each command, run in turn round after round, so that the machine's
    drift hits each alike."""
    samples = {label: [] for label in commands}
    for label, (command, env) in commands.items():  # bytecode cache and disk cache warm, untimed
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env or AS_INSTALLED)
    for _ in range(rounds):
        for label, (command, env) in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env or AS_INSTALLED)
            samples[label].append(time.perf_counter() - start)
    return {label: statistics.median(times) for label, times in samples.items()}


def whole_process():
    networks = len(list((ROOT / "examples").glob("*.toml")))
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        build = [sys.executable, "-m", "derive", "build", "--out", out]
        with_cache = {**AS_INSTALLED, "DERIVE_CACHE_DIR": cache}
        times = alternating({
            "import": ([sys.executable, "-c", "import sympy, jinja2"], None),
            "seed": ([*build, "examples/softmax-cross-entropy.toml", "--no-cache"], None),
            "gradient": ([sys.executable, "-m", "derive", "gradient", "--wrt", "w"], None),
            "cold": ([*build, "--no-cache"], None),
            "warm": (build, with_cache)})
        memory = peak_memory([*build, "--no-cache"])
    baseline = times["import"]
    print("2. whole process, alternating, median of 5 (bytecode cached, as installed)")
    print(f"   python -c 'import sympy, jinja2': {baseline:.2f} s")
    print(f"   derive build (seed network, derived, verified, 2 documents): {times['seed']:.2f} s,"
          f" ratio {times['seed'] / baseline:.2f} (goal <= 1.8)")
    print(f"   derive gradient --wrt w (seed network, verified): {times['gradient']:.2f} s,"
          f" ratio {times['gradient'] / baseline:.2f} (goal <= 1.5)")
    print(f"   derive build (whole catalogue, {networks} networks), cold: {times['cold']:.2f} s,"
          f" ratio {times['cold'] / baseline:.2f} (goal <= 3); peak memory {memory:.0f} MiB (goal <= 200)")
    print(f"   derive build (whole catalogue), warm from the cache: {times['warm']:.2f} s,"
          f" ratio {times['warm'] / baseline:.2f} (goal <= 1.3)")


def depth_scaling():
    print("3. dE/dw1 against the number L of hidden tanh layers (in process, median of 3)")
    Engine(network_from_dict(deep_tanh_network(1))).gradient_of("w1")  # warm SymPy's caches first
    previous = None
    for depth in (1, 2, 4, 8, 16, 32, 64):
        network = network_from_dict(deep_tanh_network(depth))
        seconds = statistics.median(timed(lambda: Engine(network).gradient_of("w1"), 3))
        growth = f", x{seconds / previous:.2f} for twice the depth" if previous else ""
        print(f"   L = {depth:2d}: {seconds * 1e3:7.1f} ms ({seconds / depth * 1e3:.1f} ms per layer{growth})")
        previous = seconds


def _toml(spec: dict) -> str:
    """A spec dict of string fields as TOML (enough for the networks below)."""
    lines = []
    for layer in spec["layers"]:
        lines += ["[[layers]]", *(f'{key} = "{value}"' for key, value in layer.items())]
    lines += ["[loss]", *(f'{key} = "{value}"' for key, value in spec["loss"].items())]
    return "\n".join(lines) + "\n"


def tanh_chain(depth: int) -> dict:
    """An affine layer, then ``depth`` tanh layers applied one after another, softmax, cross-entropy."""
    layers = [{"type": "affine", "input": "x", "output": "h0", "weight": "w"}]
    layers += [{"type": "tanh", "input": f"h{level - 1}", "output": f"h{level}"} for level in range(1, depth + 1)]
    layers.append({"type": "softmax", "input": f"h{depth}", "output": "o"})
    return {"layers": layers, "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}}


def deep_builds():
    print("5. derive build of deep networks, whole process (every gradient derived, verified, rendered;"
          " median of 3; goal < 2 s)")
    baseline = process_time([sys.executable, "-c", "import sympy, jinja2"], repeat=3)
    with tempfile.TemporaryDirectory() as where:
        for label, spec in (("16 affine + tanh layers", deep_tanh_network(16)),
                            ("16 tanh layers one after another", tanh_chain(16))):
            path = Path(where) / "net.toml"
            path.write_text(_toml(spec))
            seconds = process_time([sys.executable, "-m", "derive", "build", str(path), "--out", where, "--no-cache"],
                                   repeat=3)
            print(f"   {label}: {seconds:.2f} s = {seconds / baseline:.1f} x `import sympy, jinja2` ({baseline:.2f} s)")


def plain_sympy():
    print("4. plain SymPy, explicit components z_j = sum_i w_ij y_i + b_j, softmax, cross-entropy:")
    print("   diff by w_11 and simplify (median of 3) against derive's index form")
    index_form = Engine(example_network()).gradient_of("w").result
    for n in (2, 3, 4, 6):
        y, t, b = (sp.symbols(f"{name}1:{n + 1}") for name in "ytb")
        w = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w{i + 1}{j + 1}"))
        z = [sum(w[i, j] * y[i] for i in range(n)) + b[j] for j in range(n)]
        total = sum(sp.exp(zj) for zj in z)
        loss = -sum(tj * sp.log(sp.exp(zj) / total) for tj, zj in zip(t, z))
        results = []
        seconds = statistics.median(timed(lambda: results.append(sp.simplify(sp.diff(loss, w[0, 0]))), 3))
        print(f"   n = {n}: {seconds * 1e3:7.1f} ms, result of {sp.count_ops(results[-1]):3d} operations"
              f" (index form, any n: {sp.count_ops(index_form)} operations, y_i (o_j - t_j))")


if __name__ == "__main__":
    seed_gradient()
    whole_process()
    depth_scaling()
    plain_sympy()
    deep_builds()
