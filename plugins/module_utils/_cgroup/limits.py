# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: cgroup limits as the kernel shows them: the v1 and v2 limit files read back and
normalised, the CFS quota and the CPU weight in both units. Not a public API."""
from __future__ import annotations

from pathlib import Path

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


def read_limits(version: int, paths: dict[str, Path]) -> dict[str, object]:
    """The limits the kernel enforces on a cgroup, normalised; {} if it does not exist.

    paths: the cgroup's directory per controller ('memory', 'cpu', 'pids' on v1; 'unified' on v2).
    """
    if version == 2:
        p = paths["unified"]
        if not p.is_dir():
            return {}
        cpu_max = (read_file(p / "cpu.max") or "").split()
        memory = _norm_bytes(read_file(p / "memory.max"), 2)
        swap = _norm_bytes(read_file(p / "memory.swap.max"), 2)
        weight = read_file(p / "cpu.weight")
        return {
            "memory": memory,
            "memory_swap": (memory + swap) if isinstance(memory, int) and isinstance(swap, int) else (UNLIMITED if swap == UNLIMITED else None),
            "cpus": _cpus_from_quota(*cpu_max) if len(cpu_max) == 2 else None,
            "cpu_weight": int(weight) if weight else None,
            "cpu_shares": weight_to_shares(int(weight)) if weight else None,
            "pids_max": _norm_count(read_file(p / "pids.max")),
        }
    mem, cpu, pids = paths.get("memory"), paths.get("cpu"), paths.get("pids")
    if not any(p and p.is_dir() for p in (mem, cpu, pids)):
        return {}
    shares = read_file(cpu / "cpu.shares") if cpu else None
    return {
        "memory": _norm_bytes(read_file(mem / "memory.limit_in_bytes"), 1) if mem else None,
        "memory_swap": _norm_bytes(read_file(mem / "memory.memsw.limit_in_bytes"), 1) if mem else None,
        "cpus": _cpus_from_quota(read_file(cpu / "cpu.cfs_quota_us"), read_file(cpu / "cpu.cfs_period_us")) if cpu else None,
        "cpu_shares": int(shares) if shares else None,
        "cpu_weight": shares_to_weight(int(shares)) if shares else None,
        "pids_max": _norm_count(read_file(pids / "pids.max")) if pids else None,
    }
