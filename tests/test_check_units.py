"""Budget numbers as people write them: K/M/G counts, KB/MB/GB and KiB/MiB/GiB sizes."""
from __future__ import annotations

import pytest

from cnncalc.checks.units import UnitError, parse_bytes, parse_count
from cnncalc.text import short_bytes


@pytest.mark.parametrize("text, value", [
    (11689512, 11_689_512), ("12M", 12_000_000), ("1.5G", 1_500_000_000), ("2K", 2_000),
    ("2k", 2_000), ("1.2M", 1_200_000), ("11,689,512", 11_689_512), ("1e6", 1_000_000),
    (1.5e6, 1_500_000), ("3 M", 3_000_000), ("0", 0), ("1T", 10**12), ("12_000", 12_000),
])
def test_counts(text: object, value: int) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text, value", [
    ("2GB", 2_000_000_000), ("2GiB", 2 * 1024**3), ("512MiB", 512 * 1024**2),
    ("1.5KB", 1_500), ("1kB", 1_000), ("3KiB", 3_072), (4096, 4096), ("100B", 100),
    ("1TB", 10**12), ("0.5GiB", 2**29),
])
def test_bytes(text: object, value: int) -> None:
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text, fragment", [
    ("12Q", "unknown unit 'Q'"), ("2GB", "byte units are for memory"), ("1.2345K", "whole"),
    (True, "expected a count"), ("-3M", "expected a count"), ("1,00", "thousands separator"),
    ([1], "expected a count"), ("M", "expected a count"), (0.5, "whole"),
])
def test_bad_counts(text: object, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        parse_count(text)


@pytest.mark.parametrize("text, fragment", [
    ("2G", "write GB or GiB"), ("2Gb", "unknown unit 'Gb'"), ("0.3B", "whole"),
])
def test_bad_bytes(text: object, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        parse_bytes(text)


def test_short_forms() -> None:
    assert short_bytes(2_352_000_000) == "2.35 GB"
    assert short_bytes(3 * 1024**3, binary=True) == "3.00 GiB"
    assert short_bytes(512) == "512 B"
