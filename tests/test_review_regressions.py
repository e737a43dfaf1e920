"""Regressions found by reviewing session 17's changes: each input below once failed, hung,
crashed or came out different from deriving anew."""
import subprocess

import pytest

from derive import Derivation
from derive.errors import LimitReached

CE = {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"}


def forgetful(derivation):
    """The same derivation with no local derivation reused by renaming."""
    keep_nothing = type("Forgetful", (dict,), {"setdefault": lambda self, key, default=None: default})
    derivation.engine.local_forms = keep_nothing()
    return derivation


@pytest.mark.parametrize("spec", [
    {"layers": [{"type": "affine", "input": "x", "output": "z1", "weight": "w1"},   # two softmaxes of one size:
                {"type": "softmax", "input": "z1", "output": "a1"},                  # the upstream sum's index was
                {"type": "affine", "input": "a1", "output": "z2", "weight": "w2"},   # captured by the layer's own
                {"type": "softmax", "input": "z2", "output": "o"}],
     "loss": CE, "dimensions": {"x": ["n"], "z1": ["n"], "z2": ["n"], "o": ["n"]}},
    {"layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"},     # z also reaches the loss
                {"type": "softmax", "input": "z", "output": "o"},                    # past the softmax
                {"type": "custom", "define": "q[j] = o[j]*z[j]"}],
     "loss": {"type": "mse", "input": "q", "target": "t"}},
], ids=["shared size", "second path"])
def test_the_tempting_mistake_is_checked_on_networks_with_shared_sizes_and_second_paths(spec):
    assert Derivation.from_dict(spec).verify().mistakes


def test_a_sum_over_many_indices_is_refused_at_once_not_computed_for_minutes():
    letters = "abcdefghpqrsuv"
    body = "*".join(["o[a]"] + [f"c{n}[{letter}]" for n, letter in enumerate(letters[1:])])
    for letter in reversed(letters):
        body = f"sum({letter}, {body})"
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "o[j] = w[j]*x[j]", "input": "x", "parameters": ["w"]}],
        "loss": {"type": "custom", "define": f"E = {body}"}})
    with pytest.raises(LimitReached, match="products"):
        derivation.verify()


def test_a_product_of_more_factors_than_einsum_takes_is_still_checked():
    def balanced(factors):
        half = len(factors) // 2
        return factors[0] if len(factors) == 1 else f"({balanced(factors[:half])})*({balanced(factors[half:])})"
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "define": "o[j] = w[j]*x[j]", "input": "x", "parameters": ["w"]}],
        "loss": {"type": "custom", "define": f"E = sum(j, {balanced(['o[j]'] + [f'c{n}[j]' for n in range(70)])})"}})
    derivation.verify()


@pytest.mark.parametrize("spec", [
    {"layers": [{"type": "custom", "define": "a[j] = x[j]**2*c", "input": "x"},   # da/dx folds into e, db/da does not
                {"type": "custom", "define": "e[j] = x[j]*c"},
                {"type": "custom", "define": "b[j] = a[j]**2*c"},
                {"type": "custom", "define": "o[j] = b[j] + e[j]"}],
     "loss": {"type": "mse", "input": "o", "target": "t"}},
    {"layers": [{"type": "custom", "define": "h[j] = x[j]/sqrt(sum(k, x[k]**2))", "input": "x"},  # names in
                {"type": "custom", "define": "g[i] = h[i]/sqrt(sum(a, h[a]**2))"},               # another order
                {"type": "affine", "input": "g", "output": "o", "weight": "w"}],
     "loss": {"type": "mse", "input": "o", "target": "t"}},
], ids=["foldable into another layer", "names in another order"])
def test_a_renamed_derivation_is_the_one_derived_anew(spec):
    renamed, fresh = Derivation.from_dict(spec), forgetful(Derivation.from_dict(spec))
    assert renamed.markdown() == fresh.markdown()
    assert all(renamed.gradient(name).result == fresh.gradient(name).result for name in renamed.wrt)


def test_two_errors_of_one_form_are_not_written_as_each_other():
    markdown = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z1", "weight": "w1"},
                   {"type": "affine", "input": "x", "output": "z2", "weight": "w2"},
                   {"type": "custom", "define": "o[j] = z1[j] + z2[j]"}],
        "loss": {"type": "mse", "input": "o", "target": "t"}}).markdown()
    assert r"\boldsymbol{\delta}" not in markdown


def test_the_example_of_a_rank_5_tensor_compiles(pdflatex, tmp_path):
    indices = "a,b,c,d,e"
    derivation = Derivation.from_dict({
        "layers": [{"type": "custom", "input": "x",
                    "define": f"o[{indices}] = exp(x[{indices}])/sum(f, exp(x[a,b,c,d,f]))"}],
        "loss": {"type": "custom", "target": "t", "targets": "one_hot",
                 "define": f"E = -sum(a, sum(b, sum(c, sum(d, sum(e, t[{indices}]*log(o[{indices}]))))))"}})
    assert derivation.verify().mistakes
    (tmp_path / "doc.tex").write_text(derivation.latex())
    subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                   cwd=tmp_path, capture_output=True, check=True, timeout=300)


def test_a_new_sympy_is_a_new_cache_key(monkeypatch):
    from derive import cache
    before = cache.fingerprint()
    real = cache.version
    monkeypatch.setattr(cache, "version", lambda name: "99.0" if name == "sympy" else real(name))
    cache.fingerprint.cache_clear()
    try:
        assert cache.fingerprint() != before
    finally:
        monkeypatch.undo()
        cache.fingerprint.cache_clear()
