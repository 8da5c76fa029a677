# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: cgroup limits as the kernel shows them: the v1 and v2 limit files read back and
normalised, the CFS quota and the CPU weight in both units. Not a public API."""
from __future__ import annotations

import os
from collections.abc import Mapping

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import read_file
from ansible_collections.podlab.playground.plugins.module_utils._units import UNLIMITED

CFS_PERIOD_US = 100000
# v1 reads "no memory limit" back as PAGE_COUNTER_MAX * PAGE_SIZE; anything this large is unlimited.
V1_UNLIMITED_FLOOR = 1 << 62


def shares_to_weight(shares: int) -> int:
    """cpu.shares (v1, 2..262144) -> cpu.weight (v2, 1..10000), runc's linear mapping."""
    return 1 + ((shares - 2) * 9999) // 262142


def weight_to_shares(weight: int) -> int:
    """cpu.weight (v2) -> cpu.shares (v1), the inverse of shares_to_weight."""
    return 2 + ((weight - 1) * 262142) // 9999


def _norm_bytes(text: str | None, version: int) -> int | str | None:
    if text is None:
        return None
    if text in ("max", "-1"):
        return UNLIMITED
    value = int(text)
    return UNLIMITED if version == 1 and value >= V1_UNLIMITED_FLOOR else value


def _norm_count(text: str | None) -> int | str | None:
    if text is None:
        return None
    return UNLIMITED if text in ("max", "-1") else int(text)


def cpu_quota(cpus: float | str | None) -> str:
    """CFS quota in microseconds per CFS_PERIOD_US for a number of CPUs (the kernel's floor is 1 ms)."""
    if cpus is None or cpus == UNLIMITED:
        return UNLIMITED
    return str(max(1000, round(float(cpus) * CFS_PERIOD_US)))


def _cpus_from_quota(quota: str | None, period: str | None) -> float | str | None:
    if quota is None:
        return None
    if quota in ("max", "-1"):
        return UNLIMITED
    return round(int(quota) / int(period or CFS_PERIOD_US), 4)


def read_limits(version: int, paths: Mapping[str, str | os.PathLike[str]]) -> dict[str, object]:
    """The limits the kernel enforces on a cgroup, normalised; {} if it does not exist.

    paths: the cgroup's directory per controller ('memory', 'cpu', 'pids' on v1; 'unified' on v2). The files are
    read without a stat of the directories first (only when none is there), paths joined as strings: ns_facts
    reads six files for each of a playground's containers.
    """
    def exists(*controllers: str) -> bool:  # asked only when no limit file was there
        return any(paths.get(c) is not None and os.path.isdir(paths[c]) for c in controllers)

    def read(controller: str, name: str) -> str | None:
        directory = paths.get(controller)
        return read_file(f"{os.fspath(directory)}/{name}") if directory is not None else None

    if version == 2:
        cpu_max = read("unified", "cpu.max")
        memory_text, swap_text = read("unified", "memory.max"), read("unified", "memory.swap.max")
        weight, pids_max = read("unified", "cpu.weight"), read("unified", "pids.max")
        if cpu_max is None and memory_text is None and weight is None and pids_max is None and not exists("unified"):
            return {}
        quota_period = (cpu_max or "").split()
        memory, swap = _norm_bytes(memory_text, 2), _norm_bytes(swap_text, 2)
        return {
            "memory": memory,
            "memory_swap": (memory + swap) if isinstance(memory, int) and isinstance(swap, int) else (UNLIMITED if swap == UNLIMITED else None),
            "cpus": _cpus_from_quota(*quota_period) if len(quota_period) == 2 else None,
            "cpu_weight": int(weight) if weight else None,
            "cpu_shares": weight_to_shares(int(weight)) if weight else None,
            "pids_max": _norm_count(pids_max),
        }
    memory_text, memsw = read("memory", "memory.limit_in_bytes"), read("memory", "memory.memsw.limit_in_bytes")
    quota, period, shares = read("cpu", "cpu.cfs_quota_us"), read("cpu", "cpu.cfs_period_us"), read("cpu", "cpu.shares")
    pids_max = read("pids", "pids.max")
    if memory_text is None and quota is None and shares is None and pids_max is None and not exists("memory", "cpu", "pids"):
        return {}
    return {
        "memory": _norm_bytes(memory_text, 1),
        "memory_swap": _norm_bytes(memsw, 1),
        "cpus": _cpus_from_quota(quota, period),
        "cpu_shares": int(shares) if shares else None,
        "cpu_weight": shares_to_weight(int(shares)) if shares else None,
        "pids_max": _norm_count(pids_max),
    }
