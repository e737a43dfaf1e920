"""How long derive's results are next to what a careful person writes.  Prints a table; asserts nothing.

    python benchmarks/readability.py

For every gradient of every example, and of six compound layers written as a person derives
them (layer norm, RMSNorm and batch norm in short equations, one attention step, GELU, focal
loss), the result's length (characters as printed in the spec syntax, and SymPy's operation
count) beside the length of a hand-written reference.  A result is measured as documents show
it: an error it would repeat is called by its name (dE/dh_j), and that name's definition is a
row of its own; a sub-expression it names (u_j = tanh(...)) is counted with its value.  Each
reference is written down here by hand, and checked with `derive check` before it is
measured, so a wrong reference cannot make a ratio look good.  Both are printed by the same
printer, so only the expressions differ.
Goal: no result longer than 1.5 times its reference.
"""
from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive import Derivation  # noqa: E402
from derive.numeric.claims import Verdict  # noqa: E402
from derive.printing import text  # noqa: E402

GOAL = 1.5

# what a careful person writes for each gradient, in the spec syntax
EXAMPLES = {
    "softmax-cross-entropy": [
        "dE/do[j] = -t[j]/o[j]", "dE/dz[j] = o[j] - t[j]", "dE/dw[i,j] = y[i]*(o[j] - t[j])",
        "dE/db[j] = o[j] - t[j]", "dE/dy[i] = sum(j, w[i,j]*(o[j] - t[j]))"],
    "two-layer-tanh": [
        "dE/dz2[j] = o[j] - t[j]", "dE/dw2[i,j] = a1[i]*(o[j] - t[j])", "dE/db2[j] = o[j] - t[j]",
        "dE/da1[j] = sum(k, w2[j,k]*(o[k] - t[k]))", "dE/dz1[j] = (1 - a1[j]**2)*sum(k, w2[j,k]*(o[k] - t[k]))",
        "dE/dw1[i,j] = x[i]*(1 - a1[j]**2)*sum(k, w2[j,k]*(o[k] - t[k]))",
        "dE/db1[j] = (1 - a1[j]**2)*sum(k, w2[j,k]*(o[k] - t[k]))",
        "dE/dx[i] = sum(j, w1[i,j]*(1 - a1[j]**2)*sum(k, w2[j,k]*(o[k] - t[k])))"],
    "batch-mean": [
        "dE/dz[s,j] = (o[s,j] - t[s,j])/B", "dE/dw[i,j] = sum(s, y[s,i]*(o[s,j] - t[s,j]))/B",
        "dE/db[j] = sum(s, o[s,j] - t[s,j])/B", "dE/dy[s,i] = sum(j, w[i,j]*(o[s,j] - t[s,j]))/B"],
    "linear-mse": [
        "dE/do[j] = o[j] - t[j]", "dE/dw[j,i] = x[i]*(o[j] - t[j])", "dE/db[j] = o[j] - t[j]",
        "dE/dx[i] = sum(j, w[j,i]*(o[j] - t[j]))"],
    "log-softmax-nll": [  # the softmax written out: the network gives it no name
        "dE/dl[j] = -t[j]", "dE/dz[j] = exp(z[j])/sum(k, exp(z[k])) - t[j]",
        "dE/dw[i,j] = x[i]*(exp(z[j])/sum(k, exp(z[k])) - t[j])", "dE/db[j] = exp(z[j])/sum(k, exp(z[k])) - t[j]"],
    "relu-class-weights": [
        "dE/dz[j] = sum(k, c[k]*t[k])*(o[j] - t[j])", "dE/dw[i,j] = sum(k, c[k]*t[k])*r[i]*(o[j] - t[j])",
        "dE/dr[j] = sum(l, c[l]*t[l])*sum(k, w[j,k]*(o[k] - t[k]))",
        "dE/dh[j] = heaviside(h[j])*sum(l, c[l]*t[l])*sum(k, w[j,k]*(o[k] - t[k]))",
        "dE/dv[i,j] = x[i]*heaviside(h[j])*sum(l, c[l]*t[l])*sum(k, w[j,k]*(o[k] - t[k]))",
        "dE/db[j] = heaviside(h[j])*sum(l, c[l]*t[l])*sum(k, w[j,k]*(o[k] - t[k]))"],
    "sigmoid-binary-cross-entropy": [
        "dE/do[j] = (o[j] - t[j])/(o[j]*(1 - o[j]))", "dE/dz[j] = o[j] - t[j]", "dE/dw[i,j] = x[i]*(o[j] - t[j])",
        "dE/db[j] = o[j] - t[j]"],
    "soft-targets": [
        "dE/dz[j] = o[j]*sum(k, t[k]) - t[j]", "dE/dw[i,j] = y[i]*(o[j]*sum(k, t[k]) - t[j])",
        "dE/db[j] = o[j]*sum(k, t[k]) - t[j]", "dE/dy[i] = sum(j, w[i,j]*(o[j]*sum(k, t[k]) - t[j]))"],
    "layer-norm": [  # g = dE/dh, named as a person names it
        "dE/dz[j] = (partial(E, h[j]) - sum(k, partial(E, h[k]))/n"
        " - h[j]*sum(k, h[k]*partial(E, h[k]))/n)/sqrt(v + eps)",
        "dE/dh[j] = h[j] - t[j]"],
    "attention": [  # e_j = dE/da_j, the error the softmax's Jacobian brings in twice
        "dE/ds[j] = a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k])))",
        "dE/dq[i] = sum(j, K[j,i]*a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k]))))/sqrt(d)",
        "dE/dK[j,i] = q[i]*a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k])))/sqrt(d)",
        "dE/dV[j,i] = a[j]*(y[i] - t[i])", "dE/da[j] = sum(i, V[j,i]*(y[i] - t[i]))"],
    "batch-two-layer": [
        "dE/dz2[s,j] = (o[s,j] - t[s,j])/B", "dE/dw2[i,j] = sum(s, a1[s,i]*(o[s,j] - t[s,j]))/B",
        "dE/da1[s,j] = sum(k, w2[j,k]*(o[s,k] - t[s,k]))/B",
        "dE/dz1[s,j] = (1 - a1[s,j]**2)*sum(k, w2[j,k]*(o[s,k] - t[s,k]))/B",
        "dE/dw1[i,j] = sum(s, x[s,i]*(1 - a1[s,j]**2)*sum(k, w2[j,k]*(o[s,k] - t[s,k])))/B",
        "dE/db1[j] = sum(s, (1 - a1[s,j]**2)*sum(k, w2[j,k]*(o[s,k] - t[s,k])))/B"],
    "temperature-softmax": [
        "dE/dz[j] = (o[j] - t[j])/T", "dE/dw[i,j] = x[i]*(o[j] - t[j])/T", "dE/db[j] = (o[j] - t[j])/T"],
}

