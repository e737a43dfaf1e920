"""Printing that always compiles: networks with random names (single letters, layer numbers,
Greek names, words), random activations, losses and layouts, through every printer; every
LaTeX document compiles with pdflatex and every formula of every Markdown document parses
with KaTeX (the double superscript of a transposed x^{(1)} was one such bug)."""
from __future__ import annotations

import random
import subprocess

import pytest

from derive import Derivation

from test_documents import katex_errors, math_blocks

NAMES = ["x", "y", "h", "a", "u", "v", "g", "q", "x1", "a2", "h1", "z3", "w10", "mu", "sigma", "tau", "phi", "alpha",
         "logits", "hid", "act", "inp", "s2", "beta1"]
ACTIVATIONS = ["tanh", "sigmoid", "relu", "softplus"]
COUNT = 24


def random_spec(seed: int) -> dict:
    rng = random.Random(seed)
    names = rng.sample(NAMES, 9)
    x, z1, w1, b1, a1, z2, w2, out, target = names
    layers = [{"type": "affine", "input": x, "output": z1, "weight": w1, "bias": b1},
              {"type": rng.choice(ACTIVATIONS), "input": z1, "output": a1},
              {"type": "affine", "input": a1, "output": z2, "weight": w2}]
    if rng.random() < 0.5:
        layers.append({"type": "softmax", "input": z2, "output": out})
        loss = {"type": "cross_entropy", "input": out, "target": target, "targets": "one_hot"}
    else:
        loss = {"type": "mse", "input": z2, "target": target}
    spec = {"title": f"Random network {seed}", "layers": layers, "loss": loss,
            "derive": {"layout": rng.choice(["denominator", "numerator"]), "differential": rng.random() < 0.5}}
    if rng.random() < 0.3:
        spec["batch"] = {"size": "B", "reduction": rng.choice(["mean", "sum"])}
    return spec


@pytest.fixture(scope="module")
def documents() -> dict[int, dict[str, str]]:
    return {seed: Derivation.from_dict(random_spec(seed)).documents(["latex", "markdown"]) for seed in range(COUNT)}


@pytest.mark.parametrize("seed", range(COUNT))
def test_every_random_network_compiles(seed, documents, pdflatex, tmp_path):
    (tmp_path / "doc.tex").write_text(documents[seed]["latex"])
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (random_spec(seed), run.stdout[-1500:])


def test_every_formula_of_every_random_network_parses_with_katex(documents, katex_node):
    blocks = [block for seed in range(COUNT) for block in math_blocks(documents[seed]["markdown"])]
    assert len(blocks) > 20 * COUNT
    assert katex_errors(katex_node, blocks) == []
