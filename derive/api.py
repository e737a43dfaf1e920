"""The Python API: a Derivation holds one network, its derived gradients, their checks and documents.

    >>> from derive import Derivation
    >>> d = Derivation.builtin()
    >>> print(d.text("w"), end="")
    dE/dw[i,j] = y[i]*(o[j] - t[j])

Settings such as the matrix layout are arguments of the methods that use them; a
Derivation never changes its network.
"""
from __future__ import annotations

import dataclasses

import json
from pathlib import Path
from typing import Callable

import numpy as np

from .engine import Engine, Gradient
from .errors import InputError, NotInNetwork, VerificationError
from .matrix import Node, in_layout, matrix_form
from .model.network import Layout, Network, Role, Targets, is_one_of
from .model.partials import tensor_names
from .numeric.claims import ChainCheck, ClaimCheck, check_chain, check_claim
from .numeric.points import points
from .numeric.verify import Report, check_matrices, check_steps, combined, prepare, verify
from .printing import latex, matrix_latex, numpy_code, text
from .printing.einsum import einsum_code
from .background import cores, in_background
from .render.source import argument_names, backward_source, compiled, gradient_source
from .render.claims import FORMATS as CHECK_FORMATS, as_json as claims_json, report as check_report
from .render.document import SECTIONS, Presentation, load_template, page, render, render_page
from .spec import example_network, load_spec, network_from_dict, network_from_text
from .spec.chains import is_latex, read_chain
from .spec.claims import read_claim
from .spec.latex import read_latex_claim


PROCESS_WORTH_BLOCKS = 12  # blocks take about 5 ms each to check; a process about 10 ms to start


class ShownGradient(Gradient):
    """A gradient that shows itself in a notebook: its boxed result as display math."""

    def _repr_latex_(self) -> str:
        return f"$$\\boxed{{{latex(self.block.lhs)} = {latex(self.result)}}}$$"

    def _repr_markdown_(self) -> str:
        return self._repr_latex_()


