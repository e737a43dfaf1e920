r"""The LaTeX people write derivatives in, read into the spec syntax by derive's own parser.

``\frac{\partial E}{\partial w_{ij}} = -t_j (1-o_j) o_i`` becomes the claim
``dE/dw[i,j] = -t[j]*(1-o[j])*o[i]``.  The subset: ``\frac``, partial derivatives written
``\frac{\partial U}{\partial X}`` (or with ``\delta`` or ``d``), ``\sum_k`` (its limits ignored;
it sums the product that follows), ``\delta_{jk}``, ``e^{...}``, ``\exp``, ``\log``, ``\ln``,
``\tanh``, ``\sqrt``, ``\cdot``, ``\times``, ``\div``, ``[x > 0]`` (a step), implicit
multiplication, ``^`` powers, subscripts ``_{ij}`` / ``_{i,j}`` (one letter an index),
``x^{(1)}`` for the quantity x1, brackets, and the spacing commands.  Nothing is evaluated:
the translation is text, which the spec reader then checks like any other.  A subscript is
split into indices by the quantity's rank, so the network is needed to read one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..model.network import Network
from ..model.primitives import PRIMITIVES
from .claims import Claim, ClaimError, claim_from

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z]+[0-9]*|[0-9]+(?:\.[0-9]+)?|\S")
_SPACING = {r"\,", r"\;", r"\:", r"\!", r"\ ", r"\quad", r"\qquad", "&", r"\left.", r"\right.", r"\displaystyle",
            r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\limits"}
_OPEN = {"(": ")", "[": "]", r"\{": r"\}", r"\lbrack": r"\rbrack", r"\langle": r"\rangle"}
_TIMES = {"*", r"\cdot", r"\times", r"\ast"}
_ALIASES = {"varepsilon": "eps", "epsilon": "eps"}
_STARTS = {r"\frac", r"\dfrac", r"\tfrac", r"\sum", r"\delta", r"\exp", r"\log", r"\ln", r"\tanh", r"\sqrt",
           r"\mathrm", r"\operatorname", r"\boxed", r"\partial", r"\sigma"}  # commands a factor can start with
_FUNCTIONS = {p.name: p.name for p in PRIMITIVES} | {"ln": "log", "sigma": "sigmoid"}  # sigma, unless a quantity
_GREEK = {"alpha", "beta", "gamma", "epsilon", "varepsilon", "eta", "theta", "lambda", "mu", "nu", "rho", "sigma",
          "tau", "phi", "psi", "omega", "Omega", "Sigma", "ell"}


@dataclass(frozen=True)
class _Token:
    text: str
    column: int


@dataclass(frozen=True)
class _Piece:
    """Spec-syntax text of a parsed part; a partial derivative keeps its two sides."""

    text: str
    partial: tuple | None = None  # ((name, indices), (name, indices))


def read_latex_claim(network: Network, text: str) -> Claim:
    """A claim in LaTeX (``\\frac{\\partial E}{\\partial w_{ij}} = ...``), read by the spec reader."""
    left, right = _Reader(network, text).relation()
    return claim_from(network, text, *left.partial, right, None)


def read_latex_sides(network: Network, text: str) -> tuple[_Piece | None, list[str]]:
    """A line of a derivation in LaTeX: its derivative (None when the line starts with '=')
    and the spec-syntax text of each expression after an '='."""
    return _Reader(network, text).line()


_TAG = re.compile(r"\\tag\*?\{[^{}]*\}|\\(?:label|notag|nonumber)(?:\{[^{}]*\})?|\\q?quad\s*\(\s*[0-9.]+\s*\)\s*$")


class _Reader:
    def __init__(self, network: Network, text: str):
        self.network, self.text = network, text
        # an equation's number (\tag{2}, or "\qquad (2)" at the end) is not part of it
        kept = _TAG.sub(lambda m: " " * len(m.group()), text)
        self.tokens = [_Token(m.group(), m.start()) for m in _TOKEN.finditer(kept)
                       if m.group() not in _SPACING]
        while self.tokens and self.tokens[-1].text in (".", ",", ";"):  # the full stop after displayed math
            self.tokens.pop()
        self.at = 0

    # --- the statement -----------------------------------------------------------------------
    def relation(self) -> tuple[_Piece, str]:
        first, rest = self.line()
        if first is None:
            self.fail("a claim is one equation: a derivative = an expression", 0)
        if len(rest) != 1:
            self.fail(_ONE_EQUALS, 0)
        return first, rest[0]

    def line(self) -> tuple[_Piece | None, list[str]]:
        first = None
        if not self.peek("="):
            first = self.expression()
            if first.partial is None:
                self.fail("the left-hand side must be a derivative such as \\frac{\\partial E}{\\partial w_{ij}}", 0)
        sides = []
        while self.peek("="):
            self.take()
            sides.append(self.expression().text)
        if self.at < len(self.tokens):
            self.fail(f"unexpected '{self.tokens[self.at].text}'")
        if not sides:
            self.fail("expected '=' and an expression")
        return first, sides

    # --- expressions ---------------------------------------------------------------------------
    def expression(self) -> _Piece:
        terms = []
        sign = ""
        if self.peek("+", "-"):
            sign = self.take().text
        first = self.term()
        terms.append(f"{sign}{first.text}")
        while self.peek("+", "-"):
            op = self.take().text
            terms.append(f" {op} {self.term().text}")
        if len(terms) == 1 and not sign:
            return first
        return _Piece(f"({''.join(terms)})")

    def term(self) -> _Piece:
        factors = [self.factor()]
        text = factors[0].text
        while True:
            if self.peek(*_TIMES):
                self.take()
                right = self.factor()
                text, factors = f"{text}*{right.text}", factors + [right]
            elif self.peek("/", r"\div"):
                self.take()
                right = self.factor()
                text, factors = f"{text}/{right.text}", factors + [right]
            elif self.starts_factor():
                right = self.factor()
                text, factors = f"{text}*{right.text}", factors + [right]
            else:
                break
        return factors[0] if len(factors) == 1 else _Piece(f"({text})")

    def starts_factor(self) -> bool:
        token = self.current()
        if token is None:
            return False
        t = token.text
        return t in _OPEN or t == "{" or t.startswith("\\left") or t[0].isalnum() or t in _STARTS or \
            t[1:] in _GREEK or t[1:] in self.network.tensors

    def factor(self) -> _Piece:
        base = self.primary()
        if self.peek("^"):
            self.take()
            exponent = self.group_or_token()
            return _Piece(f"({base.text})**({exponent.text})")
        return base

    def primary(self) -> _Piece:
        token = self.current()
        if token is None:
            self.fail("the expression ends too early", len(self.text))
        t = token.text
        if t in _OPEN or t.startswith("\\left"):
            return self.bracketed()
        if t == "{":
            return self.group()
        if t in (r"\frac", r"\dfrac", r"\tfrac"):
            return self.fraction()
        if t == r"\sum":
            return self.sum()
        if t == r"\delta" and self.peek("_", offset=1):
            return self.kronecker()
        if t == r"\boxed":
            self.take()
            return self.group()
        tensors = self.network.tensors
        if (t == r"\partial" or (t.startswith("d") and t[1:] in tensors and t not in tensors)) \
                and (partial := self.inline_partial()) is not None:
            return partial
        if t in (r"\exp", r"\log", r"\ln", r"\tanh", r"\sqrt", r"\operatorname", r"\mathrm") or \
                (t == r"\sigma" and "sigma" not in self.network.tensors):
            return self.function()
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
            self.take()
            return _Piece(t)
        if t == "e" and self.peek("^", offset=1) and "e" not in self.network.tensors:
            self.take()
            self.take()
            return _Piece(f"exp({self.group_or_token().text})")
        if self.mathrm_name():
            return self.word()
        if t[0].isalpha() or t[1:] in _GREEK or t[1:] in self.network.tensors:  # \kappa for kappa
            return self.word()
        self.fail(f"'{t}' is not part of the LaTeX derive reads")

    def bracketed(self) -> _Piece:
        token = self.take()
        opening = token.text
        if opening.startswith("\\left"):
            opening = opening[len("\\left"):] or self.take().text
        closing = _OPEN.get(opening)
        if closing is None:
            self.fail(f"'{opening}' does not open a bracket", token.column)
        inner = self.expression()
        if opening in ("[", r"\lbrack") and self.peek(">") and self.peek("0", offset=1):  # [x > 0]: a step
            self.at += 2
            inner = _Piece(f"heaviside({inner.text})")
        end = self.current()
        if end is not None and end.text.startswith("\\right"):
            self.take()
            end_text = end.text[len("\\right"):] or self.take().text
        elif end is not None:
            end_text = self.take().text
        else:
            self.fail(f"'{opening}' is never closed", token.column)
        if end_text != closing:
            self.fail(f"'{opening}' is closed by '{end_text}'", end.column)
        return _Piece(f"({inner.text})", inner.partial)

    def group(self) -> _Piece:
        start = self.expect("{")
        if self.peek("}"):
            self.fail("an empty group {}", start.column)
        inner = self.expression()
        self.expect("}")
        return inner

    def group_or_token(self) -> _Piece:
        if self.peek("{"):
            return self.group()
        token = self.take()
        if token is None:
            self.fail("the expression ends too early", len(self.text))
        if re.fullmatch(r"[0-9]", token.text[0]):
            return _Piece(token.text[0]) if len(token.text) == 1 else self.fail_at(token, "write ^{...} around it")
        self.at -= 1
        return self.word(single=True)

    def fraction(self) -> _Piece:
        self.take()
        if (partial := self.partial_fraction()) is not None:
            return partial
        numerator = self.fraction_argument()
        denominator = self.fraction_argument()
        return _Piece(f"({numerator.text})/({denominator.text})")

    def fraction_argument(self) -> _Piece:
        """A group, or one token as TeX takes it: \\frac12 is 1/2, \\frac1{o_j} is 1/o_j."""
        if self.peek("{"):
            return self.group()
        token = self.current()
        if token is not None and token.text[0].isdigit() and len(token.text) > 1 and token.text.isdigit():
            self.tokens[self.at:self.at + 1] = [_Token(token.text[0], token.column),
                                                _Token(token.text[1:], token.column + 1)]
        return self.primary()

    def partial_fraction(self) -> _Piece | None:
        r"""\frac{\partial U}{\partial X}, read as partial(U, X); None (nothing taken) otherwise."""
        start, tokens = self.at, list(self.tokens)
        sides = []
        for _ in range(2):
            if not self.peek("{"):
                break
            self.take()
            if not self.derivative_mark():
                break
            if self.peek("}") and not sides:  # \frac{\partial}{\partial X} (expression): an operator
                self.take()
                operator = self.derivative_operator()
                if operator is not None:
                    return operator
                break
            sides.append(self.quantity())
            self.expect("}")
        if len(sides) != 2:
            self.at, self.tokens = start, tokens
            return None
        return _partial(*sides)

    def derivative_operator(self) -> _Piece | None:
        r"""After \frac{\partial}: {\partial X} and what it acts on, read as partial(expression, X)."""
        if not self.peek("{"):
            return None
        self.take()
        if not self.derivative_mark():
            return None
        bottom = self.quantity()
        self.expect("}")
        operand = self.factor()
        return _Piece(f"partial({operand.text}, {_indexed(*bottom)})")

    def derivative_mark(self) -> bool:
        """Take the d of a derivative: \\partial, \\delta, d, \\mathrm{d}, or the d of a word dE."""
        mark = self.current()
        if mark is None:
            return False
        if mark.text in (r"\partial", r"\delta", "d") and not self.peek("_", offset=1):  # \delta_{jk} is Kronecker's
            self.take()
            if self.peek("^"):
                self.fail("derive checks first derivatives only")
            return True
        if mark.text == r"\mathrm" and self.peek("{", offset=1) and self.peek("d", offset=2) \
                and self.peek("}", offset=3):
            self.at += 4
            return True
        if mark.text.startswith("d") and mark.text[1:] in self.network.tensors:  # dE as one word
            self.tokens[self.at] = _Token(mark.text[1:], mark.column + 1)
            return True
        return False

    def inline_partial(self) -> _Piece | None:
        r"""\partial E / \partial w_{ij}, or dE/dw_{ij}: a derivative written on one line."""
        start, tokens = self.at, list(self.tokens)
        if self.derivative_mark():
            top = self.quantity()
            if self.peek("/"):
                self.take()
                if self.derivative_mark():
                    return _partial(top, self.quantity())
        self.at, self.tokens = start, tokens
        return None

    def quantity(self) -> tuple[str, tuple[str, ...]]:
        token = self.current()
        piece = self.word(single=True)
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)(?:\[([^\]]*)\])?", piece.text)
        if match is None:
            self.fail_at(token, "a derivative is taken of and by a quantity of the network, such as o_j or w_{ij}")
        return match.group(1), tuple(match.group(2).split(",")) if match.group(2) else ()

    def sum(self) -> _Piece:
        token = self.take()
        if not self.peek("_"):
            self.fail("write the index a sum runs over: \\sum_k", token.column)
        self.take()
        letters = self.subscript_letters(allow_limits=True)
        if len(letters) != 1:
            self.fail("a sum runs over one index: \\sum_k", token.column)
        if self.peek("^"):  # the upper limit: the index's range is the network's
            self.take()
            self.group_or_token()
        body = self.term()
        return _Piece(f"sum({letters[0]}, {body.text})")

    def kronecker(self) -> _Piece:
        token = self.take()
        self.take()  # _
        letters = self.subscript_letters()
        if len(letters) != 2:
            self.fail("a Kronecker delta has two indices: \\delta_{jk}", token.column)
        return _Piece(f"delta({letters[0]}, {letters[1]})")

    def function(self) -> _Piece:
        token = self.take()
        name = token.text[1:]
        if name in ("operatorname", "mathrm"):
            self.expect("{")
            name = self.take().text
            self.expect("}")
        name = _FUNCTIONS.get(name)
        if name is None:
            self.fail("unknown function (derive reads " + ", ".join(sorted(_FUNCTIONS)) + ")", token.column)
        if name == "sqrt":
            return _Piece(f"sqrt({self.group().text})")
        power = None
        if self.peek("^"):  # \tanh^2(x) = (\tanh x)^2
            self.take()
            power = self.group_or_token().text
        if self.peek(r"\sum"):
            argument = self.sum().text
        elif self.peek(*_OPEN) or self.peek(r"\left"):  # \tanh(x)^2 = (\tanh x)^2, as TeX readers take it
            argument = self.primary().text
        else:
            argument = self.factor().text  # \log x^2 = log(x^2)
        applied = f"{name}({argument})"
        return _Piece(applied if power is None else f"({applied})**({power})")

    def mathrm_name(self) -> bool:
        """\\mathrm{logits}, a quantity's name as derive's documents print it: read as the word."""
        if self.peek(r"\mathrm") and self.peek("{", offset=1) and self.peek("}", offset=3) and \
                self.tokens[self.at + 2].text in self.network.tensors:
            name = self.tokens[self.at + 2]
            self.tokens[self.at:self.at + 4] = [_Token(name.text, name.column)]
            return True
        return False

    def word(self, single: bool = False) -> _Piece:
        """A quantity (o_j, w_{ij}, x^{(1)}), a function written as a word (log o_j), or letters
        multiplied (ab = a*b)."""
        self.mathrm_name()
        token = self.take()
        word = token.text[1:] if token.text.startswith("\\") else token.text
        tensors = self.network.tensors
        if word in _FUNCTIONS and word not in tensors and not single:
            self.at -= 1
            self.tokens[self.at] = _Token("\\" + word, token.column)
            return self.function()
        if word not in tensors and not token.text.startswith("\\") and len(word) > 1 and not single:
            # letters written next to each other are a product: read them one at a time
            self.tokens[self.at - 1:self.at] = [_Token(ch, token.column + n) for n, ch in enumerate(word)]
            self.at -= 1
            return self.term_of_letters(len(word))
        if word not in tensors and _ALIASES.get(word) in tensors:  # \varepsilon for eps, as documents print it
            word = _ALIASES[word]
        word = self.layer_superscript(word) or word  # x^{(1)}_j
        letters: list[str] = []
        if self.peek("_"):
            self.take()
            letters = self.subscript_letters()
        elif self.peek("[") and word in tensors and tensors[word].dims:  # o[j], as the spec syntax writes it
            letters = self.bracket_subscript()
        word = self.layer_superscript(word) or word  # x_j^{(1)}
        if word not in tensors and not any(str(d) == word for d in self.network.dimensions):
            near = [name for name in tensors if name.lower() == word.lower()]
            hint = f"; did you mean '{near[0]}'?" if near else f" (its quantities: {', '.join(tensors)})"
            self.fail_at(token, f"'{word}' is not a quantity of this network{hint}")
        indices = self.split_indices(word, letters, token)
        return _Piece(_indexed(word, indices))

    def term_of_letters(self, count: int) -> _Piece:
        parts = [self.factor() for _ in range(count)]
        return _Piece("(" + "*".join(p.text for p in parts) + ")")

    def layer_superscript(self, word: str) -> str | None:
        """x^{(1)} (as derive's documents print it) or x^{[1]} is the quantity x1."""
        texts = [t.text for t in self.tokens[self.at:self.at + 6]]
        if texts[:2] == ["^", "{"] and texts[2:3] in (["("], ["["]) and texts[4:6] in ([")", "}"], ["]", "}"]) \
                and texts[3].isdigit() and word + texts[3] in self.network.tensors:
            self.at += 6
            return word + texts[3]
        return None

    def bracket_subscript(self) -> list[str]:
        self.take()
        names = []
        while not self.peek("]"):
            token = self.take()
            if token.text != ",":
                if not token.text.isalpha():
                    self.fail_at(token, "subscripts must be index names such as [i, j]")
                names.append(token.text)
        self.take()
        return names

    def subscript_letters(self, allow_limits: bool = False) -> list[str]:
        """The letters of a subscript: _j, _{ij}, _{i,j}, _{k=1} (a sum's lower limit)."""
        if not self.peek("{"):
            token = self.current()
            if token is not None and token.text[0].isdigit():
                self.fail_at(token, "derive reads index letters, not numbered entries such as t_1; "
                                    "write the claim for every entry, t_j")
            if token is None or not token.text[0].isalpha():
                self.fail_at(token, "a subscript is made of index letters")
            if len(token.text) > 1:  # _jt_j: a subscript without braces is one character, as in TeX
                self.tokens[self.at:self.at + 1] = [_Token(token.text[0], token.column),
                                                    _Token(token.text[1:], token.column + 1)]
            return [self.take().text]
        start = self.take()
        letters = []
        while not self.peek("}"):
            token = self.take()
            if token is None:
                self.fail("'{' is never closed", start.column)
            if token.text == ",":
                continue
            if token.text in (r"\neq", r"\ne", "<", ">", r"\leq", r"\geq") and allow_limits:
                self.fail_at(token, "derive sums over the whole range of an index: write the sum over every k "
                                    "and take away the k = j term")
            if token.text == "=" and allow_limits:
                while not self.peek("}"):
                    if self.take() is None:
                        self.fail("'{' is never closed", start.column)
                break
            if re.fullmatch(r"[0-9]+", token.text) or token.text[0].isdigit():
                self.fail_at(token, "derive reads index letters, not numbered entries such as t_1; "
                                    "write the claim for every entry, t_j")
            if not re.fullmatch(r"[A-Za-z]+", token.text):
                self.fail_at(token, "a subscript is made of index letters")
            letters.extend(token.text)
        self.take()
        return letters

    def split_indices(self, name: str, letters: list[str], token: _Token) -> tuple[str, ...]:
        tensor = self.network.tensors.get(name)
        rank = len(tensor.dims) if tensor is not None else 0
        if len(letters) != rank:
            what = "no indices" if rank == 0 else f"{rank} ind{'ex' if rank == 1 else 'ices'}"
            given = f"the subscript gives {len(letters)}" if letters else "write them as a subscript"
            self.fail_at(token, f"'{name}' has {what}, {given}")
        return tuple(letters)

    # --- tokens ------------------------------------------------------------------------------------
    def current(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def peek(self, *texts: str, offset: int = 0) -> bool:
        n = self.at + offset
        return n < len(self.tokens) and self.tokens[n].text in texts

    def take(self) -> _Token:
        token = self.current()
        if token is None:
            self.fail("the expression ends too early", len(self.text))
        self.at += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.current()
        if token is None or token.text != text:
            self.fail(f"expected '{text}'" + (f", found '{token.text}'" if token else " before the end"),
                      token.column if token else len(self.text))
        return self.take()

    def fail_at(self, token: _Token | None, problem: str):
        self.fail(problem, token.column if token is not None else len(self.text))

    def fail(self, problem: str, column: int | None = None):
        if column is None:
            token = self.current()
            column = token.column if token is not None else len(self.text)
        raise ClaimError(self.text, problem, column)


_ONE_EQUALS = "a claim has one '='; check a chain of equalities as a derivation file, one step a line"


def _partial(top, bottom) -> _Piece:
    (u, ui), (x, xi) = top, bottom
    return _Piece(f"partial({_indexed(u, ui)}, {_indexed(x, xi)})", (top, bottom))


def _indexed(name: str, indices) -> str:
    return f"{name}[{','.join(indices)}]" if indices else name
