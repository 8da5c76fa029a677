# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: orders of the CRI calls that tear a pod down, against kubelet's StopPodSandbox + RemovePodSandbox.

Run from the repository root (root; containerd's CRI from playbooks/cri_node.yml):

    .venv/2.19/bin/python bench/cri_teardown.py --n 10

Each iteration makes bench/cri_pod.py's pod with its raw CRI recipe once per order, then tears it
down in that order (orders rotated by one each iteration); the medians and the ratios against
`raw`, paired by iteration, are printed. What cri_pod's engine does is `engine`. Whatever fails,
everything of the run is swept and what is left printed; the exit code is then 1. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import cri_pod
from _common import rmdir_tree_everywhere, rotated, timed

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient

Teardown = Callable[[CriClient, str, list[str]], None]


def raw(client: CriClient, sandbox: str, containers: list[str]) -> None:
    """kubelet's: the sandbox stopped (its containers with it), then removed."""
    client.stop_pod_sandbox(sandbox)
    client.remove_pod_sandbox(sandbox)


def engine(client: CriClient, sandbox: str, containers: list[str]) -> None:
    """cri_pod's: the containers removed at once, then the sandbox stopped and removed."""
    with ThreadPoolExecutor(max_workers=len(containers) or 1) as pool:
        list(pool.map(client.remove_container, containers))
    raw(client, sandbox, containers)


def all_at_once(client: CriClient, sandbox: str, containers: list[str]) -> None:
    """The containers removed while the sandbox stops, then the sandbox removed."""
    with ThreadPoolExecutor(max_workers=len(containers) + 1) as pool:
        futures = [pool.submit(client.remove_container, c) for c in containers] + [pool.submit(client.stop_pod_sandbox, sandbox)]
    for future in futures:
        future.result()
    client.remove_pod_sandbox(sandbox)


def stop_first(client: CriClient, sandbox: str, containers: list[str]) -> None:
    """The containers stopped at once (timeout 0), then the sandbox stopped and removed."""
    with ThreadPoolExecutor(max_workers=len(containers) or 1) as pool:
        list(pool.map(lambda c: client.stop_container(c, 0), containers))
    raw(client, sandbox, containers)


def remove_only(client: CriClient, sandbox: str, containers: list[str]) -> None:
    """RemovePodSandbox alone (containerd stops a running sandbox first)."""
    client.remove_pod_sandbox(sandbox)


ORDERS: dict[str, Teardown] = {"raw": raw, "engine": engine, "all_at_once": all_at_once, "stop_first": stop_first,
                               "remove_only": remove_only}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=10, help="iterations (default 10)")
    args = parser.parse_args(argv)
    client, layout = CriClient(), Layout.detect()
    recipe = cri_pod.RawMethod(client, layout)
    leftovers = cri_pod.Leftovers(client, layout)
    samples: dict[str, list[float]] = {key: [] for key in ORDERS}
    print(f"cri_teardown: n={args.n}, orders {list(ORDERS)}; names {cri_pod.PREFIX}-*", flush=True)
    try:
        for iteration in range(args.n):
            for key in rotated(list(ORDERS), iteration):
                pod = cri_pod.Pod(f"{cri_pod.PREFIX}-{key.replace('_', '')}-{iteration}")
                recipe.create(pod)
                sandbox = recipe.sandboxes.pop(pod.name)
                containers = [c["id"] for c in client.list_containers(sandbox)]
                samples[key].append(timed(partial(ORDERS[key], client, sandbox, containers)))
                shutil.rmtree(pod.log_dir, ignore_errors=True)
                rmdir_tree_everywhere(pod.cgroup, layout)
            print(f"iteration {iteration + 1:>3}/{args.n}: " + "  ".join(f"{k} {v[-1]:.0f}" for k, v in samples.items()), flush=True)
    finally:
        leftovers.sweep()
        left = leftovers.report()
        print("leftovers: " + (", ".join(left) if left else "none"))
    print("\n| order | median ms | paired / raw | faster than raw in |\n|---|---|---|---|")
    for key, values in samples.items():
        ratios = [a / b for a, b in zip(values, samples["raw"], strict=True)]
        faster = sum(a < b for a, b in zip(values, samples["raw"], strict=True))
        print(f"| {key} | {statistics.median(values):.0f} | {statistics.median(ratios):.2f} | {faster}/{len(values)} |")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
