"""docs/format.md documents every op and every argument the code declares, and nothing else;
its op sections are generated from the declarations, and its examples load."""
from __future__ import annotations

import re

import pytest
from helpers import ROOT, graph

from cnncalc.ops.registry import ops
from cnncalc.report.opref import default_text, with_op_sections

DOC = (ROOT / "docs" / "format.md").read_text()


def documented() -> dict[str, list[tuple[str, str, str]]]:
    """op -> [(argument, type and domain, default)] as the document's tables state them,
    read from the whole document (not only the generated part)."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    current = None
    for line in DOC.splitlines():
        heading = re.fullmatch(r"### `([a-z_0-9]+)`", line)
        if heading:
            current = heading.group(1)
            assert current not in found, f"{current} documented twice"
            found[current] = []
        elif line.startswith("## "):
            current = None
        elif current and (row := re.match(r"\| `([a-z_0-9]+)` \| (.*?) \| (.*?) \|", line)):
            found[current].append((row.group(1), row.group(2), row.group(3)))
    return found


def test_every_op_and_argument_is_documented_and_vice_versa() -> None:
    docs = documented()
    code = {name: [a.name for a in op.arguments] for name, op in ops().items()}
    assert sorted(docs) == sorted(code), "ops missing from docs/format.md or documented but not in the code"
    for name, args in code.items():
        assert [a for a, _, _ in docs[name]] == args, name


def test_documented_domains_and_defaults_are_the_declared_ones() -> None:
    docs = documented()
    for name, op in ops().items():
        for (arg, domain, default), declared in zip(docs[name], op.arguments):
            assert domain.replace("\\|", "|") == declared.type.doc, (name, arg)
            assert default == default_text(declared).replace("|", "\\|"), (name, arg)


def test_the_op_sections_are_generated_from_the_declarations() -> None:
    assert with_op_sections(DOC) == DOC, "run: python -m cnncalc.report.opref docs/format.md"


def test_every_top_level_key_is_documented() -> None:
    from cnncalc.spec.document import TOP_KEYS

    table = DOC.split("## Top-level keys")[1].split("\n## ")[0]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)) == set(TOP_KEYS)


def test_the_dtypes_and_special_keys_are_documented() -> None:
    from cnncalc.spec.dtypes import DTYPE_BYTES
    from cnncalc.spec.expand import SPECIAL_KEYS

    for dtype in DTYPE_BYTES:
        assert f"`{dtype}` ({DTYPE_BYTES[dtype]}" in DOC
    layers = DOC.split("## Layers")[1].split("\n## ")[0]
    assert set(re.findall(r"^\| `([a-z]+)` \|", layers, flags=re.M)) == set(SPECIAL_KEYS)


@pytest.mark.parametrize("block", re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)[:2])
def test_the_examples_load(block: str) -> None:
    g = graph(block)
    assert g.layers


def _section(title: str) -> str:
    return DOC.split(f"## {title}\n")[1].split("\n## ")[0]


def test_the_documented_limits_are_the_code_s() -> None:
    from cnncalc.spec import expand, expr, names, source, yamlload

    rows = dict(re.findall(r"^\| (.+?) \| ([0-9,; ]+(?: MiB)?) \|$", _section("YAML, files and limits"),
                           flags=re.M))

    def number(text: str) -> list[int]:
        return [int(part.replace(",", "").removesuffix(" MiB")) * (2**20 if "MiB" in part else 1)
                for part in text.split("; ")]

    found = {key: number(value) for key, value in rows.items()}
    expected = [[yamlload.MAX_NODES], [yamlload.MAX_DEPTH], [expand.MAX_NESTING], [expand.MAX_WORK],
                [expand.MAX_LAYERS], [yamlload.MAX_DIGITS], [expr.MAX_DIGITS, expr.MAX_NESTING],
                [names.MAX_LENGTH], [source.MAX_BYTES]]
    assert list(found.values()) == expected, found
    flat = " ".join(DOC.split())  # the prose says the same numbers
    for claim in (f"at most {source.MAX_BYTES // 2**20} MiB", f"at most {names.MAX_LENGTH} characters",
                  f"at most {expr.MAX_DIGITS} digits", f"at most {expr.MAX_NESTING} levels",
                  f"at most {yamlload.MAX_DIGITS} digits", f"`repeat` is at most {expand.MAX_LAYERS:,}"):
        assert claim in flat, claim


def test_the_expression_language_is_documented_in_full() -> None:
    from cnncalc.spec import blocks, expr

    table = _section("Blocks, `$arg`, `$in` and `${expr}`")
    for word in [*expr.KEYWORDS, *expr._COMPARE, "+", "-", "*", "//", "%"]:
        assert f"`{word}" in table or f" {word} " in table, word
    for function in expr.FUNCTIONS:
        assert f"`{function}(" in table, function
    for hint in expr._HINTS:
        assert f"`{hint}`" in table or hint in ("=", "?"), hint
    reserved = re.search(r"not (`name`.*?`in_channels`)", table, flags=re.S)
    assert reserved and re.findall(r"`(\w+)`", reserved.group(1)) == list(blocks._RESERVED)


def test_the_if_example_does_what_it_says() -> None:
    example = _section("Layers").split("```text\n")[1].split("```")[0]
    assert [layer.name for layer in graph(example).layers] == ["res1.body", "res1.add1", "res2.body"]