COMPOUND = {
    "layer norm": ({
        "layers": [{"type": "custom", "name": "mean", "define": "mu = sum(k, z[k])/n", "input": "z"},
                   {"type": "custom", "name": "variance", "define": "v = sum(k, (z[k] - mu)**2)/n"},
                   {"type": "custom", "name": "normalise", "define": "h[j] = (z[j] - mu)/sqrt(v + eps)"}],
        "loss": {"type": "mse", "input": "h", "target": "t"}, "dimensions": {"z": ["n"]}, "constants": ["eps"]},
        # (g_k - mean(g) - h_k mean(g h)) / sigma, with g = dE/dh = h - t
        ["dE/dz[k] = (partial(E, h[k]) - sum(l, partial(E, h[l]))/n"
         " - h[k]*sum(l, h[l]*partial(E, h[l]))/n)/sqrt(v + eps)",
         "dE/dh[j] = h[j] - t[j]"]),
    "RMSNorm": ({
        "layers": [{"type": "custom", "name": "mean square", "define": "r = sum(k, z[k]**2)/n", "input": "z"},
                   {"type": "custom", "name": "normalise", "define": "h[j] = g[j]*z[j]/sqrt(r + eps)",
                    "parameters": ["g"]}],
        "loss": {"type": "mse", "input": "h", "target": "t"}, "dimensions": {"z": ["n"]}, "constants": ["eps"]},
        ["dE/dz[k] = g[k]*partial(E, h[k])/sqrt(r + eps) - z[k]*sum(l, h[l]*partial(E, h[l]))/(n*(r + eps))",
         "dE/dg[j] = z[j]*(h[j] - t[j])/sqrt(r + eps)"]),
    "batch norm": ({
        "layers": [{"type": "custom", "name": "batch mean", "define": "mu[j] = sum(s, z[s,j])/B", "input": "z"},
                   {"type": "custom", "name": "batch variance", "define": "v[j] = sum(s, (z[s,j] - mu[j])**2)/B"},
                   {"type": "custom", "name": "normalise", "define": "h[s,j] = (z[s,j] - mu[j])/sqrt(v[j] + eps)"}],
        "loss": {"type": "custom", "name": "squared error", "define": "E = sum(s, sum(j, (h[s,j] - t[s,j])**2))/2",
                 "target": "t"},
        "dimensions": {"z": ["B", "n"]}, "constants": ["eps"]},
        ["dE/dz[s,j] = (partial(E, h[s,j]) - sum(r, partial(E, h[r,j]))/B"
         " - h[s,j]*sum(r, h[r,j]*partial(E, h[r,j]))/B)/sqrt(v[j] + eps)", "dE/dh[s,j] = h[s,j] - t[s,j]"]),
    "attention": ({
        "layers": [{"type": "custom", "name": "scores", "define": "s[j] = sum(i, q[i]*K[j,i])/sqrt(d)", "input": "q"},
                   {"type": "softmax", "input": "s", "output": "a"},
                   {"type": "custom", "name": "mix", "define": "y[i] = sum(j, a[j]*V[j,i])"}],
        "loss": {"type": "mse", "input": "y", "target": "t"}, "dimensions": {"q": ["d"]}},
        # a_j (e_j - sum_k a_k e_k), e_j = dE/da_j = sum_i V_ji (y_i - t_i); q: sum_j K_ji dE/ds_j / sqrt(d)
        ["dE/ds[j] = a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k])))",
         "dE/dq[i] = sum(j, K[j,i]*a[j]*(partial(E, a[j]) - sum(k, a[k]*partial(E, a[k]))))/sqrt(d)",
         "dE/da[j] = sum(i, V[j,i]*(y[i] - t[i]))"]),
    "GELU (tanh form)": ({
        "layers": [{"type": "custom", "name": "gelu", "input": "z",
                    "define": "a[j] = 0.5*z[j]*(1 + tanh(0.7978845608*(z[j] + 0.044715*z[j]**3)))"}],
        "loss": {"type": "mse", "input": "a", "target": "t"}},
        ["dE/dz[j] = (a[j] - t[j])*(0.5*(1 + tanh(0.7978845608*(z[j] + 0.044715*z[j]**3)))"
         " + 0.5*z[j]*(1 - tanh(0.7978845608*(z[j] + 0.044715*z[j]**3))**2)*0.7978845608*(1 + 0.134145*z[j]**2))"]),
    "focal loss": ({
        "layers": [{"type": "softmax", "input": "z", "output": "o"}],
        "loss": {"type": "custom", "name": "focal loss", "define": "E = -sum(j, t[j]*(1 - o[j])**g*log(o[j]))",
                 "target": "t", "targets": "one_hot"},
        "constants": ["g"]},
        ["dE/do[j] = t[j]*(g*(1 - o[j])**(g - 1)*log(o[j]) - (1 - o[j])**g/o[j])",
         "dE/dz[j] = o[j]*(partial(E, o[j]) - sum(k, o[k]*partial(E, o[k])))"]),
}


