from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._units import (
    UNLIMITED,
    human_size,
    parse_count,
    parse_cpus,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("536870912", 536870912),
        (536870912, 536870912),
        ("512m", 536870912),
        ("512M", 536870912),
        ("512MB", 536870912),
        ("512Mi", 536870912),
        ("512MiB", 536870912),
        ("1g", 1 << 30),
        ("1Gi", 1 << 30),
        ("1.5g", 3 << 29),
        ("64k", 65536),
        ("max", UNLIMITED),
        ("unlimited", UNLIMITED),
        ("-1", UNLIMITED),
        (-1, UNLIMITED),
    ],
)
def test_parse_size_follows_docker_binary_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "12q", "-5", "1.2.3g", True])
def test_parse_size_rejects_with_a_usable_message(text):
    with pytest.raises(ValueError, match="memory"):
        parse_size(text, "memory")


@pytest.mark.parametrize(("text", "expected"), [("0.5", 0.5), ("2", 2.0), (1.25, 1.25), ("max", UNLIMITED)])
def test_parse_cpus(text, expected):
    assert parse_cpus(text) == expected


@pytest.mark.parametrize("text", ["0", "0.001", "half", "-1.5"])
def test_parse_cpus_rejects(text):
    with pytest.raises(ValueError, match="cpus"):
        parse_cpus(text)


@pytest.mark.parametrize(("text", "expected"), [("100", 100), (64, 64), ("max", UNLIMITED), ("-1", UNLIMITED), ("4194304", 4194304)])
def test_parse_count(text, expected):
    assert parse_count(text, "pids_max") == expected


@pytest.mark.parametrize("text", ["0", "-3", "many", "1.5", "4194305", "9" * 30])
def test_parse_count_rejects(text):
    with pytest.raises(ValueError, match="pids_max"):
        parse_count(text, "pids_max")


@pytest.mark.parametrize(
    ("value", "expected"), [(536870912, "512Mi"), (1 << 30, "1Gi"), (4096, "4Ki"), (1000, "1000"), (UNLIMITED, "max")]
)
def test_human_size(value, expected):
    assert human_size(value) == expected
