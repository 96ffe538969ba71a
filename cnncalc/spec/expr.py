"""A tiny, safe integer expression language for `"${expr}"` in block specs.

Grammar (integers only, never Python `eval`):
    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '//' | '%') unary)*
    unary  := '-' unary | '+' unary | atom
    atom   := INT | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
Functions: min, max. Names are looked up in a caller-supplied mapping, so an unknown name
can be reported with a suggestion.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*%(),]))")
FUNCTIONS: dict[str, Callable[..., int]] = {"min": min, "max": max}
MAX_MAGNITUDE = 10**18  # keeps `9**9**9`-style abuse impossible; the grammar has no power op anyway


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
            stripped = len(text[pos:]) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character {text[pos + stripped]!r}", pos + stripped)
        kind = "int" if match.group(1) else "name" if match.group(2) else "op"
        start = match.start(match.lastindex or 1)
        tokens.append((kind, match.group(match.lastindex or 1), start))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


def names_in(text: str) -> set[str]:
    """The variable names an expression uses (functions excluded)."""
    try:
        tokens = tokenize(text)
    except ExprError:
        return set()
    return {value for index, (kind, value, _) in enumerate(tokens)
            if kind == "name" and not (value in FUNCTIONS and tokens[index + 1][1] == "(")}


def evaluate(text: str, lookup: Callable[[str, int], int]) -> int:
    """Evaluate `text`; `lookup(name, offset)` returns a variable's value or raises ExprError."""
    parser = _Parser(tokenize(text), lookup)
    value = parser.expr()
    kind, token, offset = parser.peek()
    if kind != "end":
        raise ExprError(f"unexpected {token!r}", offset)
    return value


def evaluate_with(text: str, variables: Mapping[str, int]) -> int:
    def lookup(name: str, offset: int) -> int:
        if name not in variables:
            raise ExprError(f"unknown name '{name}'", offset)
        return variables[name]

    return evaluate(text, lookup)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], lookup: Callable[[str, int], int]):
        self.tokens = tokens
        self.index = 0
        self.lookup = lookup

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, op: str) -> None:
        kind, token, offset = self.take()
        if token != op or kind != "op":
            raise ExprError(f"expected {op!r}, found {token or 'end of expression'!r}", offset)

    def expr(self) -> int:
        value = self.term()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            value = _check(value + self.term() if op == "+" else value - self.term(), self.peek()[2])
        return value

    def term(self) -> int:
        value = self.unary()
        while self.peek()[1] in ("*", "//", "%") and self.peek()[0] == "op":
            _, op, offset = self.take()
            right = self.unary()
            if op == "*":
                value = _check(value * right, offset)
            elif right == 0:
                raise ExprError("division by zero", offset)
            else:
                value = value // right if op == "//" else value % right
        return value

    def unary(self) -> int:
        kind, token, _ = self.peek()
        if kind == "op" and token in ("-", "+"):
            self.take()
            return -self.unary() if token == "-" else self.unary()
        return self.atom()

    def atom(self) -> int:
        kind, token, offset = self.take()
        if kind == "int":
            return _check(int(token), offset)
        if kind == "name":
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                if token not in FUNCTIONS:
                    raise ExprError(f"unknown function '{token}' (only min and max)", offset)
                self.take()
                args = [self.expr()]
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr())
                self.expect(")")
                return FUNCTIONS[token](*args)
            return self.lookup(token, offset)
        if kind == "op" and token == "(":
            value = self.expr()
            self.expect(")")
            return value
        raise ExprError(f"expected a number, a name or '(', found {token or 'end of expression'!r}", offset)


def _check(value: int, offset: int) -> int:
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError("value is unreasonably large", offset)
    return value
