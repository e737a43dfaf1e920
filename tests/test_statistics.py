"""Scalar intermediates as layers of their own (a mean, a variance), the way a person writes a
layer norm in short equations; a size named in [dimensions] is that size inside an equation."""
import numpy as np
import pytest

from derive import Derivation
from derive.numeric.points import points
from derive.printing import text

LAYER_NORM = {
    "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w", "bias": "b"},
               {"type": "custom", "name": "mean", "define": "mu = sum(k, z[k])/n"},
               {"type": "custom", "name": "variance", "define": "v = sum(k, (z[k] - mu)**2)/n"},
               {"type": "custom", "name": "normalise", "define": "h[j] = (z[j] - mu)/sqrt(v + eps)"}],
    "loss": {"type": "mse", "input": "h", "target": "t"},
    "dimensions": {"z": ["n"]}}


def test_a_layer_norm_in_short_equations_is_derived_and_verified():
    """Regression: the n of the mean was taken for a constant with a random value, so counting
    the terms of sum(k, 1) = n disagreed with it (verification failed on dv/dmu)."""
    derivation = Derivation.from_dict(LAYER_NORM)
    report = derivation.verify(["z", "w", "x"])
    assert report.gradients_checked == ("z", "w", "x")
    assert derivation.network.tensors.get("n") is None  # a size, not a quantity


def test_the_mean_is_named_back_in_a_sum():
    """sum_k z_k = n mu: the term 2 mu n - 2 sum_k z_k of dv/dmu is 0 and leaves the result."""
    derivation = Derivation.from_dict(LAYER_NORM)
    dv_dmu = next(b for b in derivation.engine.blocks_for(["z"]) if text(b.lhs) == "partial(v, mu)")
    assert text(dv_dmu.result) == "0"
    result = text(derivation.gradient("z").result)
    assert "2*mu*n" not in result and "sum(k, z[k])" not in result


def test_the_gradient_matches_the_layer_norm_backward_pass_by_hand():
    derivation = Derivation.from_dict(LAYER_NORM)
    point = points(derivation.network)[1]
    g = point.values["h"] - point.values["t"]
    h, v, eps = point.values["h"], point.values["v"], point.values["eps"]
    by_hand = (g - g.mean() - h * (g * h).mean()) / np.sqrt(v + eps)  # the usual layer-norm backward
    assert np.allclose(point.evaluate(derivation.gradient("z").result, derivation.gradient("z").indices), by_hand)


def test_a_size_that_is_also_a_quantity_is_refused():
    spec = {**LAYER_NORM, "dimensions": {"z": ["n"], "h": ["n"]},
            "layers": LAYER_NORM["layers"][:1] + [{"type": "custom", "name": "scale", "define": "h[j] = n[j]*z[j]"}]}
    with pytest.raises(Exception, match="the index range 'n' is also a quantity"):
        Derivation.from_dict(spec)


def test_the_layer_norm_gradient_reads_as_a_person_writes_it():
    """(1/sigma)(g_j - mean(g) - h_j mean(g h)) with g = h - t: the 2 of the variance cancels
    (common_number), (z_j - mu)/(eps + v) is named h_j/sqrt(eps + v) after write-out, the error
    h_j - t_j that appears three times is called dE/dh_j, and 1/sqrt(eps + v) is taken out."""
    gradient = Derivation.from_dict(LAYER_NORM).gradient("z")
    assert text(gradient.named) == ("(partial(E, h[j]) - h[j]*sum(k, h[k]*partial(E, h[k]))/n"
                                    " - sum(k, partial(E, h[k]))/n)/sqrt(eps + v)")
    assert [(error.wrt, text(error.named)) for error in gradient.definitions] == [("h", "h[j] - t[j]")]
    assert text(gradient.result) == ("(h[j] - t[j] - h[j]*sum(k, h[k]*(h[k] - t[k]))/n"
                                     " - sum(k, h[k] - t[k])/n)/sqrt(eps + v)")


def test_a_custom_layer_of_several_equations_is_one_layer_with_named_parts(one_line_error, cli, tmp_path):
    """define = [...]: the parts are derived as layers of their own and shown under the layer's name."""
    one_layer = {**LAYER_NORM, "layers": [LAYER_NORM["layers"][0],
                                          {"type": "custom", "name": "layer norm",
                                           "define": [layer["define"] for layer in LAYER_NORM["layers"][1:]]}]}
    parts, separate = Derivation.from_dict(one_layer), Derivation.from_dict(LAYER_NORM)
    assert text(parts.gradient("z").result) == text(separate.gradient("z").result)
    assert [layer.kind for layer in parts.network.layers[1:]] == ["layer norm"] * 3
    assert parts.markdown().count(r"\text{(layer norm)}") == 3
    spec = tmp_path / "ln.toml"
    spec.write_text('[[layers]]\ntype = "custom"\nname = "layer norm"\ninput = "z"\n'
                    'define = ["mu = sum(k, z[k])/n", "h[j] = z[j] - mu +"]\n'
                    '[loss]\ntype = "mse"\ninput = "h"\ntarget = "t"\n[dimensions]\nz = ["n"]\n')
    one_line_error(cli("build", spec, "--out", tmp_path / "out"),
                   "layer 1 (layer norm) field 'define (equation 2)': syntax error")
