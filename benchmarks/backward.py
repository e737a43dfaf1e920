"""The generated backward pass against what a library author would otherwise use.  Prints figures
and ratios measured in one run (alternating, medians of 7); asserts nothing.

    python benchmarks/backward.py

The network of issue #14: x -> affine w1, b1 -> tanh -> affine w2, b2 -> softmax -> cross-entropy,
mean over the batch; all five gradients (w1, b1, w2, b2, x).  Compared, at B = 4096 samples, 512
inputs, 1000 classes and 1024 (then 4096) hidden units, in float64 and float32:
- hand-written NumPy that shares the errors (delta2 = (o - t)/B, delta1 = (1 - a1^2) * delta2 W2^T);
- derive's generated pass, ``Derivation.backward()`` (the source of ``numpy_source()``);
- the five per-gradient functions ``numpy_function(name)``, each on its own;
- jax.grad (jitted, CPU) when jax is installed; torch is named with the reason it is absent.
Peak memory is measured with tracemalloc (NumPy reports its allocations there).
"""
from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from derive import Derivation  # noqa: E402
from derive.spec import deep_tanh_network  # noqa: E402

NETWORK = deep_tanh_network(1, batch={"size": "B", "reduction": "mean"})  # the network of issue #14
NAMES = ["w1", "b1", "w2", "b2", "x"]


def by_hand(x, w1, b1, w2, b2, t):
    """What a careful person writes: the forward pass, then each error once."""
    a1 = np.tanh(x @ w1 + b1)
    z2 = a1 @ w2 + b2
    o = np.exp(z2 - z2.max(axis=1, keepdims=True))
    o /= o.sum(axis=1, keepdims=True)
    delta2 = (o - t) / len(x)
    delta1 = (1 - a1 * a1) * (delta2 @ w2.T)
    return {"w1": x.T @ delta1, "b1": delta1.sum(axis=0), "w2": a1.T @ delta2, "b2": delta2.sum(axis=0),
            "x": delta1 @ w1.T}


def arrays(B, m, n, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    found = {"x": rng.normal(size=(B, m)), "w1": rng.normal(size=(m, n)) / np.sqrt(m), "b1": rng.normal(size=n) * 0.1,
             "w2": rng.normal(size=(n, k)) / np.sqrt(n), "b2": rng.normal(size=k) * 0.1,
             "t": np.eye(k)[rng.integers(0, k, B)]}
    return {name: array.astype(dtype) for name, array in found.items()}


def per_gradient(derivation):
    """The five numpy_function callables, given the forward quantities they read."""
    functions = {name: derivation.numpy_function(name) for name in NAMES}

    def run(x, w1, b1, w2, b2, t):
        a1 = np.tanh(x @ w1 + b1)
        z2 = a1 @ w2 + b2
        o = np.exp(z2 - z2.max(axis=1, keepdims=True))
        o /= o.sum(axis=1, keepdims=True)
        quantities = {"x": x, "w1": w1, "w2": w2, "a1": a1, "o": o, "t": t}
        return {name: function(**quantities) for name, function in functions.items()}
    return run


def with_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None, "jax is not installed (pip install jax)"
    jax.config.update("jax_enable_x64", True)

    def loss(params, x, t):
        a1 = jnp.tanh(x @ params["w1"] + params["b1"])
        z2 = a1 @ params["w2"] + params["b2"]
        return -jnp.mean(jnp.sum(t * jax.nn.log_softmax(z2, axis=1), axis=1))
    gradient = jax.jit(jax.grad(loss, argnums=(0, 1)))

    def run(x, w1, b1, w2, b2, t):
        params, dx = gradient({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, x, t)
        result = {**params, "x": dx}
        return {name: np.asarray(jax.block_until_ready(value)) for name, value in result.items()}
    return run, None


def timed(function, inputs, repeat=7):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(**inputs)
        times.append(time.perf_counter() - start)
    return times


def peak(function, inputs) -> float:
    tracemalloc.start()
    function(**inputs)
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top / 2**20


def compare(label, B, m, n, k, dtype, contenders):
    inputs = arrays(B, m, n, k, dtype)
    expected = by_hand(**inputs)
    for name, function in contenders.items():
        got = function(**inputs)  # also the warm-up (jit compilation for jax)
        worst = max(float(np.max(np.abs(got[g] - expected[g])) / (np.max(np.abs(expected[g])) + 1e-300))
                    for g in NAMES)
        kinds = {str(got[g].dtype) for g in NAMES}
        contenders[name] = (function, worst, kinds)
    samples = {name: [] for name in contenders}
    for _ in range(7):  # alternating, so that the machine's drift hits every contender alike
        for name, (function, _, _) in contenders.items():
            samples[name] += timed(function, inputs, repeat=1)
    base = statistics.median(samples["hand-written NumPy"])
    base_peak = peak(by_hand, inputs)
    print(f"{label}: B = {B}, {m} inputs, {n} hidden, {k} classes, {np.dtype(dtype).name}")
    for name, (function, worst, kinds) in contenders.items():
        seconds = statistics.median(samples[name])
        memory = peak(function, inputs) if name != "jax.grad (jit, CPU)" else float("nan")
        memory_text = f"peak {memory:6.1f} MiB = {memory / base_peak:4.2f} x" if memory == memory else "peak n/a"
        print(f"   {name:36s} {seconds * 1e3:7.1f} ms = {seconds / base:4.2f} x   {memory_text}"
              f"   largest relative difference {worst:.1e}, {'/'.join(sorted(kinds))}")


def main():
    derivation = Derivation.from_dict(NETWORK)
    generated = derivation.backward(NAMES)
    jax_run, jax_absent = with_jax()
    print("The generated backward pass, all five gradients (hand-written NumPy = 1)")
    print("   torch: not measured (PyPI has only its CUDA build, several GB; CPU wheels are on download.pytorch.org)")
    if jax_absent:
        print(f"   jax: not measured ({jax_absent})")
    for hidden in (1024, 4096):
        for dtype in (np.float64, np.float32):
            contenders = {"hand-written NumPy": by_hand, "derive backward()": generated,
                          "derive numpy_function x 5": per_gradient(derivation)}
            if jax_run is not None and dtype == np.float64:
                contenders["jax.grad (jit, CPU)"] = jax_run
            compare(f"{hidden} hidden", 4096, 512, hidden, 1000, dtype, contenders)


if __name__ == "__main__":
    main()
