"""YAML -> plain Python values that remember where they came from.

The values are built straight from the parser's events (libyaml's C parser when PyYAML has
it, the pure-Python one otherwise), so nothing but plain data can come out of a document and
every limit is enforced while the document is read:

- mappings and sequences become `LMap` / `LList`, which keep the location of every key and
  item, so any later stage can point at the exact line and column of a bad value;
- duplicate keys are errors (PyYAML silently lets the last one win); merge keys
  (`<<: *base`, `<<: [*a, *b]`) work as YAML defines them, explicit keys overriding;
- an alias counts as every node it stands for, so a few hundred bytes of nested aliases
  ("billion laughs") are refused at the alias that crosses `MAX_NODES`, before anything is
  built from them; nesting deeper than `MAX_DEPTH` is refused where it happens;
- numbers are read as YAML 1.2 does too (`1e-5` is a number, not a string), but only finite
  ones: `.inf`, `.nan` and `1e999` are errors, as are integers of more than `MAX_DIGITS`
  digits; characters YAML refuses (control characters, NUL, U+FFFE) are located errors.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Protocol

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from cnncalc.problems import Loc, Problem, SpecError

MAX_NODES = 2_000_000  # values after alias expansion; a 100,000-layer spec needs about 700,000
MAX_DEPTH = 64  # nested mappings/sequences; a real spec nests about 8 deep
MAX_DIGITS = 400  # digits of an integer literal (Python itself stops at 4,300)

_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL, _MERGE = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
# Characters a YAML stream may contain (YAML 1.1 section 5.1); anything else is refused.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TOO_DEEP = f"mappings and lists nested more than {MAX_DEPTH} deep (a spec needs far fewer)"
_MERGE_KEY = object()  # the value of a `<<` key while its mapping is being read


class LMap(dict):  # type: ignore[type-arg]
    """A mapping with the location of itself, of each key and of each value."""

    loc: Loc
    key_locs: dict[str, Loc]
    value_locs: dict[str, Loc]

    def key_loc(self, key: str) -> Loc:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: str) -> Loc:
        return self.value_locs.get(key, self.loc)


class LList(list):  # type: ignore[type-arg]
    """A sequence with the location of itself and of each item."""

    loc: Loc
    item_locs: list[Loc]

    def item_loc(self, index: int) -> Loc:
        return self.item_locs[index] if 0 <= index < len(self.item_locs) else self.loc


class _Resolver(yaml.resolver.Resolver):  # type: ignore[misc]  # PyYAML has no types
    """PyYAML's YAML 1.1 tag resolution, plus YAML 1.2's floats without a dot (`1e-5`)."""


_Resolver.add_implicit_resolver(
    _FLOAT, re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


class _Events(Protocol):
    def get_event(self) -> Event: ...


def _event_source(text: str, pure: bool) -> _Events:
    """libyaml's parser when PyYAML was built with it (about 10x faster), else PyYAML's own."""
    if not pure and getattr(yaml, "__with_libyaml__", False):
        from yaml.cyaml import CParser

        return CParser(text)  # type: ignore[no-any-return]

    class PureEvents(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)

    return PureEvents(text)


def load_text(text: str, file: str, pure: bool = False) -> Any:
    """Parse one YAML document into located values; raise SpecError on any problem.

    `pure` forces PyYAML's pure-Python parser (the C one is used when available).
    """
    bad = _NOT_PRINTABLE.search(text)
    if bad and 0xDC80 <= ord(bad.group()) <= 0xDCFF:  # a byte Python could not decode
        raise SpecError([_error(_offset_loc(text, bad.start(), file), "bad-encoding",
                                f"not UTF-8 text: byte 0x{ord(bad.group()) - 0xDC00:02x} cannot "
                                "be decoded (save the file as UTF-8)")])
    if bad:
        raise SpecError([_error(_offset_loc(text, bad.start(), file), "bad-character",
                                f"character U+{ord(bad.group()):04X} is not allowed in a YAML "
                                "file (control characters, NUL and U+FFFE/U+FFFF cannot appear "
                                "in YAML; write it as an escape in double quotes if you need it)")])
    try:
        builder = _Builder(file)
        return builder.document(_event_source(text, pure))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{exc.context}: {what}"
        loc = _mark_loc(file, mark)
        if "maximum nesting depth" in what:  # libyaml's own limit (1,000), met before ours
            raise SpecError([_error(loc, "too-deep", _TOO_DEEP)]) from None
        raise SpecError([_error(loc, "yaml-syntax", what + _quote_hint(text, exc))]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error without a mark
        raise SpecError([_error(Loc(file, 1, 1), "yaml-syntax", str(exc))]) from None


def _quote_hint(text: str, exc: yaml.MarkedYAMLError) -> str:
    """YAML reads an unquoted `${a}` in `{...}` as its own braces: say so."""
    lines = text.splitlines()
    for mark in (exc.problem_mark, exc.context_mark):
        if mark is not None and mark.line < len(lines) and "${" in lines[mark.line]:
            return (" (an expression inside { } or [ ] must be quoted, e.g. "
                    "`filters: \"${width * 4}\"`: unquoted, YAML reads its braces as a mapping)")
    return ""


def _error(loc: Loc, code: str, message: str) -> Problem:
    return Problem(loc, "error", code, message)


def _mark_loc(file: str, mark: Any) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1) if mark is not None else Loc(file, 1, 1)


def _offset_loc(text: str, offset: int, file: str) -> Loc:
    line_start = text.rfind("\n", 0, offset) + 1
    return Loc(file, text.count("\n", 0, offset) + 1, offset - line_start + 1)


class _Container:
    """A mapping or sequence being read: its value, size after aliases, and pending key."""

    __slots__ = ("anchor", "has_key", "is_map", "key", "key_loc", "merges", "size", "value")

    def __init__(self, value: LMap | LList, anchor: str | None):
        self.value, self.anchor, self.size = value, anchor, 1
        self.is_map = isinstance(value, LMap)
        self.has_key, self.key, self.key_loc = False, None, value.loc  # mappings only
        self.merges: list[LMap] = []


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.resolver = _Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> value, nodes it stands for
        self.nodes = 0
        self.problems: list[Problem] = []
        self.plain_tags: dict[str, str] = {}  # resolved tags of plain scalars seen so far

    def fail(self, loc: Loc, code: str, message: str) -> SpecError:
        return SpecError([*self.problems, _error(loc, code, message)])

    def document(self, events: _Events) -> Any:
        get = events.get_event
        start = get()
        assert isinstance(start, StreamStartEvent)
        first = get()
        if isinstance(first, StreamEndEvent):
            raise self.fail(Loc(self.file, 1, 1), "empty", "the file is empty")
        assert isinstance(first, DocumentStartEvent)
        value = self.node(get)
        end = get()
        assert isinstance(end, DocumentEndEvent)
        after = get()
        if not isinstance(after, StreamEndEvent):
            raise self.fail(self.loc(after), "yaml-syntax", "a spec file holds one YAML document, "
                            "but another one starts here (after `---`)")
        if self.problems:
            raise SpecError(self.problems)
        return value

    def loc(self, event: Event) -> Loc:
        mark = event.start_mark
        return Loc(self.file, mark.line + 1, mark.column + 1)

    def node(self, get: Callable[[], Event]) -> Any:
        """One whole node, read without recursion so nesting depth costs no Python frames."""
        stack: list[_Container] = []
        value: Any
        file = self.file
        while True:
            event = get()
            kind = type(event)
            if kind is MappingEndEvent or kind is SequenceEndEvent:
                done = stack.pop()
                value, size = self.finish(done), done.size
                if done.anchor is not None:
                    self.anchors[done.anchor] = (value, size)
                loc = done.value.loc
            else:
                mark = event.start_mark
                loc = Loc(file, mark.line + 1, mark.column + 1)
                if kind is ScalarEvent:
                    assert isinstance(event, ScalarEvent)
                    parent = stack[-1] if stack else None
                    if parent is not None and parent.is_map and not parent.has_key:
                        # A key is the text written (`on:` and `1.0:` are keys, not a boolean
                        # and a number); a plain `<<` is YAML's merge key.
                        value = (_MERGE_KEY if event.value == "<<" and event.implicit[0]
                                 else event.value)
                    else:
                        value = self.scalar(event, loc)
                    size = 1
                    self.count(1, loc)
                    if event.anchor is not None:
                        self.anchors[event.anchor] = (value, 1)
                elif kind is AliasEvent:
                    value, size = self.alias(event, loc, stack)
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    self.open(event, loc, stack)
                    continue
                else:
                    raise self.fail(loc, "yaml-syntax", f"unexpected {kind.__name__}")
            if not stack:
                return value
            self.add(stack[-1], value, size, loc)

    def alias(self, event: Event, loc: Loc, stack: list[_Container]) -> tuple[Any, int]:
        anchor = event.anchor
        if anchor not in self.anchors:
            if any(c.anchor == anchor for c in stack):
                raise self.fail(loc, "bad-alias", f"alias *{anchor} is used inside its own "
                                "anchor (a recursive alias)")
            raise self.fail(loc, "bad-alias", f"alias *{anchor} has no anchor &{anchor} before it")
        value, size = self.anchors[anchor]
        self.count(size, loc)
        return value, size

    def open(self, event: Event, loc: Loc, stack: list[_Container]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise self.fail(loc, "too-deep", _TOO_DEEP)
        is_map = isinstance(event, MappingStartEvent)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            raise self.fail(loc, "bad-tag", f"unsupported YAML tag {event.tag!r}")
        self.count(1, loc)
        container: LMap | LList
        if is_map:
            container = LMap()
            container.key_locs, container.value_locs = {}, {}
        else:
            container = LList()
            container.item_locs = []
        container.loc = loc
        stack.append(_Container(container, event.anchor))

    def count(self, size: int, loc: Loc) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise self.fail(loc, "too-large", f"the document expands to more than {MAX_NODES:,} "
                            "values (aliases count as every value they repeat)")

    def add(self, parent: _Container, value: Any, size: int, loc: Loc) -> None:
        parent.size += size
        target = parent.value
        if isinstance(target, LList):
            target.append(value)
            target.item_locs.append(loc)
            return
        if not parent.has_key:
            parent.has_key, parent.key, parent.key_loc = True, value, loc
            return
        key, key_loc = parent.key, parent.key_loc
        parent.has_key, parent.key = False, None
        if key is _MERGE_KEY:
            self.merge(parent, value, loc, key_loc)
            return
        if not isinstance(key, str):
            self.problems.append(_error(key_loc, "bad-key", "mapping keys must be plain words"))
            return
        if key in target:
            first = target.key_locs[key]
            self.problems.append(_error(key_loc, "duplicate-key", f"duplicate key '{key}' "
                                        f"(first given at line {first.line})"))
            return
        target[key] = value
        target.key_locs[key] = key_loc
        target.value_locs[key] = loc

    def merge(self, parent: _Container, value: Any, loc: Loc, key_loc: Loc) -> None:
        """`<<: *base` or `<<: [*a, *b]`: merged once the mapping is complete."""
        if parent.merges:
            self.problems.append(_error(key_loc, "duplicate-key", "duplicate merge key '<<'"))
            return
        sources = list(value) if isinstance(value, LList) else [value]
        if not sources or not all(isinstance(s, LMap) for s in sources):
            self.problems.append(_error(loc, "bad-merge", "a merge key `<<` takes a mapping "
                                        "(`<<: *base`) or a list of mappings (`<<: [*a, *b]`)"))
            return
        parent.merges = sources

    def finish(self, done: _Container) -> LMap | LList:
        value = done.value
        if isinstance(value, LList):
            return value
        if done.has_key:  # a key without a value cannot come from the parser, but be sure
            self.problems.append(_error(done.key_loc, "yaml-syntax", "a key without a value"))
        if not done.merges:
            return value
        # Explicit keys win; among merged mappings, the earlier one wins (YAML merge rules).
        merged = LMap()
        merged.loc, merged.key_locs, merged.value_locs = value.loc, {}, {}
        for source in [*done.merges, value]:
            for key, item in source.items():
                if key in value and source is not value:
                    continue
                if key in merged and source is not value:
                    continue
                merged[key] = item
                merged.key_locs[key] = source.key_loc(key)
                merged.value_locs[key] = source.value_loc(key)
        return merged

    def scalar(self, event: ScalarEvent, loc: Loc) -> Any:
        tag = event.tag
        value: str = event.value
        if tag is None or tag == "!":
            implicit = event.implicit
            if implicit[0] and tag is None:  # plain scalars: the tag depends on the text only
                tag = self.plain_tags.get(value)
                if tag is None:
                    tag = self.resolver.resolve(yaml.ScalarNode, value, implicit)
                    if len(self.plain_tags) < 10_000:
                        self.plain_tags[value] = tag
            else:
                tag = self.resolver.resolve(yaml.ScalarNode, value, implicit)
        if tag == _STR:
            return value
        if tag == _MERGE:
            return _MERGE_KEY
        if tag == _NULL:
            return None
        if tag == _BOOL:
            if value.lower() not in self.constructor.bool_values:  # `!!bool maybe`
                raise self.fail(loc, "bad-value", f"{value!r} is not true or false")
            return self.constructor.bool_values[value.lower()]
        if tag == _INT:
            return self.integer(value, loc)
        if tag == _FLOAT:
            return self.real(value, loc)
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
            raise self.fail(loc, "bad-tag", f"unsupported YAML tag {tag!r}")
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return self.constructor.construct_object(node)
        except ValueError as exc:  # e.g. a date with month 13
            raise self.fail(loc, "bad-value", f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}: "
                            f"{exc}") from None

    def integer(self, text: str, loc: Loc) -> int:
        if len(text) > MAX_DIGITS:
            raise self.fail(loc, "too-large", f"an integer of more than {MAX_DIGITS} digits")
        if text.isascii() and text.isdigit() and (text[0] != "0" or len(text) == 1):
            return int(text)  # the common case, quickly
        try:
            return int(self.constructor.construct_yaml_int(_scalar_node(text)))
        except ValueError:  # `!!int abc`
            raise self.fail(loc, "bad-value", f"{text!r} is not an integer") from None

    def real(self, text: str, loc: Loc) -> float:
        try:
            value = float(self.constructor.construct_yaml_float(_scalar_node(text)))
        except ValueError:  # `!!float abc`
            raise self.fail(loc, "bad-value", f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise self.fail(loc, "bad-number", f"{text} is not a finite number (infinity and "
                            "NaN are not valid here; quote it if you mean a string)")
        return value


def _scalar_node(text: str) -> yaml.ScalarNode:
    return yaml.ScalarNode(_STR, text)
