"""Bad specs: one line naming the file, the layer and the field; exit 2; nothing written."""
import pytest

from derive import Derivation, SpecError, load_spec
from derive.spec.equations import EquationError, parse_equation

from conftest import GOOD_LAYERS, GOOD_LOSS

CASES = {
    "unknown layer type": (GOOD_LAYERS.replace('"softmax"', '"softmaxx"') + GOOD_LOSS,
                           ["layer 2", "unknown layer type 'softmaxx'"]),
    "unknown loss type": (GOOD_LAYERS + GOOD_LOSS.replace("cross_entropy", "hinge"),
                          ["[loss]", "unknown loss type 'hinge'"]),
    "used before defined": (GOOD_LAYERS.replace('input = "z"', 'input = "q"') + '''
[[layers]]
type = "tanh"
input = "z"
output = "q"
''' + GOOD_LOSS, ["layer 2 (softmax)", "'q' is used before it is defined"]),
    "defined twice": (GOOD_LAYERS + '''
[[layers]]
type = "tanh"
input = "o"
output = "z"
''' + GOOD_LOSS, ["layer 3 (tanh)", "'z'"]),
    "mismatched ranks": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
define = "p[j] = o[j] * w[j]"
''' + GOOD_LOSS.replace('input = "o"', 'input = "p"'), ["layer 3 (custom)", "'w' has 1 indices here but 2"]),
    "mismatched declared ranges": (GOOD_LAYERS + GOOD_LOSS + '''
[dimensions]
x = ["d"]
w = ["e", "f"]
''', ["[dimensions].w", "mismatched index ranges", "'d'"]),
    "wrt not in network": (GOOD_LAYERS + GOOD_LOSS + '''
[derive]
wrt = ["w", "v"]
''', ["[derive].wrt", "'v'"]),
    "unsafe equation": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
define = "p[j] = __import__('os').getpid()"
''' + GOOD_LOSS, ["layer 3 (custom) field 'define'", "__import__"]),
    "attribute access": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
define = "p[j] = o.real[j]"
''' + GOOD_LOSS, ["layer 3 (custom) field 'define'", "attribute access", "column 8"]),
    "lambda": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
define = "p[j] = (lambda: o)()"
''' + GOOD_LOSS, ["layer 3 (custom) field 'define'"]),
    "unknown function": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
define = "p[j] = frobnicate(o[j])"
''' + GOOD_LOSS, ["layer 3 (custom) field 'define'", "unknown function 'frobnicate'"]),
    "malformed equation": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
define = "p[j] = o[j] +"
''' + GOOD_LOSS, ["layer 3 (custom) field 'define'", "syntax error", "p[j] = o[j] +"]),
    "loss not scalar": (GOOD_LAYERS + '''
[loss]
type = "custom"
define = "E[j] = -t[j]*log(o[j])"
target = "t"
''', ["[loss] (custom)", "must be a scalar"]),
    "toml syntax": (GOOD_LAYERS + "[loss\n", ["TOML syntax error"]),
    "missing field": (GOOD_LAYERS.replace('weight = "w"\n', "") + GOOD_LOSS,
                      ["layer 1 (affine)", "missing field 'weight'"]),
    "missing loss": (GOOD_LAYERS, ["missing table [loss]"]),
    "custom layer name with TeX": (GOOD_LAYERS + '''
[[layers]]
type = "custom"
name = "evil \\\\input{/etc/passwd}"
define = "p[j] = o[j]"
''' + GOOD_LOSS, ["layer 3 (custom) field 'name'"]),
    "invalid name": (GOOD_LAYERS.replace('output = "o"', 'output = "o[0]"') + GOOD_LOSS,
                     ["layer 2 (softmax) field 'output'", "not a valid name"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_spec_is_one_clear_line_and_nothing_is_written(cli, one_line_error, spec_file, tmp_path, case):
    text, fragments = CASES[case]
    spec = spec_file(text)
    out = tmp_path / "out"
    one_line_error(cli("build", spec, "--out", out), str(spec), *fragments)
    assert not out.exists()


def test_good_spec_builds(spec_file, good_spec):
    spec = spec_file(good_spec)
    assert load_spec(spec).differentiable() == ["w", "x", "z", "o"]


@pytest.mark.parametrize("text", ["p[j] = __import__('os').system('true')", "p[j] = o[j].conjugate()",
                                  "p[j] = [o][0]", "p[j] = o[j] if o[j] else 1", "p[j] = 'a'",
                                  "import os", "p[j] = o[j]; q = 1", "p[j] = o[k]", "p[j+1] = o[j]"])
def test_parser_rejects_everything_outside_the_syntax(text):
    with pytest.raises(EquationError):
        parse_equation(text)


def test_parser_error_points_at_the_problem():
    with pytest.raises(EquationError) as error:
        parse_equation("o[j] = exp(z[j]) / summ(k, exp(z[k]))")
    assert "unknown function 'summ'" in str(error.value) and "column 20" in str(error.value)


def test_spec_error_is_a_value_error():
    assert issubclass(SpecError, ValueError)


def test_unknown_top_level_field_names_the_file(cli, one_line_error, spec_file, good_spec, tmp_path):
    spec = spec_file("colour = 'red'\n" + good_spec)
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), str(spec), "unknown field 'colour'")


@pytest.mark.parametrize("extra, fragment", [
    ('constants = ["zz"]\n', "'zz' is not used"),
    ('title = "two\\nlines"\n', "field 'title'"),
    ('title = "\u03a9"\n', "field 'title'"),
])
def test_more_bad_top_level_fields(cli, one_line_error, spec_file, good_spec, tmp_path, extra, fragment):
    spec = spec_file(extra + good_spec)
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), fragment)


@pytest.mark.parametrize("layer, fragment", [
    ('type = "custom"\ndefine = "p[j] = p[j] + o[j]"', "used in its own definition"),
    ('type = "custom"\ndefine = "p[j] = 1e400*o[j]"', "not finite"),
    ('type = "custom"\ndefine = "p[j] = o[j]/0"', "divides by zero"),
    ('type = ["tanh"]', "field 'type': expected a string"),
    ('type = "tanh"\ninput = "in"\noutput = "p"', "field 'input'"),
    ('type = "custom"\ndefine = "p[j] = o[j]*t[j]"', "the target 't' can only be used by the loss"),
])
def test_more_bad_layers(cli, one_line_error, spec_file, tmp_path, layer, fragment):
    spec = spec_file(GOOD_LAYERS + "\n[[layers]]\n" + layer + "\n" + GOOD_LOSS.replace('input = "o"', 'input = "p"'))
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), fragment)


def test_wrt_listed_twice(cli, one_line_error, spec_file, good_spec, tmp_path):
    spec = spec_file(good_spec + '[derive]\nwrt = ["w", "w"]\n')
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), "listed twice")


LOSS_OF_O = '''
[loss]
type = "mse"
input = "o"
target = "t"
'''


def test_custom_first_layer_must_say_which_name_is_the_input(cli, one_line_error, spec_file, tmp_path):
    spec = spec_file('[[layers]]\ntype = "custom"\ndefine = "o[j] = sum(i, w[i,j]*x[i])"\n' + LOSS_OF_O)
    one_line_error(cli("build", spec, "--out", tmp_path / "out"), "layer 1", "'input'")
    spec = spec_file('[[layers]]\ntype = "custom"\ninput = "x"\ndefine = "o[j] = sum(i, w[i,j]*x[i])"\n' + LOSS_OF_O)
    network = Derivation.from_spec(spec).network
    assert network.tensors["x"].role == "input" and network.tensors["w"].role == "parameter"
