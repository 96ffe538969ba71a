"""A tiny, safe expression language for `"${expr}"` in block specs (never Python `eval`).

Grammar (numbers and true/false):
    cond    := either ('if' either 'else' cond)?           x if c else y, as in Python
    either  := both ('or' both)*
    both    := negated ('and' negated)*
    negated := 'not' negated | compare
    compare := sum (('==' | '!=' | '<' | '<=' | '>' | '>=') sum)*    chained, as in Python
    sum     := term (('+' | '-') term)*
    term    := unary (('*' | '/' | '//' | '%') unary)*
    unary   := '-' unary | '+' unary | atom
    atom    := NUMBER | 'true' | 'false' | NAME | NAME '(' cond (',' cond)* ')' | '(' cond ')'
Functions: min, max, abs, and for width multipliers (spec `vars:` may be floats) round
(Python's: halves to even), ceil, floor and make_divisible(v, d[, min]) (torchvision's
`_make_divisible`: v rounded to the nearest multiple of d, at least `min` (default d), and
not below 90% of v). Numbers are integers or decimals (`0.75`, `1e-3`); `/` divides exactly
into a decimal, `//` floors. Arithmetic takes numbers, `and`/`or`/`not`/`if` take conditions
(true/false): mixing them is an error rather than Python's silent 1 + True == 2. Names are
looked up in a caller-supplied mapping, so an unknown name can be reported with a suggestion.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

Value = int | float | bool
Thunk = Callable[[], Value]  # a parsed expression, evaluated on demand
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)"
                    r"|(//|==|!=|<=|>=|[-+*/%(),<>]))")


def make_divisible(value: float, divisor: float, least: float | None = None) -> int | float:
    """torchvision's `_make_divisible` (MobileNet, EfficientNet channel counts)."""
    if divisor <= 0:
        raise ValueError("make_divisible() needs a positive divisor")
    least = divisor if least is None else least
    new = max(least, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:  # rounding down may not remove more than 10%
        new += divisor
    return new


FUNCTIONS: dict[str, tuple[Callable[..., int | float], int, int]] = {  # name -> function, args
    "min": (min, 2, 99), "max": (max, 2, 99), "abs": (abs, 1, 1), "round": (round, 1, 1),
    "ceil": (math.ceil, 1, 1), "floor": (math.floor, 1, 1),
    "make_divisible": (make_divisible, 2, 3)}
KEYWORDS = ("and", "or", "not", "if", "else", "true", "false")
MAX_MAGNITUDE = 10**18  # keeps huge values out; the grammar has no power operator anyway
MAX_DIGITS = 30
MAX_NESTING = 50  # parentheses, unary signs and `not`s; real expressions nest a few deep
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_HINTS = {"&&": "and", "||": "or", "!": "not", "**": "* (no powers)", "?": "x if c else y",
          "=": "=="}


class ExprError(Exception):
    """A problem in an expression; `offset` is the 0-based column inside the expression text."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            bad = next((h for h in sorted(_HINTS, key=len, reverse=True) if text.startswith(h, start)),
                       text[start])
            hint = f" (write {_HINTS[bad]})" if bad in _HINTS else ""
            raise ExprError(f"unexpected {bad!r}{hint}", start)
        kind = "int" if match.group(1) else "name" if match.group(2) else "op"
        index = match.lastindex or 1
        token = match.group(index)
        if kind == "name" and token in KEYWORDS:
            kind = "op"
        if kind == "int" and len(token) > MAX_DIGITS:
            raise ExprError("number is unreasonably large", match.start(index))
        tokens.append((kind, token, match.start(index)))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


def names_in(text: str) -> set[str]:
    """The variable names an expression uses (functions and keywords excluded)."""
    try:
        tokens = tokenize(text)
    except ExprError:
        return set()
    return {value for index, (kind, value, _) in enumerate(tokens)
            if kind == "name" and not (value in FUNCTIONS and tokens[index + 1][1] == "(")}


def evaluate(text: str, lookup: Callable[[str, int], Value]) -> Value:
    """Evaluate `text`; `lookup(name, offset)` returns a variable's value or raises ExprError.

    The text is parsed whole first (so a syntax error anywhere is reported), then evaluated
    the way Python does: `and`/`or` stop early and `x if c else y` evaluates one branch, so a
    guard like `b != 0 and a // b > 1` works.
    """
    parser = _Parser(tokenize(text), lookup)
    if parser.peek()[0] == "end":
        raise ExprError("empty expression", 0)
    thunk = parser.cond()
    kind, token, offset = parser.peek()
    if kind != "end":
        raise ExprError(f"unexpected {token!r}", offset)
    return thunk()


def evaluate_with(text: str, variables: Mapping[str, Value]) -> Value:
    def lookup(name: str, offset: int) -> Value:
        if name not in variables:
            raise ExprError(f"unknown name '{name}'", offset)
        return variables[name]

    return evaluate(text, lookup)


def _describe(value: Value) -> str:
    return ("a condition (" + str(value).lower() + ")") if isinstance(value, bool) else f"the number {value}"


def _number(value: Value, what: str, offset: int) -> int | float:
    if isinstance(value, bool):
        raise ExprError(f"{what} needs a number, got {_describe(value)}", offset)
    return value


def _condition(value: Value, what: str, offset: int) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{what} needs a condition (true/false, e.g. a comparison), got "
                        f"{_describe(value)}", offset)
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], lookup: Callable[[str, int], Value]):
        self.tokens = tokens
        self.index = 0
        self.lookup = lookup
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def at(self, *ops: str) -> bool:
        kind, token, _ = self.tokens[self.index]
        return kind == "op" and token in ops

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, op: str) -> None:
        kind, token, offset = self.take()
        if token != op or kind != "op":
            raise ExprError(f"expected {op!r}, found {token or 'end of expression'!r}", offset)

    def nest(self, offset: int) -> None:
        """Every recursion passes here, so no input reaches Python's recursion limit."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExprError(f"nested more than {MAX_NESTING} deep", offset)

    def cond(self) -> Thunk:
        self.nest(self.peek()[2])
        try:
            value = self.either()
            if not self.at("if"):
                return value
            offset = self.take()[2]
            test = self.either()
            self.expect("else")
            other = self.cond()
            return lambda: value() if _condition(test(), "'if'", offset) else other()
        finally:
            self.depth -= 1

    def either(self) -> Thunk:
        return self.logic("or", self.both)

    def both(self) -> Thunk:
        return self.logic("and", self.negated)

    def logic(self, op: str, operand: Callable[[], Thunk]) -> Thunk:
        first = operand()
        rest: list[tuple[int, Thunk]] = []
        while self.at(op):
            rest.append((self.take()[2], operand()))
        if not rest:
            return first
        stop = op == "or"  # `or` stops at the first true operand, `and` at the first false one

        def run() -> Value:
            if _condition(first(), f"'{op}'", rest[0][0]) == stop:
                return stop
            for offset, thunk in rest:
                if _condition(thunk(), f"'{op}'", offset) == stop:
                    return stop
            return not stop

        return run

    def negated(self) -> Thunk:
        if not self.at("not"):
            return self.compare()
        offset = self.take()[2]
        self.nest(offset)
        try:
            inner = self.negated()
        finally:
            self.depth -= 1
        return lambda: not _condition(inner(), "'not'", offset)

    def compare(self) -> Thunk:
        first = self.sum()
        rest: list[tuple[str, int, Thunk]] = []
        while self.at(*_COMPARE):
            _, op, offset = self.take()
            rest.append((op, offset, self.sum()))
        if not rest:
            return first

        def run() -> Value:  # chained like Python: a < b < c is a < b and b < c
            left = first()
            for op, offset, thunk in rest:
                right = thunk()
                if isinstance(left, bool) != isinstance(right, bool) or (
                        isinstance(left, bool) and op not in ("==", "!=")):
                    raise ExprError(f"'{op}' compares {_describe(left)} with {_describe(right)}",
                                    offset)
                if not _COMPARE[op](left, right):
                    return False
                left = right
            return True

        return run

    def sum(self) -> Thunk:
        return self.arithmetic(("+", "-"), self.term)

    def term(self) -> Thunk:
        return self.arithmetic(("*", "/", "//", "%"), self.unary)

    def arithmetic(self, ops: tuple[str, ...], operand: Callable[[], Thunk]) -> Thunk:
        first = operand()
        rest: list[tuple[str, int, Thunk]] = []
        while self.at(*ops):
            _, op, offset = self.take()
            rest.append((op, offset, operand()))
        if not rest:
            return first

        def run() -> Value:  # left to right in a loop: a long sum costs no recursion
            value = first()
            for op, offset, thunk in rest:
                value = _apply(op, _number(value, f"'{op}'", offset),
                               _number(thunk(), f"'{op}'", offset), offset)
            return value

        return run

    def unary(self) -> Thunk:
        if not self.at("-", "+"):
            return self.atom()
        _, token, offset = self.take()
        self.nest(offset)
        try:
            inner = self.unary()
        finally:
            self.depth -= 1
        sign = -1 if token == "-" else 1
        return lambda: sign * _number(inner(), f"'{token}'", offset)

    def atom(self) -> Thunk:
        kind, token, offset = self.take()
        if kind == "int":
            number = _check(float(token) if any(c in token for c in ".eE") else int(token), offset)
            return lambda: number
        if kind == "op" and token in ("true", "false"):
            truth = token == "true"
            return lambda: truth
        if kind == "name":
            if not self.at("("):
                lookup = self.lookup
                return lambda: lookup(token, offset)
            return self.call(token, offset)
        if kind == "op" and token == "(":
            value = self.cond()
            self.expect(")")
            return value
        raise ExprError(f"expected a number, a name or '(', found {token or 'end of expression'!r}", offset)

    def call(self, name: str, offset: int) -> Thunk:
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function '{name}' (there are {', '.join(FUNCTIONS)})", offset)
        function, least, most = FUNCTIONS[name]
        self.take()
        args = [self.cond()]
        while self.at(","):
            self.take()
            args.append(self.cond())
        self.expect(")")
        if not least <= len(args) <= most:
            want = str(least) if least == most else f"at least {least}"
            raise ExprError(f"{name}() takes {want} argument{'s' if want != '1' else ''}, "
                            f"got {len(args)}", offset)

        def run() -> Value:
            try:
                return _check(function(*(_number(arg(), f"{name}()", offset) for arg in args)), offset)
            except (ValueError, OverflowError) as exc:
                raise ExprError(str(exc), offset) from None

        return run


def _apply(op: str, left: int | float, right: int | float, offset: int) -> int | float:
    if op == "+":
        return _check(left + right, offset)
    if op == "-":
        return _check(left - right, offset)
    if op == "*":
        return _check(left * right, offset)
    if right == 0:
        raise ExprError("division by zero", offset)
    if op == "/":
        return _check(left / right, offset)
    return _check(left // right if op == "//" else left % right, offset)


def _check(value: int | float, offset: int) -> int | float:
    if not abs(value) <= MAX_MAGNITUDE:  # also refuses inf and nan
        raise ExprError("value is unreasonably large", offset)
    return value
