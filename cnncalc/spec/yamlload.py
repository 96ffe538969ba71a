"""YAML -> plain Python values that remember where they came from.

Only `yaml.SafeLoader` is used, so no document can construct Python objects. Mappings and
sequences become `LMap` / `LList`, which keep the location of every key and item, so any
later stage can point at the exact line and column of a bad value. Duplicate keys, which
PyYAML silently lets the last one win, are errors here.
"""
from __future__ import annotations

from typing import Any

import yaml

from cnncalc.problems import Loc, Problem, SpecError


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


def loc_of(value: Any, default: Loc) -> Loc:
    return getattr(value, "loc", default)


def _loc(file: str, node: yaml.Node) -> Loc:
    mark = node.start_mark
    return Loc(file, mark.line + 1, mark.column + 1)


def _mark_loc(file: str, mark: Any) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1) if mark is not None else Loc(file, 1, 1)


def load_text(text: str, file: str) -> Any:
    """Parse one YAML document into located values; raise SpecError on any problem."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([Problem(Loc(file, 1, 1), "error", "empty", "the file is empty")])
        problems: list[Problem] = []
        value = _convert(loader, node, file, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{exc.context}: {what}"
        raise SpecError([Problem(_mark_loc(file, mark), "error", "yaml-syntax", what)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(Loc(file, 1, 1), "error", "yaml-syntax", str(exc))]) from None
    finally:
        loader.dispose()
    if problems:
        raise SpecError(problems)
    return value


def _convert(loader: yaml.SafeLoader, node: yaml.Node, file: str, problems: list[Problem]) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # honour YAML merge keys (<<) the standard way
        result = LMap()
        result.loc = _loc(file, node)
        result.key_locs, result.value_locs = {}, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_loc = _loc(file, key_node)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                problems.append(Problem(key_loc, "error", "bad-key", "mapping keys must be plain scalars"))
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                first = result.key_locs[key]
                problems.append(Problem(key_loc, "error", "duplicate-key",
                                        f"duplicate key '{key}' (first given at line {first.line})"))
                continue
            result[key] = _convert(loader, value_node, file, problems)
            result.key_locs[key] = key_loc
            result.value_locs[key] = _loc(file, value_node)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LList()
        items.loc = _loc(file, node)
        items.item_locs = []
        for item in node.value:
            items.append(_convert(loader, item, file, problems))
            items.item_locs.append(_loc(file, item))
        return items
    return loader.construct_object(node, deep=True)
