# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: Kubernetes resource quantities (256Mi, 500m, 1e3), exact. Not a public API.

The rules are those of Kubernetes' resource.Quantity: a signed decimal number (1, 1.5, .5, 1.)
and one suffix, binary (Ki Mi Gi Ti Pi Ei), decimal (n u m k M G T P E, or none) or a decimal
exponent (e3, E-3). Case matters (1k is 1000, 1K is an error; 1E is 10^18, 1E3 is 1000). A value is
rounded up (away from zero) to a whole number of nano units, as the API server stores it, and
printed back in Kubernetes' canonical form. Decimal all the way: never a float.
"""
from __future__ import annotations

import math
import re
from decimal import MAX_EMAX, MIN_EMIN, ROUND_CEILING, ROUND_UP, Decimal, DecimalException, localcontext

VALID_FORMS = '"1Gi", "1G", "1e3", "100m", "0.1"'
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}  # powers of 2
DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}  # powers of 10
_SUFFIX_OF_EXPONENT = {e: s for s, e in DECIMAL_SUFFIXES.items()}
_SUFFIX_OF_POWER = {e // 10: s for s, e in BINARY_SUFFIXES.items()}
# The number needs a digit on at least one side of the point; the suffix is checked on its own.
_QUANTITY = re.compile(r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>.*)", re.DOTALL)
_EXPONENT = re.compile(r"[eE][+-]?\d+")
NANO = Decimal("1e-9")
# Kubernetes keeps a quantity within an int64; nothing a pod asks for is larger.
LARGEST = Decimal(2**63 - 1)
# Enough digits for any int64 count of nano units, so that no arithmetic here rounds (managed hosts run Python 3.9+).
_PRECISION = 40


class QuantityError(ValueError):
    """Not a Kubernetes quantity; the message names the value and the valid forms."""


def _bad(value: object, why: str) -> QuantityError:
    return QuantityError(f"{value!r} is not a Kubernetes quantity ({why}); write a number with one suffix, such as {VALID_FORMS}")


def _text(value: object) -> str:
    """The quantity as the API server reads it: a YAML or JSON number is read as its text."""
    if isinstance(value, bool) or value is None:
        raise _bad(value, "not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(value, "not a finite number")
    if isinstance(value, (int, float, Decimal, str)):
        # Outer blanks are trimmed by the API's decoder; inner ones are errors ("1 Gi").
        return str(value).strip()
    raise _bad(value, f"a {type(value).__name__}")


def _multiplier(value: object, suffix: str) -> Decimal:
    if suffix in BINARY_SUFFIXES:
        return Decimal(2 ** BINARY_SUFFIXES[suffix])
    if suffix in DECIMAL_SUFFIXES:
        return Decimal(10) ** DECIMAL_SUFFIXES[suffix]
    if _EXPONENT.fullmatch(suffix):
        return Decimal(f"1e{suffix[1:]}")
    raise _bad(value, f"unknown suffix {suffix!r}; binary suffixes are Ki Mi Gi Ti Pi Ei, decimal ones n u m k M G T P E, exponents e3 or E-3")


def parse_quantity(value: object) -> Decimal:
    """The exact value of a quantity (str, int, float or Decimal), rounded up to nano units as Kubernetes does."""
    text = _text(value)
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise _bad(value, "no number" if text else "empty")
    # Any exponent the text can hold, so that 1e-99999 still rounds up to 1n instead of vanishing.
    with localcontext() as context:
        context.prec, context.Emax, context.Emin = _PRECISION, MAX_EMAX, MIN_EMIN
        multiplier = _multiplier(value, match.group("suffix"))
        try:
            amount = Decimal(match.group("number")) * multiplier
        except DecimalException:
            raise _bad(value, "out of range") from None
        if abs(amount) > LARGEST:
            raise _bad(value, f"larger than {LARGEST}, the largest quantity Kubernetes holds")
        # Kubernetes' rule: if you ask for some, you get some, so a tiny amount becomes one nano unit.
        amount = amount.quantize(NANO, rounding=ROUND_UP)
        return amount if amount else Decimal(0)  # -0 is 0


def _whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1), rounding=ROUND_CEILING)


def memory_bytes(value: object) -> int:
    """A memory quantity in bytes; a fractional byte count is rounded up, as Quantity.Value() does."""
    amount = parse_quantity(value)
    if amount < 0:
        raise QuantityError(f"{value!r}: a memory amount cannot be negative")
    return int(_whole(amount))


def milli_cpus(value: object) -> int:
    """A CPU quantity in millicores, rounded up, as kubelet reads a CPU limit (Quantity.MilliValue())."""
    amount = parse_quantity(value)
    if amount < 0:
        raise QuantityError(f"{value!r}: a CPU amount cannot be negative")
    return int(_whole(amount * 1000))


def cpus_option(value: object) -> str:
    """A CPU quantity as the pod modules' cpus option, an exact decimal count of CPUs: 500m -> "0.5", 1m -> "0.001"."""
    with localcontext() as context:
        context.prec = _PRECISION
        return _plain(Decimal(milli_cpus(value)) / 1000)


def _plain(amount: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 2 -> "2", 0.50 -> "0.5", 1E+3 -> "1000"."""
    return format(amount.normalize(), "f")


def format_quantity(amount: Decimal, binary: bool = False) -> str:
    """The canonical text Kubernetes prints for an amount parsed in the decimal (or binary) format.

    Decimal: the largest suffix whose power of 10 is a multiple of 3 and leaves a whole number
    (1.5 -> "1500m", 1000 -> "1k"). Binary: the largest power of 1024 leaving a whole number
    (1.5Gi -> "1536Mi"); below 1024 or fractional, the decimal form.
    """
    with localcontext() as context:
        context.prec = _PRECISION
        amount = amount.quantize(NANO, rounding=ROUND_UP)
        if amount == 0:
            return "0"
        if binary and abs(amount) >= 1024 and amount == amount.to_integral_value():
            mantissa, power = int(amount), 0
            while mantissa % 1024 == 0 and power < max(_SUFFIX_OF_POWER):
                mantissa, power = mantissa // 1024, power + 1
            return f"{mantissa}{_SUFFIX_OF_POWER.get(power, '')}"
        sign, digits, exponent = amount.normalize().as_tuple()
        mantissa, exponent = int("".join(map(str, digits))), int(exponent)
        while exponent % 3:
            mantissa, exponent = mantissa * 10, exponent - 1
        while exponent > max(_SUFFIX_OF_EXPONENT):
            mantissa, exponent = mantissa * 1000, exponent - 3
        return f"{'-' if sign else ''}{mantissa}{_SUFFIX_OF_EXPONENT[exponent]}"


def bytes_quantity(size: int) -> str:
    """Bytes as a memory quantity: binary when a binary suffix fits (268435456 -> "256Mi"), else decimal ("1G")."""
    binary = format_quantity(Decimal(size), binary=True)
    return binary if not binary.isdigit() else format_quantity(Decimal(size))


def nano_cpus_quantity(nano: int) -> str:
    """Nano CPUs as a CPU quantity: 500000000 -> "500m", 2000000000 -> "2"."""
    return format_quantity(Decimal(nano) * NANO)
