"""Kubernetes quantities, against the rules of Kubernetes' resource.Quantity (its grammar, its rounding, its canonical form)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._kube.quantity import (
    QuantityError,
    bytes_quantity,
    cpus_option,
    format_quantity,
    memory_bytes,
    milli_cpus,
    nano_cpus_quantity,
    parse_quantity,
)


@pytest.mark.parametrize(("text", "value"), [
    ("1Gi", 2**30), ("1G", 10**9), ("1e3", 1000), ("1E3", 1000), ("1e-3", Decimal("0.001")), ("1e+3", 1000),
    ("100m", Decimal("0.1")), ("0.1", Decimal("0.1")), ("0.5", Decimal("0.5")), ("500m", Decimal("0.5")),
    ("256Mi", 256 * 2**20), ("1.5Gi", 1536 * 2**20), ("1Ki", 1024), ("1k", 1000), ("1M", 10**6), ("1Ti", 2**40),
    ("1Pi", 2**50), ("1Ei", 2**60), ("1T", 10**12), ("1P", 10**15), ("1E", 10**18), ("1n", Decimal("1e-9")), ("1u", Decimal("1e-6")),
    ("0", 0), ("-1", -1), ("+1k", 1000), ("-500m", Decimal("-0.5")), (".5", Decimal("0.5")), ("1.", 1), ("1.G", 10**9),
    ("12e6", 12 * 10**6), ("0.5Mi", 2**19), ("100.035Ki", Decimal("102435.84")), (" 1Gi ", 2**30),
])
def test_valid_forms(text, value):
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize(("given", "value"), [(256, 256), (0.5, Decimal("0.5")), (2, 2), (1e-05, Decimal("0.00001")), (Decimal("1.5"), Decimal("1.5"))])
def test_numbers_are_read_as_their_text_as_the_api_does(given, value):
    assert parse_quantity(given) == value


@pytest.mark.parametrize("text", [
    "1gi", "1GB", "Mi", "1.5.5", "--1", "1 Gi", "", "1K", "1e", "1ee3", "1e3.5", "1m3", "1i", ".5i", "0.1mi", "1+1.0M", "aoeu", "1.1.M",
    "-3.01e-", "inf", ".", "+", "1Mb", "1mi",
])
def test_bad_syntax_is_refused_naming_the_value_and_the_valid_forms(text):
    with pytest.raises(QuantityError) as error:
        parse_quantity(text)
    assert repr(text) in str(error.value)
    assert '"1Gi", "1G", "1e3", "100m", "0.1"' in str(error.value)


@pytest.mark.parametrize("given", [True, None, float("nan"), float("inf"), [1], {"a": 1}])
def test_what_is_not_a_number_is_refused(given):
    with pytest.raises(QuantityError):
        parse_quantity(given)


def test_values_beyond_an_int64_are_refused():
    assert parse_quantity("9223372036854775807") == 2**63 - 1
    for text in ("9223372036854775808", "8Ei", "1e19", "1e99999999999"):
        with pytest.raises(QuantityError, match="larger than"):
            parse_quantity(text)


@pytest.mark.parametrize(("text", "value"), [
    ("0.1n", Decimal("1e-9")), ("1.0000000001", Decimal("1.000000001")), ("0.000000000001Ki", Decimal("2e-9")),
    ("-0.1n", Decimal("-1e-9")), ("1e-99999999999", Decimal("1e-9")),
])
def test_below_a_nano_unit_rounds_up_away_from_zero(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "size"), [
    ("256Mi", 268435456), ("128Mi", 134217728), ("1G", 1000000000), ("0.5", 1), ("1.5", 2), ("1500m", 2), ("1m", 1), (256, 256),
    ("0", 0), ("0.5Ki", 512), ("1.0001Ki", 1025),
])
def test_memory_in_bytes_rounds_a_fraction_up_as_value_does(text, size):
    assert memory_bytes(text) == size
    assert isinstance(memory_bytes(text), int)


@pytest.mark.parametrize(("text", "milli", "option"), [
    ("1m", 1, "0.001"), ("500m", 500, "0.5"), ("0.5", 500, "0.5"), (0.5, 500, "0.5"), ("2", 2000, "2"), (2, 2000, "2"),
    ("1.5", 1500, "1.5"), ("100m", 100, "0.1"), ("0.0005", 1, "0.001"), ("1500u", 2, "0.002"), ("1e3", 1000000, "1000"), ("1k", 1000000, "1000"),
    ("10m", 10, "0.01"),
])
def test_cpu_is_read_in_millicores_rounded_up_as_kubelet_does(text, milli, option):
    assert milli_cpus(text) == milli
    assert cpus_option(text) == option


@pytest.mark.parametrize("read", [memory_bytes, milli_cpus, cpus_option])
def test_negative_limits_are_refused(read):
    with pytest.raises(QuantityError, match="negative"):
        read("-1")


@pytest.mark.parametrize(("text", "decimal", "binary"), [
    ("1.5", "1500m", "1500m"), ("1.5Gi", "1610612736", "1536Mi"), ("1Gi", "1073741824", "1Gi"), ("1000", "1k", "1k"),
    ("1024", "1024", "1Ki"), ("100m", "100m", "100m"), ("0", "0", "0"), ("1e3", "1k", "1k"), ("12e6", "12M", "12000000"),
    ("-1m", "-1m", "-1m"), ("1n", "1n", "1n"), ("1E", "1E", "976562500000000Ki"), ("1023", "1023", "1023"), ("0.5Ki", "512", "512"),
])
def test_canonical_form_is_kubernetes(text, decimal, binary):
    amount = parse_quantity(text)
    assert format_quantity(amount) == decimal
    assert format_quantity(amount, binary=True) == binary
    assert parse_quantity(format_quantity(amount)) == amount


@pytest.mark.parametrize(("size", "text"), [
    (268435456, "256Mi"), (134217728, "128Mi"), (1536 * 2**20, "1536Mi"), (2**30, "1Gi"), (10**9, "1G"), (500 * 10**6, "500M"),
    (268435457, "268435457"), (1024, "1Ki"), (1000, "1k"), (1, "1"),
])
def test_bytes_print_with_a_binary_suffix_when_one_fits(size, text):
    assert bytes_quantity(size) == text
    assert memory_bytes(text) == size


@pytest.mark.parametrize(("nano", "text"), [
    (500000000, "500m"), (2 * 10**9, "2"), (1500000000, "1500m"), (10**6, "1m"), (10**7, "10m"), (100 * 10**6, "100m"), (500, "500n"),
])
def test_nano_cpus_print_in_kubernetes_canonical_form(nano, text):
    assert nano_cpus_quantity(nano) == text
    assert parse_quantity(text) * 10**9 == nano