class Derivation:
    def __init__(self, network: Network):
        self.network = network
        self.engine = Engine(network)
        self._reports: dict[tuple[str, ...], Report] = {}

    @classmethod
    def builtin(cls, name: str | None = None) -> "Derivation":
        return cls(example_network(name) if name else example_network())

    @classmethod
    def from_spec(cls, path: str | Path) -> "Derivation":
        return cls(load_spec(path))

    @classmethod
    def from_dict(cls, data: dict) -> "Derivation":
        return cls(network_from_dict(data))

    @classmethod
    def from_text(cls, text: str, origin: str = "<spec>", slug: str = "network") -> "Derivation":
        """A spec given as TOML text; ``origin`` is what error messages call it."""
        return cls(network_from_text(text, origin, slug))

    @property
    def wrt(self) -> list[str]:
        """The gradients the spec asks for (all of them when it names none)."""
        return list(self.network.wrt) or self.network.differentiable()

    def gradient(self, name: str) -> Gradient:
        if name not in self.network.differentiable():
            raise NotInNetwork(f"'{name}' is not a parameter, input or intermediate of this network "
                               f"(these are: {', '.join(self.network.differentiable())})")
        found = self.engine.gradient_of(name)
        return ShownGradient(**{f.name: getattr(found, f.name) for f in dataclasses.fields(found)})

    def gradients(self, names: list[str] | None = None) -> list[Gradient]:
        return [self.gradient(name) for name in (names or self.wrt)]

    def _layout(self, layout: str | None) -> Layout:
        if layout is None:
            return self.network.layout
        if not is_one_of(layout, Layout):
            raise InputError(f"unknown layout '{layout}' (expected one of {', '.join(Layout)})")
        return Layout(layout)

    def matrix(self, name: str, layout: str | None = None) -> Node | None:
        """The gradient in matrix notation (None where the index form has no matrix form).

        ``layout``: "denominator" (default: the gradient has the shape of the variable, as in
        PyTorch and JAX) or "numerator" (the Jacobian layout: its transpose).
        """
        gradient = self.gradient(name)
        node = matrix_form(gradient.result, gradient.indices)
        return None if node is None else in_layout(node, self._layout(layout))

    def numpy_code(self, name: str, layout: str | None = None) -> str:
        """A NumPy expression (``np`` = numpy) for the whole gradient array: from the matrix form
        where there is one, else with np.einsum from the index form."""
        node = self.matrix(name, layout)
        if node is not None:
            return numpy_code(node, self._size_code(name))
        gradient = self.gradient(name)
        order = tuple(gradient.indices)
        if self._layout(layout) == Layout.NUMERATOR and len(order) == 2:
            order = order[::-1]
        return einsum_code(gradient.result, order, self._size_code(name))

    def _size_code(self, name: str) -> dict:
        """Each dimension as NumPy code that reads it off an array: B -> o.shape[0], preferring
        the arrays the gradient of ``name`` itself is computed from."""
        used = tensor_names(self.gradient(name).result)
        tensors = sorted(self.network.tensors.values(), key=lambda t: t.name not in used)
        code: dict = {}
        for tensor in tensors:
            for axis, dim in enumerate(tensor.dims):
                code.setdefault(dim, f"{tensor.name}.shape[{axis}]")
        return code

    def numpy_function(self, name: str, layout: str | None = None) -> Callable[..., np.ndarray]:
        """A function of NumPy arrays, named as in the spec, that returns the gradient array: the
        code ``numpy_code`` prints, compiled."""
        gradient = self.gradient(name)
        code = self.numpy_code(name, layout)
        size_readers = {reading.split(".shape")[0] for reading in self._size_code(name).values() if reading in code}
        needed = sorted(tensor_names(gradient.result) | size_readers)  # B read off x: x is needed too
        source = gradient_source(name, needed, code)
        function = compiled(source, "gradient", f"<derive: the gradient by {name}>")

        return _of_named_arrays(function, needed, f"the gradient by '{name}'")

    def numpy_source(self, names: list[str] | None = None, layout: str | None = None) -> str:
        """Python source of a function ``backward(<inputs, parameters, targets>)`` that runs the
        forward pass and returns {name: gradient} for ``names`` (default: every parameter and
        input), each shared error computed once.  Needs only NumPy; paste it where you like."""
        return self._checked_backward(names, layout)[0]

    def backward(self, names: list[str] | None = None, layout: str | None = None) -> Callable[..., dict]:
        """The function ``numpy_source`` prints, compiled: keyword arguments named as in the spec."""
        return _of_named_arrays(self._checked_backward(names, layout)[1], argument_names(self.network),
                                "the backward pass")

    def _checked_backward(self, names: list[str] | None, layout: str | None):
        """(source, compiled function) of the backward pass, after the function has been run at
        verification's sample points and each gradient compared with its verified index form; a
        VerificationError names the first that differs."""
        names = self.backward_names(names)
        source = backward_source(self.network, names, self._layout(layout))
        function = compiled(source, "backward", f"<derive: backward pass of {self.network.slug}>")
        arguments = argument_names(self.network)
        transposed = self._layout(layout) == Layout.NUMERATOR
        with np.errstate(all="ignore"):
            for point in points(self.network):
                got = function(*(point.values[name] for name in arguments))
                for name in names:
                    gradient = self.gradient(name)
                    expected = point.evaluate(gradient.result, tuple(gradient.indices))
                    expected = expected.T if transposed and expected.ndim == 2 else expected
                    if np.shape(got[name]) != np.shape(expected) or \
                            not np.allclose(got[name], expected, rtol=1e-9, atol=1e-12):
                        sizes = ", ".join(f"{d} = {v}" for d, v in point.sizes.items())
                        raise VerificationError(f"the generated backward pass gives d{self.network.loss.output}/d{name}"
                                                f" unlike its index form (sizes {sizes})")
        return source, function

    def backward_names(self, names: list[str] | None = None) -> list[str]:
        """The gradients a backward pass returns: ``names``, or every parameter and input."""
        if names is None:
            return [t.name for t in self.network.tensors.values() if t.role in (Role.PARAMETER, Role.INPUT)]
        for name in names:
            self.gradient(name)  # an unknown name is refused here, with the names there are
        return list(names)

    def check(self, claim: str) -> ClaimCheck:
        """Check a claim about a derivative, in the spec syntax (``dE/dw[i,j] = y[i]*(o[j] - t[j])``)
        or in LaTeX (``\\frac{\\partial E}{\\partial w_{ij}} = y_i (o_j - t_j)``): the verdict and,
        for a wrong claim, a counterexample, the difference and the mistake it comes from."""
        read = read_latex_claim if is_latex(claim) else read_claim
        return check_claim(self.engine, read(self.network, claim))

    def check_derivation(self, text: str, origin: str = "<steps>") -> ChainCheck:
        """Check a derivation written one step a line (plain text, or Markdown/LaTeX math blocks;
        see derive.spec.chains): every line against the true derivative and the line before."""
        return check_chain(self.engine, read_chain(self.network, text, origin))

    def check_report(self, checked: ChainCheck | ClaimCheck, fmt: str = "text") -> str:
        """A report of ``check`` or ``check_derivation``: "text", "markdown" or "json"."""
        if isinstance(checked, ClaimCheck):
            checked = ChainCheck.of_claims([checked])
        if fmt == "json":
            return json.dumps(claims_json(checked, self.network), indent=2) + "\n"
        if fmt not in CHECK_FORMATS:
            raise InputError(f"unknown report format '{fmt}' (expected json, {', '.join(CHECK_FORMATS)})")
        return check_report(fmt, checked, self.network)

    def verify(self, names: list[str] | None = None, documents: bool = True) -> Report:
        """Check every step numerically; raises VerificationError on the first disagreement.
        ``documents=False``: only the derivation itself, not what only documents show (the
        tempting mistakes, the worked example), for a gradient wanted on its own."""
        key = tuple(names or self.wrt)
        if key in self._reports:
            return self._reports[key]
        if not documents and (key, False) in self._reports:
            return self._reports[key, False]
        self.gradients(list(key))
        report = verify(self.engine, list(key), shown=documents)
        self._reports[key if documents else (key, False)] = report
        return report

    def latex(self, names: list[str] | None = None, layout: str | None = None) -> str:
        """The derivation as a LaTeX article (compiles with pdflatex)."""
        return self.render("latex", names, layout)

    def markdown(self, names: list[str] | None = None, layout: str | None = None) -> str:
        """The derivation as Markdown with $...$ and $$...$$ math (GitHub, MkDocs, KaTeX)."""
        return self.render("markdown", names, layout)

    def render(self, fmt: str, names: list[str] | None = None, layout: str | None = None,
               presentation: Presentation = Presentation()) -> str:
        """The derivation in ``fmt`` ("latex", "markdown" or "rst"), shown as ``presentation``
        says (which sections, standalone or part of a page; see ``presentation()``)."""
        names = list(names or self.wrt)
        self.gradients(names)
        return render(fmt, self.engine, names, self.verify(names), self._layout(layout), presentation)

    def documents(self, formats: list[str], names: list[str] | None = None, layout: str | None = None,
                  presentation: Presentation = Presentation()) -> dict[str, str]:
        """The derivation in each of ``formats``, as ``render`` gives it.  A big derivation's
        steps are checked in a child process while the page is made and the matrix forms are
        checked here: two cores, one wait."""
        names = list(names or self.wrt)
        self.gradients(names)
        key = tuple(names)
        if key in self._reports:
            unchecked = page(self.engine, names, self._layout(layout), presentation)
        else:
            prepare(self.engine, names)
            steps = in_background(lambda: check_steps(self.engine, names), worth_it=self._worth_a_process(names))
            try:
                unchecked = page(self.engine, names, self._layout(layout), presentation)
                for fmt in formats:
                    load_template(fmt)
                matrices = check_matrices(self.engine, names)
            except Exception:
                steps.abandon()  # a failed step in the child is reported first, as when done in turn
                raise
            self._reports[key] = combined(names, steps.result(), matrices)
        return {fmt: render_page(fmt, unchecked, self._reports[key]) for fmt in formats}

    def _worth_a_process(self, names: list[str]) -> bool:
        """A second core, and enough blocks that checking them takes longer than starting a process."""
        return cores() > 1 and len(self.engine.blocks_for(names)) >= PROCESS_WORTH_BLOCKS

    @staticmethod
    def presentation(show: list[str] | None = None, **settings) -> Presentation:
        """A Presentation showing the sections ``show`` (any of network, steps, results, matrix;
        default: all), in document order; ``settings`` as Presentation's other fields."""
        wanted = list(show or SECTIONS)
        unknown = [name for name in wanted if name not in SECTIONS]
        if unknown:
            raise InputError(f"unknown section '{unknown[0]}' to show (expected some of {', '.join(SECTIONS)})")
        return Presentation(show=tuple(s for s in SECTIONS if s in wanted), **settings)

    def _repr_markdown_(self) -> str:
        """In a notebook, the derivation shows itself as part of the cell's output."""
        return self.render("markdown", presentation=Presentation(standalone=False))

    def _repr_latex_(self) -> str:
        """The body of the LaTeX document (nbconvert puts it into its own article)."""
        return self.render("latex", presentation=Presentation(standalone=False))

    def text(self, name: str) -> str:
        gradient = self.gradient(name)
        indices = ",".join(i.name for i in gradient.indices)
        loss = self.network.loss.output
        lhs = f"d{loss}/d{name}[{indices}]" if indices else f"d{loss}/d{name}"
        return f"{lhs} = {text(gradient.result)}\n"

    def as_json(self, name: str, layout: str | None = None) -> dict:
        gradient = self.gradient(name)
        report = self.verify([name], documents=False)
        node = self.matrix(name, layout)
        return {
            "wrt": name,
            "indices": [i.name for i in gradient.indices],
            "result": text(gradient.result),
            "latex": latex(gradient.result),
            # as documents show it: an error the result would repeat is called by its name, defined in "where"
            "named": text(gradient.named),
            "where": [*({"name": text(error.block.lhs), "wrt": error.wrt, "indices": [i.name for i in error.indices],
                         "result": text(error.named)} for error in gradient.definitions),
                      *({"name": text(a.name), "result": text(a.value)} for a in gradient.abbreviations)],
            "layout": str(self._layout(layout)),
            "shape": [str(d) for d in self.network.gradient_shape(name, self._layout(layout))],
            "matrix": None if node is None else matrix_latex(node),
            "numpy": self.numpy_code(name, layout),
            "assumptions": self.assumptions(),
            "steps": [{"equation": text(block.lhs), "rule": step.rule, "expression": text(step.expr)}
                      for block in gradient.blocks for step in block.steps],
            "verified": {"lines": report.steps_checked, "values": report.values_compared,
                         "tolerance": report.tolerance},
        }

    def assumptions(self) -> list[str]:
        network = self.network
        if network.target is None:
            return []
        total = f"sum({network.class_index()}, {network.target}[{','.join(network.target_indices())}])"
        if network.targets == Targets.ONE_HOT:
            return [f"targets are one-hot: {total} = 1"]
        if network.targets == Targets.DISTRIBUTION:
            return [f"targets are a probability distribution: {total} = 1"]
        return [f"targets are not assumed to sum to one: {total} is kept"]


def _of_named_arrays(function, names: list[str], what: str):
    """``function`` of positional arrays, called with them as keyword arguments named as in the
    spec; a missing one is an InputError that lists them all."""
    def from_arrays(**arrays):
        missing = [n for n in names if n not in arrays]
        if missing:
            raise InputError(f"{what} needs the arrays {', '.join(names)}; missing: {', '.join(missing)}")
        return function(*(arrays[n] for n in names))
    return from_arrays