def rows():
    for name, claims in EXAMPLES.items():
        yield name, Derivation.from_spec(ROOT / "examples" / f"{name}.toml"), claims
    for name, (spec, claims) in COMPOUND.items():
        yield name, Derivation.from_dict(spec), claims


def measure(derivation, claim: str) -> tuple[str, int, int, int, int]:
    checked = derivation.check(claim)
    if checked.verdict != Verdict.RIGHT:
        raise SystemExit(f"the reference {claim!r} is not right: {checked.verdict}")
    name = checked.claim.denominator
    gradient, reference = derivation.gradient(name), checked.claim.rhs
    # as documents show it, with the value of each abbreviation it uses (u_j = tanh(...)) counted in
    shown = [gradient.named, *(a.value for a in gradient.abbreviations)]
    return (name, sum(len(text(e)) for e in shown), len(text(reference)), sum(sp.count_ops(e) for e in shown),
            sp.count_ops(reference))


def main() -> None:
    print("derive's results against hand-written references (characters as printed; operations)")
    print(f"{'network':30} {'dE/d':6} {'chars':>6} {'ref':>5} {'ratio':>6} {'ops':>5} {'ref':>4} {'ratio':>6}")
    worst = 0.0
    for network, derivation, claims in rows():
        for claim in claims:
            name, chars, ref_chars, ops, ref_ops = measure(derivation, claim)
            ratio, op_ratio = chars / ref_chars, ops / max(ref_ops, 1)
            worst = max(worst, ratio, op_ratio)
            print(f"{network:30} {name:6} {chars:6} {ref_chars:5} {ratio:6.2f} {ops:5} {ref_ops:4} {op_ratio:6.2f}")
    print(f"largest ratio {worst:.2f} (goal <= {GOAL})")


if __name__ == "__main__":
    main()
