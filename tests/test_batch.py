"""Batches: a leading sample index, the loss summed or averaged, the batch in the matrix form."""
import json

import numpy as np
import pytest

from derive import Derivation, parse_expression
from derive.spec import deep_tanh_network
from derive.printing import matrix_latex, text

from conftest import EXAMPLES


@pytest.fixture(scope="module")
def batched():
    """``batched("mean")``: a batched two-layer network with that reduction, made once per reduction."""
    made = {}

    def get(reduction):
        if reduction not in made:
            made[reduction] = Derivation.from_dict({
                "batch": {"size": "B", "reduction": reduction},
                "layers": [{"type": "affine", "input": "y", "output": "z", "weight": "w", "bias": "b"},
                           {"type": "tanh", "input": "z", "output": "a"},
                           {"type": "affine", "input": "a", "output": "h", "weight": "v"},
                           {"type": "softmax", "input": "h", "output": "o"}],
                "loss": {"type": "cross_entropy", "input": "o", "target": "t", "targets": "one_hot"},
                "derive": {"wrt": ["h", "v", "w", "b", "y"]},
            })
        return made[reduction]
    return get


def test_mean_reduction_gives_the_batch_matrix_form(derivation_of):
    derivation = derivation_of("batch-mean")
    assert text(derivation.gradient("w").result) == "sum(s, y[s,i]*(o[s,j] - t[s,j]))/B"
    assert matrix_latex(derivation.matrix("w")) == r"\frac{1}{B} \mathbf{Y}^\top \left(\mathbf{O} - \mathbf{T}\right)"
    assert derivation.numpy_code("w") == "(y.T @ (o - t)) / y.shape[0]"


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_batched_hidden_layer_against_finite_differences(batched, matches_finite_differences, reduction):
    derivation = batched(reduction)
    derivation.verify()
    for gradient in derivation.gradients():
        assert matches_finite_differences(derivation.network, gradient)
    has_b = "/B" in text(derivation.gradient("v").result)
    assert has_b == (reduction == "mean")


def test_parameters_have_no_sample_index_and_per_sample_quantities_lead_with_it(batched):
    tensors = batched("mean").network.tensors
    assert [str(d) for d in tensors["w"].dims] == ["m", "n"]
    assert str(tensors["y"].dims[0]) == "B" and str(tensors["o"].dims[0]) == "B"
    assert "B" not in tensors


def test_json_result_of_a_batch_reads_back(cli, derivation_of, same_values):
    derivation = derivation_of("batch-mean")
    process = cli("gradient", EXAMPLES / "batch-mean.toml", "--wrt", "w", "--format", "json")
    assert process.returncode == 0, process.stderr
    data = json.loads(process.stdout)
    parsed = parse_expression(derivation.network, data["result"], tuple(data["indices"]))
    gradient = derivation.gradient("w")
    assert same_values(derivation.network, parsed, gradient.result, gradient.indices)


def test_documents_state_the_batch(derivation_of):
    markdown = derivation_of("batch-mean").markdown()
    assert "the mean over a batch of $B$ samples" in markdown


def test_batch_assumption_sums_over_the_class_index(derivation_of):
    derivation = derivation_of("batch-mean")
    assert derivation.assumptions() == ["targets are one-hot: sum(j, t[s,j]) = 1"]
    assert r"\sum_{j} t_{sj} = 1" in derivation.markdown()


@pytest.mark.parametrize("table, fragment", [('reduction = "median"', "field 'reduction'"),
                                             ('size = "B[0]"', "field 'size'"),
                                             ('rows = 3', "unknown field 'rows'")])
def test_bad_batch_table(cli, one_line_error, spec_file, good_spec, tmp_path, table, fragment):
    spec = spec_file(f"[batch]\n{table}\n" + good_spec)
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), "[batch]", fragment)



# the batch two-layer network of issue #14: x -> affine w1, b1 -> tanh -> affine w2, b2 -> softmax -> mean CE
TWO_LAYER_BATCH = deep_tanh_network(1, batch={"size": "B", "reduction": "mean"})


def test_gradients_without_a_matrix_form_run_at_training_sizes_without_multiplying_out():
    """Regression (#14): numpy_function("w1") of a batch two-layer network multiplied every factor
    out over all indices (a B x classes x hidden array: 31 GiB at real sizes) and needed B= by hand."""
    import tracemalloc
    derivation = Derivation.from_dict(TWO_LAYER_BATCH)
    B, m, n, k = 256, 32, 64, 50
    rng = np.random.default_rng(1)
    x, w1, w2 = rng.normal(size=(B, m)), rng.normal(size=(m, n)) * 0.1, rng.normal(size=(n, k)) * 0.1
    a1 = np.tanh(x @ w1)
    logits = a1 @ w2
    o = np.exp(logits - logits.max(axis=1, keepdims=True))
    o /= o.sum(axis=1, keepdims=True)
    t = np.eye(k)[rng.integers(0, k, B)]
    delta1 = (1 - a1 ** 2) * (((o - t) / B) @ w2.T)
    for name, expected in (("w1", x.T @ delta1), ("b1", delta1.sum(axis=0)), ("x", delta1 @ w1.T)):
        tracemalloc.start()
        got = derivation.numpy_function(name)(x=x, w1=w1, a1=a1, w2=w2, o=o, t=t)  # no B=: read off x
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert np.allclose(got, expected, rtol=1e-10, atol=1e-14)
        assert peak < 20 * x.nbytes  # the product over (s, i, j, l) alone would be B*m*n*k*8 = 26 MB


def test_float32_arrays_give_float32_gradients():
    """Regression (#14): every input was copied to float64, so float32 in gave float64 out."""
    derivation = Derivation.from_dict(TWO_LAYER_BATCH)
    rng = np.random.default_rng(2)
    B, m, n, k = 64, 8, 16, 10
    arrays64 = {"x": rng.normal(size=(B, m)), "w1": rng.normal(size=(m, n)), "w2": rng.normal(size=(n, k))}
    arrays64["a1"] = np.tanh(arrays64["x"] @ arrays64["w1"])
    logits = arrays64["a1"] @ arrays64["w2"]
    arrays64["o"] = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    arrays64["t"] = np.eye(k)[rng.integers(0, k, B)]
    arrays32 = {name: array.astype(np.float32) for name, array in arrays64.items()}
    for name in ("w1", "b1", "x", "w2", "b2", "z2"):  # without a matrix form, and with one
        gradient = derivation.numpy_function(name)
        got32, got64 = gradient(**arrays32), gradient(**arrays64)
        assert got32.dtype == np.float32 and got64.dtype == np.float64, name
        assert np.allclose(got32, got64, rtol=1e-3, atol=1e-5), name
