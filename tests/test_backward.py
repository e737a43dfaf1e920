"""The generated backward pass: every gradient at once, each shared error once, on any network."""
import tracemalloc

import numpy as np
import pytest

from derive import Derivation
from derive.errors import InputError
from derive.model.network import Role
from derive.numeric.evaluate import evaluate_aligned
from derive.numeric.points import forward, sample, size_settings
from derive.spec import deep_tanh_network

from conftest import EXAMPLES, SPECS
from test_batch import TWO_LAYER_BATCH

FREE = (Role.INPUT, Role.PARAMETER, Role.TARGET, Role.CONSTANT)


def at_a_point(derivation, setting=1, seed=3):
    """Every quantity of the network at one of verification's size settings, and those sizes."""
    network = derivation.network
    sizes = size_settings(network)[setting]
    values = forward(network, sizes, sample(network, sizes, np.random.default_rng(seed)))
    return values, sizes


def index_form(derivation, name, values, sizes):
    gradient = derivation.gradient(name)
    return evaluate_aligned(gradient.result, values, lambda i: int((i.upper + 1).xreplace(sizes)), gradient.indices)


def free_arrays(derivation, values):
    return {t.name: values[t.name] for t in derivation.network.tensors.values() if t.role in FREE}


NETWORKS = {**{spec.stem: (lambda spec=spec: Derivation.from_spec(spec)) for spec in SPECS},
            "batch two-layer (#14)": lambda: Derivation.from_dict(TWO_LAYER_BATCH),
            "four hidden tanh layers": lambda: Derivation.from_dict(deep_tanh_network(4))}


@pytest.mark.parametrize("name", NETWORKS)
def test_every_gradient_of_the_pass_equals_its_verified_index_form(name):
    derivation = NETWORKS[name]()
    values, sizes = at_a_point(derivation)
    gradients = derivation.backward()(**free_arrays(derivation, values))
    assert set(gradients) == {t.name for t in derivation.network.tensors.values()
                              if t.role in (Role.PARAMETER, Role.INPUT)}
    for wrt, array in gradients.items():
        np.testing.assert_allclose(array, index_form(derivation, wrt, values, sizes), rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: dE/d{wrt}")


def test_a_shared_error_is_computed_once_and_read_by_every_gradient_that_needs_it():
    source = Derivation.from_dict(TWO_LAYER_BATCH).numpy_source()
    for error in ("dE_dz1", "dE_dz2"):
        assert source.count(f"    {error} = ") == 1
    assert "dE_dw1 = x.T @ dE_dz1" in source and "dE_db1 = dE_dz1.sum(axis=0)" in source
    assert "dE_dx = dE_dz1 @ w1.T" in source and "dE_dz2 = (o - t) / B" in source
    assert "np.diag" not in source  # a softmax over a batch never forms a B x B matrix


def test_the_source_needs_only_numpy_and_runs_in_a_namespace_of_its_own():
    source = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml").numpy_source(["w1", "w2"])
    assert "derive" not in source.split('"""', 2)[2].split("def backward")[0]  # imports: numpy alone
    namespace: dict = {}
    exec(compile(source, "pasted.py", "exec"), namespace)
    rng = np.random.default_rng(0)
    arrays = {"x": rng.normal(size=3), "w1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
              "w2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2), "t": np.array([0.0, 1.0])}
    assert set(namespace["backward"](**arrays)) == {"w1", "w2"}


def test_float32_in_gives_float32_out_and_the_same_numbers():
    derivation = Derivation.from_dict(TWO_LAYER_BATCH)
    values, _ = at_a_point(derivation)
    arrays = free_arrays(derivation, values)
    wide = derivation.backward()(**arrays)
    narrow = derivation.backward()(**{n: a.astype(np.float32) for n, a in arrays.items()})
    for name in wide:
        assert narrow[name].dtype == np.float32, name
        np.testing.assert_allclose(narrow[name], wide[name], rtol=1e-4, atol=1e-6)


def test_the_jacobian_layout_returns_matrices_transposed():
    derivation = Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml")
    values, _ = at_a_point(derivation)
    arrays = free_arrays(derivation, values)
    plain, jacobian = derivation.backward()(**arrays), derivation.backward(layout="numerator")(**arrays)
    np.testing.assert_array_equal(jacobian["w1"], plain["w1"].T)
    np.testing.assert_array_equal(jacobian["b1"], plain["b1"])


def test_soft_keywords_and_builtins_are_names_and_np_is_refused():
    from derive.errors import SpecError
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "match", "output": "type", "weight": "case", "bias": "print"}],
        "loss": {"type": "mse", "input": "type", "target": "t"}, "batch": {"size": "sum1", "reduction": "mean"}})
    values, sizes = at_a_point(derivation)
    gradients = derivation.backward()(**free_arrays(derivation, values))
    for wrt in ("case", "match", "print"):
        np.testing.assert_allclose(gradients[wrt], index_form(derivation, wrt, values, sizes), rtol=1e-10)
        np.testing.assert_allclose(derivation.numpy_function(wrt)(**values), gradients[wrt], rtol=1e-10)
    with pytest.raises(SpecError, match="'np' is not a valid name .*not a keyword, a function name or np"):
        Derivation.from_dict({"layers": [{"type": "affine", "input": "np", "output": "o", "weight": "w"}],
                              "loss": {"type": "mse", "input": "o", "target": "t"}})


