# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: parsing of human sizes and CPU amounts. Not a public API."""
from __future__ import annotations

import math
import re

# The string every limit uses for "no limit", whatever the kernel or unit spells.
UNLIMITED = "max"
_UNLIMITED_WORDS = {"max", "unlimited", "infinity", "-1"}

# Docker's convention (RAMInBytes): k, m, g, t are binary whether or not "i" or
# "b" follows, so 512MB, 512m and 512Mi are all 536870912.
_SIZE = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[kmgtp]?)(?:i?b?)\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def is_unlimited(value: object) -> bool:
    return str(value).strip().lower() in _UNLIMITED_WORDS


def parse_size(value: object, what: str = "size") -> int | str:
    """Return bytes as an int, or UNLIMITED. Raises ValueError with a usable message."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size such as 512m, 1Gi or 536870912, got {value!r}")
    if isinstance(value, int):
        if value == -1:
            return UNLIMITED
        if value < 0:
            raise ValueError(f"{what}: a size cannot be negative ({value})")
        return value
    if is_unlimited(value):
        return UNLIMITED
    match = _SIZE.fullmatch(str(value))
    if not match:
        raise ValueError(f"{what}: expected a size such as 512m, 1Gi, 512MB or 536870912 (or 'max'), got {value!r}")
    number = float(match.group("num")) * _FACTORS[match.group("unit").lower()]
    return int(number)


def parse_cpus(value: object, what: str = "cpus") -> float | str:
    """Return a positive number of CPUs as a float, or UNLIMITED."""
    if is_unlimited(value):
        return UNLIMITED
    try:
        cpus = float(str(value))
    except ValueError:
        raise ValueError(f"{what}: expected a number of CPUs such as 0.5 or 2 (or 'max'), got {value!r}") from None
    if not math.isfinite(cpus):
        raise ValueError(f"{what}: expected a finite number of CPUs such as 0.5 or 2 (or 'max' for no limit), got {value!r}")
    if cpus < 0.01:
        raise ValueError(f"{what}: must be at least 0.01 (the kernel's smallest CFS quota is 1 ms per 100 ms), got {value!r}")
    return cpus


# The largest pids.max the kernel takes: PID_MAX_LIMIT on 64-bit (a larger value is EINVAL, found only at the write).
PIDS_MAX = 4 * 1024 * 1024


def parse_count(value: object, what: str) -> int | str:
    """Return a positive integer, or UNLIMITED (for pids limits)."""
    if is_unlimited(value):
        return UNLIMITED
    try:
        count = int(str(value))
    except ValueError:
        raise ValueError(f"{what}: expected a whole number (or 'max'), got {value!r}") from None
    if count < 1:
        raise ValueError(f"{what}: must be at least 1 (use 'max' for no limit), got {value!r}")
    if count > PIDS_MAX:
        raise ValueError(f"{what}: the kernel takes at most {PIDS_MAX} (its PID_MAX_LIMIT; use 'max' for no limit), got {value!r}")
    return count


def human_size(value: int | str) -> str:
    """536870912 -> '512Mi' (exact binary units only), for plans and summaries."""
    if value == UNLIMITED or not isinstance(value, int):
        return str(value)
    for suffix, factor in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if value >= factor and value % factor == 0:
            return f"{value // factor}{suffix}"
    return str(value)
