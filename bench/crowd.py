# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: one probe pod's create and teardown with few pods up and with many up, and which calls grow.

Run from the repository root (root; dockerd with the images of playbooks/images.yml; for --runtime cri
containerd's CRI from playbooks/cri_node.yml):

    .venv/2.19/bin/python bench/crowd.py --runtime docker
    .venv/2.19/bin/python bench/crowd.py --runtime cri

bench/scale.py says whether a pod costs more among 100 than among 10; this says where the difference
lies. --base pods stay up throughout; each round measures --probes probe pods (create, then teardown)
with only those up, adds --crowd pods, measures as many probes again, and removes the crowd; a last set
of probes with few up closes the run, so the "few" probes come before and after the "many" ones and a
drift of the machine's load falls on both. Every call of each probe is recorded (Docker API calls over
the engine's own connection; CRI calls) and summed per kind, and the medians with few and with many up
are printed side by side. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

import cri_pod
import pod_create
from _common import Sweeper, timed, traced_cri_calls, traced_engine_calls  # first: it puts the checkout's collection on sys.path

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient


def docker_call(call: Any) -> str:
    if call.method != "GET":
        return f"{call.method} (container or volume)"
    if call.path.startswith("/containers/") and call.path != "/containers/json":
        return "GET /containers/<id>/json"
    return f"GET {call.path}"


class Runtime:
    """What the probes need of a runtime: its engine, pods, the tracer, how calls are grouped, the sweep."""

    def __init__(self, name: str) -> None:
        layout = Layout.detect()
        if name == "docker":
            self.prefix = pod_create.PREFIX
            self.method: Any = pod_create.EngineMethod()
            self.pod: Callable[[str], Any] = lambda pod_name: pod_create.Pod(pod_name, 3, "64m")
            self.tracer: Callable[[list], Any] = traced_engine_calls
            self.kind: Callable[[Any], str] = docker_call
            sweeper = Sweeper(pod_create.PREFIX, layout)
            self.sweep: Callable[[], None] = sweeper.sweep
            self.left: Callable[[], list[str]] = sweeper.report
        else:
            self.prefix = cri_pod.PREFIX
            self.method = cri_pod.cri_engine()
            self.pod = cri_pod.Pod
            self.tracer = traced_cri_calls
            self.kind = lambda call: call.method
            leftovers = cri_pod.Leftovers(CriClient(), layout)
            self.sweep = leftovers.sweep
            self.left = leftovers.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runtime", choices=("docker", "cri"), default="docker")
    parser.add_argument("--base", type=int, default=10, help="pods up throughout (default 10)")
    parser.add_argument("--crowd", type=int, default=50, help="pods added for the 'many' probes (default 50)")
    parser.add_argument("--rounds", type=int, default=2, help="few/many rounds (default 2)")
    parser.add_argument("--probes", type=int, default=4, help="probe pods per set (default 4)")
    args = parser.parse_args(argv)
    runtime = Runtime(args.runtime)
    samples: dict[str, dict[str, list[float]]] = {"few": defaultdict(list), "many": defaultdict(list)}
    made = 0

    def probe(label: str) -> None:
        nonlocal made
        for _probe in range(args.probes):
            made += 1
            pod = runtime.pod(f"{runtime.prefix}-probe-{made}")
            for step, action in (("create", runtime.method.create), ("teardown", runtime.method.teardown)):
                calls: list[Any] = []
                with runtime.tracer(calls):
                    samples[label][step].append(timed(partial(action, pod)))
                per_kind: dict[str, float] = defaultdict(float)
                for call in calls:
                    per_kind[runtime.kind(call)] += call.ms
                for kind, ms in per_kind.items():
                    samples[label][f"{step}:{kind}"].append(ms)

    print(f"crowd: {args.runtime}, {args.base} pods up, {args.base + args.crowd} for 'many', {args.rounds} rounds of "
          f"{args.probes} probes; names {runtime.prefix}-*", flush=True)
    try:
        base = [runtime.pod(f"{runtime.prefix}-base-{i}") for i in range(args.base)]
        for pod in base:
            runtime.method.create(pod)
        for round_ in range(args.rounds):
            probe("few")
            crowd = [runtime.pod(f"{runtime.prefix}-crowd{round_}-{i}") for i in range(args.crowd)]
            for pod in crowd:
                runtime.method.create(pod)
            probe("many")
            for pod in crowd:
                runtime.method.teardown(pod)
        probe("few")
        for pod in base:
            runtime.method.teardown(pod)
    finally:
        runtime.sweep()
        left = runtime.left()
        print("leftovers: " + (", ".join(left) if left else "none"))
    few, many = samples["few"], samples["many"]
    for step in ("create", "teardown"):
        a, b = statistics.median(few[step]), statistics.median(many[step])
        print(f"\n{step}: {args.base} up {a:.0f} ms, {args.base + args.crowd} up {b:.0f} ms (medians), ratio {b / a:.2f}")
        print("  calls of one probe, summed over threads (median ms):")
        for key in sorted(k for k in few if k.startswith(f"{step}:")):
            print(f"  {key.split(':', 1)[1]:<34} {statistics.median(few[key]):8.1f} -> {statistics.median(many.get(key) or [0.0]):8.1f}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