def test_a_gradient_function_takes_the_array_it_reads_a_size_from():
    """Regression (review): a size read off x made x an argument the function did not have."""
    derivation = Derivation.from_dict({
        "layers": [{"type": "affine", "input": "x", "output": "z", "weight": "w"}],
        "loss": {"type": "custom", "define": "E = sum(j, z[j])"}, "batch": {"size": "B", "reduction": "mean"}})
    values, sizes = at_a_point(derivation)
    np.testing.assert_allclose(derivation.numpy_function("z")(**values), index_form(derivation, "z", values, sizes))


def test_a_missing_array_or_an_unknown_name_is_one_clear_error():
    derivation = Derivation.from_dict(TWO_LAYER_BATCH)
    with pytest.raises(InputError, match="missing: t"):
        derivation.backward()(x=np.ones((2, 2)), w1=np.ones((2, 2)), b1=np.ones(2), w2=np.ones((2, 2)), b2=np.ones(2))
    with pytest.raises(InputError, match="'q' is not a parameter, input or intermediate"):
        derivation.numpy_source(["q"])


def test_the_pass_allocates_no_more_than_a_hand_written_one():
    derivation = Derivation.from_dict(TWO_LAYER_BATCH)
    rng = np.random.default_rng(1)
    B, m, n, k = 512, 64, 128, 100
    arrays = {"x": rng.normal(size=(B, m)), "w1": rng.normal(size=(m, n)) * 0.1, "b1": np.zeros(n),
              "w2": rng.normal(size=(n, k)) * 0.1, "b2": np.zeros(k), "t": np.eye(k)[rng.integers(0, k, B)]}

    def by_hand(x, w1, b1, w2, b2, t):
        a1 = np.tanh(x @ w1 + b1)
        z2 = a1 @ w2 + b2
        o = np.exp(z2 - z2.max(axis=1, keepdims=True))
        o /= o.sum(axis=1, keepdims=True)
        delta2 = (o - t) / len(x)
        delta1 = (1 - a1 * a1) * (delta2 @ w2.T)
        return {"w1": x.T @ delta1, "x": delta1 @ w1.T, "b1": delta1.sum(axis=0), "w2": a1.T @ delta2,
                "b2": delta2.sum(axis=0)}

    generated = derivation.backward()
    peaks, results = [], []
    for function in (by_hand, generated):
        tracemalloc.start()
        results.append(function(**arrays))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    for name in results[0]:
        np.testing.assert_allclose(results[1][name], results[0][name], rtol=1e-10, atol=1e-14)
    assert peaks[1] < 1.5 * peaks[0]


def test_a_generated_pass_that_differs_from_the_index_form_is_never_handed_out(monkeypatch):
    import derive.api
    from derive.errors import VerificationError
    made = derive.api.backward_source
    monkeypatch.setattr(derive.api, "backward_source",
                        lambda *args: made(*args).replace("np.outer(a1, o - t)", "np.outer(a1, o + t)"))
    with pytest.raises(VerificationError, match="the generated backward pass gives dE/dw2 unlike its index form"):
        Derivation.from_spec(EXAMPLES / "two-layer-tanh.toml").numpy_source(["w2"])
