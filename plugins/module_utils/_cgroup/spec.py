# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the cgroup request, validated and normalised (CgroupSpec). Not a public API."""
from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.limits import shares_to_weight, weight_to_shares
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.names import split_name
from ansible_collections.podlab.playground.plugins.module_utils._units import (
    UNLIMITED,
    human_size,
    parse_count,
    parse_cpus,
    parse_size,
)


@dataclass(frozen=True)
class CgroupSpec:
    """The request, validated and normalised. None means 'not managed'."""

    name: str
    segments: tuple[str, ...]
    memory: int | str | None = None
    memory_swap: int | str | None = None
    cpus: float | str | None = None
    cpu_weight: int | None = None
    cpu_shares: int | None = None
    pids_max: int | str | None = None

    @classmethod
    def from_params(cls, params: dict, page_size: int) -> "CgroupSpec":
        segments = tuple(split_name(params["name"]))
        try:
            memory = _round_page(parse_size(params["memory"], "memory"), page_size) if params.get("memory") is not None else None
            swap = (
                _round_page(parse_size(params["memory_swap"], "memory_swap"), page_size)
                if params.get("memory_swap") is not None
                else None
            )
            cpus = parse_cpus(params["cpus"]) if params.get("cpus") is not None else None
            pids = parse_count(params["pids_max"], "pids_max") if params.get("pids_max") is not None else None
        except ValueError as exc:
            raise CgroupError(str(exc)) from None
        weight, shares = params.get("cpu_weight"), params.get("cpu_shares")
        if weight is not None and shares is not None:
            raise CgroupError("cpu_weight and cpu_shares say the same thing; set only one")
        if weight is not None and not 1 <= weight <= 10000:
            raise CgroupError(f"cpu_weight must be between 1 and 10000 (100 is the default share), got {weight}")
        if shares is not None and not 2 <= shares <= 262144:
            raise CgroupError(f"cpu_shares must be between 2 and 262144 (1024 is the default share), got {shares}")
        if swap is not None:
            if memory is None or memory == UNLIMITED:
                raise CgroupError("memory_swap needs a memory limit too: it is the total of memory and swap, as in docker run")
            if isinstance(swap, int) and isinstance(memory, int) and swap < memory:
                raise CgroupError(
                    f"memory_swap ({human_size(swap)}) is memory plus swap and cannot be below memory ({human_size(memory)})"
                )
        if isinstance(memory, int) and memory < page_size:
            raise CgroupError(f"memory must be at least one page ({page_size} bytes), got {params['memory']!r}")
        return cls(params["name"], segments, memory, swap, cpus, weight, shares, pids)

    @property
    def relpath(self) -> str:
        return "/".join(self.segments)

    @property
    def swap_only(self) -> int | str | None:
        """Swap alone (v2's memory.swap.max, systemd's MemorySwapMax=): memory_swap minus memory."""
        if self.memory_swap is None or self.memory_swap == UNLIMITED:
            return self.memory_swap
        return as_int(self.memory_swap) - as_int(self.memory)

    @property
    def cpu_weight_v2(self) -> int | None:
        """The CPU weight in cgroup v2 units, whichever unit the user gave."""
        return self.cpu_weight if self.cpu_weight is not None else (shares_to_weight(self.cpu_shares) if self.cpu_shares else None)

    @property
    def cpu_shares_v1(self) -> int | None:
        """The CPU weight in cgroup v1 units, whichever unit the user gave."""
        return self.cpu_shares if self.cpu_shares is not None else (weight_to_shares(self.cpu_weight) if self.cpu_weight else None)


def as_int(value: object) -> int:
    if isinstance(value, (int, str)):
        return int(value)
    raise CgroupError(f"expected a whole number, got {value!r}")


def _round_page(value: int | str, page_size: int) -> int | str:
    # The kernel rounds memory limits down to whole pages; compare what it will read back.
    return value if value == UNLIMITED else (int(value) // page_size) * page_size
