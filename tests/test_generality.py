"""Networks derive was not written around, as a new user writes them: every gradient of every
input and parameter (derive's generated backward pass) against central finite differences of a
forward pass written here independently in NumPy, not the one derive builds from the equations;
derive's own verification passes; the LaTeX document compiles."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from derive import Derivation

rng = np.random.default_rng(7)


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def one_hot(n, hot=1, batch=None):
    t = np.zeros(n if batch is None else (batch, n))
    if batch is None:
        t[hot] = 1
    else:
        t[np.arange(batch), rng.integers(n, size=batch)] = 1
    return t


def affine(layer_in, out, w, b=None):
    spec = {"type": "affine", "input": layer_in, "output": out, "weight": w}
    return {**spec, "bias": b} if b else spec


CE = {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}
MSE = {"type": "mse", "input": "y", "target": "t"}

NETWORKS = {
    "label smoothing": (
        {"layers": [affine("x", "z", "w", "b"), {"type": "softmax", "input": "z", "output": "o"}],
         "loss": {"type": "custom", "name": "smoothed cross-entropy", "target": "t", "targets": "one_hot",
                  "define": "E = -sum(j, ((1 - a)*t[j] + a/n)*log(o[j]))"},
         "constants": ["a"], "dimensions": {"o": ["n"]}},
        {"x": (3,), "w": (3, 4), "b": (4,), "t": one_hot(4), "a": 0.1},
        lambda v: -(((1 - v["a"]) * v["t"] + v["a"] / 4) * np.log(softmax(v["x"] @ v["w"] + v["b"]))).sum()),
    "focal loss": (
        {"layers": [affine("x", "z", "w"), {"type": "softmax", "input": "z", "output": "o"}],
         "loss": {"type": "custom", "name": "focal loss", "target": "t", "targets": "one_hot",
                  "define": "E = -sum(j, t[j]*(1 - o[j])**g*log(o[j]))"}, "constants": ["g"]},
        {"x": (3,), "w": (3, 4), "t": one_hot(4, 2), "g": 2.0},
        lambda v: -(v["t"] * (1 - (o := softmax(v["x"] @ v["w"]))) ** v["g"] * np.log(o)).sum()),
    "learned temperature": (
        {"layers": [affine("x", "z", "w"),
                    {"type": "custom", "name": "softmax with temperature", "parameters": ["T"],
                     "define": "o[j] = exp(z[j]/T)/sum(k, exp(z[k]/T))"}],
         "loss": CE},
        {"x": (3,), "w": (3, 4), "T": 1.3, "t": one_hot(4, 1)},
        lambda v: -(v["t"] * np.log(softmax(v["x"] @ v["w"] / v["T"]))).sum()),
    "weight decay": (
        {"layers": [affine("x", "z", "w", "b"), {"type": "softmax", "input": "z", "output": "o"}],
         "loss": {"type": "custom", "name": "cross-entropy with weight decay", "target": "t", "targets": "one_hot",
                  "define": "E = -sum(j, t[j]*log(o[j])) + lam*sum(i, sum(j, w[i,j]**2))/2"},
         "constants": ["lam"]},
        {"x": (3,), "w": (3, 4), "b": (4,), "t": one_hot(4, 3), "lam": 0.01},
        lambda v: -(v["t"] * np.log(softmax(v["x"] @ v["w"] + v["b"]))).sum() + v["lam"] * (v["w"] ** 2).sum() / 2),
    "swish": (
        {"layers": [affine("x", "z", "w"), {"type": "custom", "name": "swish", "define": "y[j] = z[j]*sigmoid(z[j])"}],
         "loss": MSE},
        {"x": (3,), "w": (3, 4), "t": (4,)},
        lambda v: (((z := v["x"] @ v["w"]) * sigmoid(z) - v["t"]) ** 2).sum() / 2),
    "GELU": (
        {"layers": [affine("x", "z", "w"), {"type": "custom", "name": "gelu",
                    "define": "y[j] = 0.5*z[j]*(1 + tanh(0.7978845608*(z[j] + 0.044715*z[j]**3)))"}],
         "loss": MSE},
        {"x": (3,), "w": (3, 4), "t": (4,)},
        lambda v: ((0.5 * (z := v["x"] @ v["w"]) * (1 + np.tanh(0.7978845608 * (z + 0.044715 * z ** 3))) - v["t"])
                   ** 2).sum() / 2),
    "softplus and leaky relu": (
        {"layers": [affine("x", "z", "w", "b"), {"type": "softplus", "input": "z", "output": "a"},
                    affine("a", "u", "v"),
                    {"type": "custom", "name": "leaky relu", "define": "y[j] = relu(u[j]) - 0.01*relu(-u[j])"}],
         "loss": MSE},
        {"x": (3,), "w": (3, 4), "b": (4,), "v": (4, 2), "t": (2,)},
        lambda v: ((np.where((u := np.log1p(np.exp(v["x"] @ v["w"] + v["b"])) @ v["v"]) > 0, u, 0.01 * u)
                    - v["t"]) ** 2).sum() / 2),
    "layer norm": (
        {"layers": [affine("x", "z", "w"),
                    {"type": "custom", "name": "mean", "define": "mu = sum(k, z[k])/n"},
                    {"type": "custom", "name": "variance", "define": "s = sum(k, (z[k] - mu)**2)/n"},
                    {"type": "custom", "name": "normalise", "define": "y[j] = (z[j] - mu)/sqrt(s + eps)"}],
         "loss": MSE, "dimensions": {"z": ["n"]}, "constants": ["eps"]},
        {"x": (3,), "w": (3, 5), "t": (5,), "eps": 0.1},
        lambda v: ((((z := v["x"] @ v["w"]) - z.mean()) / np.sqrt(z.var() + v["eps"]) - v["t"]) ** 2).sum() / 2),
    "RMSNorm": (
        {"layers": [affine("x", "z", "w"),
                    {"type": "custom", "name": "mean square", "define": "r = sum(k, z[k]**2)/n"},
                    {"type": "custom", "name": "normalise", "define": "y[j] = g[j]*z[j]/sqrt(r + eps)",
                     "parameters": ["g"]}],
         "loss": MSE, "dimensions": {"z": ["n"]}, "constants": ["eps"]},
        {"x": (3,), "w": (3, 4), "g": (4,), "t": (4,), "eps": 0.1},
        lambda v: ((v["g"] * (z := v["x"] @ v["w"]) / np.sqrt((z ** 2).mean() + v["eps"]) - v["t"]) ** 2).sum() / 2),
    "residual connection": (
        {"layers": [affine("x", "z", "w"), {"type": "tanh", "input": "z", "output": "a"},
                    {"type": "custom", "name": "skip", "define": "r[j] = a[j] + z[j]"},
                    {"type": "softmax", "input": "r", "output": "o"}],
         "loss": CE},
        {"x": (3,), "w": (3, 4), "t": one_hot(4, 0)},
        lambda v: -(v["t"] * np.log(softmax(np.tanh(z := v["x"] @ v["w"]) + z))).sum()),
    "GLU": (
        {"layers": [affine("x", "z", "w"), affine("x", "u", "v"),
                    {"type": "custom", "name": "gated linear unit", "define": "y[j] = z[j]*sigmoid(u[j])"}],
         "loss": MSE},
        {"x": (3,), "w": (3, 4), "v": (3, 4), "t": (4,)},
        lambda v: ((v["x"] @ v["w"] * sigmoid(v["x"] @ v["v"]) - v["t"]) ** 2).sum() / 2),
    "tied weights": (
        {"layers": [{"type": "custom", "name": "encode", "define": "h[j] = tanh(sum(i, w[i,j]*x[i]))", "input": "x",
                     "parameters": ["w"]},
                    {"type": "custom", "name": "decode with the same weights", "define": "y[i] = sum(j, w[i,j]*h[j])"}],
         "loss": MSE},
        {"x": (4,), "w": (4, 2), "t": (4,)},
        lambda v: ((v["w"] @ np.tanh(v["x"] @ v["w"]) - v["t"]) ** 2).sum() / 2),
    "bilinear rank-3 weight": (
        {"layers": [{"type": "custom", "name": "bilinear", "define": "z[k] = sum(i, sum(j, x[i]*u[i,j,k]*q[j]))",
                     "input": "x", "parameters": ["u"]},
                    {"type": "softmax", "input": "z", "output": "o"}],
         "loss": CE},
        {"x": (2,), "q": (3,), "u": (2, 3, 4), "t": one_hot(4, 1)},
        lambda v: -(v["t"] * np.log(softmax(np.einsum("i,ijk,j->k", v["x"], v["u"], v["q"])))).sum()),
    "attention step": (
        {"layers": [{"type": "custom", "name": "scores", "define": "s[j] = sum(i, q[i]*K[j,i])/sqrt(d)", "input": "q",
                     "parameters": ["K"]},
                    {"type": "softmax", "input": "s", "output": "a"},
                    {"type": "custom", "name": "mix", "define": "y[i] = sum(j, a[j]*V[j,i])", "parameters": ["V"]}],
         "loss": MSE, "dimensions": {"q": ["d"]}},
        {"q": (3,), "K": (5, 3), "V": (5, 3), "t": (3,)},
        lambda v: ((softmax(v["K"] @ v["q"] / np.sqrt(3)) @ v["V"] - v["t"]) ** 2).sum() / 2),
    "KL divergence": (
        {"layers": [affine("x", "z", "w"), {"type": "softmax", "input": "z", "output": "o"}],
         "loss": {"type": "custom", "name": "KL divergence", "target": "t", "targets": "distribution",
                  "define": "E = sum(j, t[j]*log(t[j]/o[j]))"}},
        {"x": (3,), "w": (3, 4), "t": np.array([0.1, 0.2, 0.3, 0.4])},
        lambda v: (v["t"] * np.log(v["t"] / softmax(v["x"] @ v["w"]))).sum()),
    "depth six": (
        {"layers": [affine("x", "z1", "w1")] + [
            layer for n in range(1, 6) for layer in ({"type": "tanh", "input": f"z{n}", "output": f"a{n}"},
                                                     affine(f"a{n}", f"z{n + 1}", f"w{n + 1}"))]
         + [{"type": "softmax", "input": "z6", "output": "o"}], "loss": CE},
        {"x": (3,), **{f"w{n}": (3, 3) for n in range(1, 7)}, "t": one_hot(3, 2)},
        lambda v: -(v["t"] * np.log(softmax(_deep(v)))).sum()),
    "batch two-layer network": (
        {"layers": [affine("x", "z1", "w1", "b1"), {"type": "tanh", "input": "z1", "output": "a1"},
                    affine("a1", "z2", "w2", "b2"), {"type": "softmax", "input": "z2", "output": "o"}],
         "loss": CE, "batch": {"size": "B", "reduction": "mean"}},
        {"x": (4, 3), "w1": (3, 5), "b1": (5,), "w2": (5, 2), "b2": (2,), "t": one_hot(2, batch=4)},
        lambda v: -(v["t"] * np.log(softmax(np.tanh(v["x"] @ v["w1"] + v["b1"]) @ v["w2"] + v["b2"]))).sum() / 4),
}


def _deep(v):
    a = v["x"]
    for n in range(1, 6):
        a = np.tanh(a @ v[f"w{n}"])
    return a @ v["w6"]


def values_of(shapes: dict) -> dict:
    return {name: (rng.normal(0, 0.8, size=shape) if isinstance(shape, tuple) else np.asarray(shape, dtype=float))
            for name, shape in shapes.items()}


def finite_differences(loss, values: dict, name: str, step: float = 1e-6) -> np.ndarray:
    x = values[name]
    grad = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[position] += step
        down[position] -= step
        grad[position] = (loss({**values, name: up}) - loss({**values, name: down})) / (2 * step)
    return grad


@pytest.mark.parametrize("name", NETWORKS)
def test_every_gradient_against_an_independent_forward_pass(name):
    spec, shapes, loss = NETWORKS[name]
    derivation = Derivation.from_dict(spec)
    derivation.verify(derivation.backward_names())
    values = values_of(shapes)
    arguments = {n: values[n] for n in derivation.network.tensors if n in values}
    got = derivation.backward()(**arguments)
    assert set(got) == set(derivation.backward_names())
    for wrt, gradient in got.items():
        expected = finite_differences(loss, values, wrt)
        assert np.allclose(gradient, expected, rtol=1e-5, atol=1e-7), (name, wrt)
        assert derivation.numpy_code(wrt)  # every gradient has NumPy code of its own too


@pytest.mark.parametrize("name", NETWORKS)
def test_the_document_compiles(name, pdflatex, tmp_path):
    derivation = Derivation.from_dict(NETWORKS[name][0])
    (tmp_path / "doc.tex").write_text(derivation.latex())
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
