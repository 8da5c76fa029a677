# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: create and tear down the seed's pod by cri_pod's engine, by the raw CRI calls one after another, and by docker_pod's engine.

Run from the repository root (root; containerd with its CRI plugin on its socket, started by
playbooks/cri_node.yml; dockerd running; the images built by playbooks/images.yml):

    .venv/2.19/bin/python bench/cri_pod.py --n 12

Every iteration runs each method once, in a rotated order, so the noise of this shared machine
falls on every method alike; the numbers that matter are the ratios against the raw CRI floor
in the same run, paired by iteration. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from _common import (  # first: it puts the checkout's .collections on sys.path for ansible_collections below
    MEMBER_IMAGE,
    PAUSE_IMAGE,
    ApiCall,
    CriCall,
    EngineFailed,
    Method,
    Sweeper,
    host_facts,
    min_median_max,
    preflight,
    rmdir_tree_everywhere,
    rotated,
    stand_in,
    timed,
    traced_api_calls,
    traced_cri_calls,
    traced_engine_calls,
    write_results,
)

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import DEFAULT_CRI_SOCKET, CriClient, CriError
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import LOG_ROOT, CriPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, pod_uid
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC

PREFIX = f"cribench{os.getpid()}"
NAMESPACE = "podlab-bench"
LABEL_BENCH, LABEL_RUN = "io.podlab.bench", "io.podlab.bench.run"
LABELS = {LABEL_BENCH: "cri_pod", LABEL_RUN: PREFIX}
MiB = 1024 * 1024


@dataclass(frozen=True)
class Member:
    name: str
    command: tuple[str, ...]
    memory_mib: int


# The seed's Kubernetes pod (cri_pod's first example) without its init container and volume: the same shape on both runtimes.
MEMBERS = (Member("app", ("httpd", "-f", "-p", "80"), 256), Member("sidecar", ("sleep", "3650d"), 128))
# Both members limit memory, neither cpu: kubelet's Burstable class.
QOS_DIR = "burstable"


@dataclass(frozen=True)
class Pod:
    """One pod of one method and iteration."""

    name: str

    @property
    def uid(self) -> str:
        return pod_uid(NAMESPACE, self.name)  # what cri_pod derives; the raw recipe uses the same, so both make the same cgroup

    @property
    def cgroup(self) -> str:
        """kubelet's pod cgroup (cgroupfs driver), below each hierarchy's root."""
        return f"kubepods/{QOS_DIR}/pod{self.uid}"

    @property
    def log_dir(self) -> Path:
        return LOG_ROOT / f"{NAMESPACE}_{self.name}_{self.uid}"


# ---------------------------------------------------------------------------
# Methods


class RawMethod(Method):
    """The floor: what kubelet does for this pod, as bare CRI calls one after another on one client made once."""

    key, label = "raw", "raw CRI calls, sequential"

    def __init__(self, client: CriClient, layout: Layout) -> None:
        self.client = client
        self.layout = layout
        self.sandboxes: dict[str, str] = {}

    def sandbox_config(self, pod: Pod) -> dict[str, Any]:
        return {
            "metadata": {"name": pod.name, "uid": pod.uid, "namespace": NAMESPACE, "attempt": 0},
            "log_directory": str(pod.log_dir),
            "labels": dict(LABELS),
            "linux": {"cgroup_parent": f"/{pod.cgroup}",
                      "security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}},
        }

    @staticmethod
    def container_config(member: Member) -> dict[str, Any]:
        limit = member.memory_mib * MiB
        return {
            "metadata": {"name": member.name, "attempt": 0},
            "image": {"image": MEMBER_IMAGE},
            "args": list(member.command),
            "log_path": f"{member.name}.log",
            "labels": dict(LABELS),
            "linux": {"resources": {"cpu_shares": 2, "memory_limit_in_bytes": limit, "memory_swap_limit_in_bytes": limit},
                      "security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}},
        }

    def create(self, pod: Pod) -> None:
        # kubelet's pod cgroup in every hierarchy, with the pod's memory limit (the members' sum), before the sandbox.
        for path in self.layout.everywhere(pod.cgroup):
            path.mkdir(parents=True, exist_ok=True)
        if "memory" in self.layout.v1:
            limit = sum(m.memory_mib for m in MEMBERS) * MiB
            (self.layout.v1["memory"] / pod.cgroup / "memory.limit_in_bytes").write_text(str(limit))
        config = self.sandbox_config(pod)
        sandbox = self.client.run_pod_sandbox(config)
        self.sandboxes[pod.name] = sandbox
        for member in MEMBERS:
            container = self.client.create_container(sandbox, self.container_config(member), config)
            self.client.start_container(container)

    def teardown(self, pod: Pod) -> None:
        sandbox = self.sandboxes.pop(pod.name)
        self.client.stop_pod_sandbox(sandbox)
        self.client.remove_pod_sandbox(sandbox)  # its containers go with it
        shutil.rmtree(pod.log_dir, ignore_errors=True)
        rmdir_tree_everywhere(pod.cgroup, self.layout)


def member_params() -> list[dict[str, Any]]:
    return [{"name": m.name, "image": MEMBER_IMAGE, "command": list(m.command), "memory": f"{m.memory_mib}Mi"} for m in MEMBERS]


class EngineMethod(Method):
    """A pod module's manager in this process: its options validated and defaulted by Ansible's validator, then run()."""

    def __init__(self, key: str, label: str, manager: Callable[[Any], Any], spec: dict[str, Any], extra: dict[str, Any]) -> None:
        self.key, self.label = key, label
        self.manager = manager
        self.spec = spec
        self.extra = extra
        self.profile: cProfile.Profile | None = None
        self.last_actions: list[str] = []

    def _run(self, pod: Pod, state: str, wanted: str) -> None:
        params = {"name": pod.name, "state": state, "pull": "never", "labels": dict(LABELS), "containers": member_params(), **self.extra}
        module = stand_in(self.spec, params)
        run = self.manager(module).run
        result = run() if self.profile is None else self.profile.runcall(run)
        self.last_actions = result["actions"]
        if result["pod"]["state"] != wanted:
            raise EngineFailed(f"pod {pod.name} is {result['pod']['state']} after the {self.key} engine's state={state} run: {result['actions']}")

    def create(self, pod: Pod) -> None:
        self._run(pod, "started", "running")

    def teardown(self, pod: Pod) -> None:
        self._run(pod, "absent", "absent")


def cri_engine() -> EngineMethod:
    # Each run makes its own CriClient (one gRPC channel), as the module does.
    return EngineMethod("engine", "cri_pod engine (in-process)", CriPodManager, CRI_ARGUMENT_SPEC, {"namespace": NAMESPACE})


def docker_engine() -> EngineMethod:
    return EngineMethod("docker", "docker_pod engine (in-process)", DockerPodManager, ARGUMENT_SPEC, {})


# ---------------------------------------------------------------------------
# What a run makes, and removing it


def rmdir_tree(top: Path) -> None:
    """One cgroup directory and everything below it, leaf first."""
    for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda walk: -len(walk[0])):
        with contextlib.suppress(FileNotFoundError, OSError):
            os.rmdir(dirpath)


class Leftovers:
    """Every CRI sandbox and container with this run's label, every pod cgroup and log directory of its pods, the Docker pods."""

    def __init__(self, client: CriClient, layout: Layout) -> None:
        self.client = client
        self.layout = layout
        self.docker = Sweeper(PREFIX, layout)
        self.pods: set[Pod] = set()
        # kubelet's kubepods and kubepods/burstable are shared: removed at the end only where this run made them.
        self.shared = [p for rel in ("kubepods", f"kubepods/{QOS_DIR}") for p in layout.everywhere(rel)]
        self.shared_before = {p for p in self.shared if p.is_dir()}

    def sandboxes(self, pod: Pod | None = None) -> list[dict[str, Any]]:
        found = self.client.list_pod_sandboxes({LABEL_RUN: PREFIX})
        return [s for s in found if pod is None or s["metadata"]["name"] == pod.name]

    def cgroup_dirs(self, pod: Pod) -> list[Path]:
        # under any QoS class, in case the engine put it elsewhere
        return sorted(d for h in self.layout.hierarchies() for d in [*h.glob(f"kubepods/*/pod{pod.uid}"), *h.glob(f"kubepods/pod{pod.uid}")])

    def sweep(self, pod: Pod | None = None) -> None:
        """Remove what this run made: everything, or only what belongs to `pod`."""
        for sandbox in self.sandboxes(pod):
            with contextlib.suppress(CriError):
                self.client.stop_pod_sandbox(sandbox["id"])
                self.client.remove_pod_sandbox(sandbox["id"])
        for container in self.client.list_containers(labels={LABEL_RUN: PREFIX}):
            if pod is None or container["labels"].get("podlab.pod") == pod.name:
                with contextlib.suppress(CriError):
                    self.client.remove_container(container["id"])
        for one in [pod] if pod else sorted(self.pods, key=lambda p: p.name):
            shutil.rmtree(one.log_dir, ignore_errors=True)
            for path in self.cgroup_dirs(one):
                rmdir_tree(path)
        self.docker.sweep(pod.name if pod else None)
        if pod is None:
            for path in sorted(set(self.shared) - self.shared_before, key=lambda p: -len(str(p))):
                with contextlib.suppress(OSError):
                    path.rmdir()

    def report(self) -> list[str]:
        left = [f"CRI sandbox {s['metadata']['name']} {s['id'][:12]}" for s in self.sandboxes()]
        left += [f"CRI container {c['metadata']['name']} {c['id'][:12]}" for c in self.client.list_containers(labels={LABEL_RUN: PREFIX})]
        for pod in sorted(self.pods, key=lambda p: p.name):
            left += [str(d) for d in self.cgroup_dirs(pod)]
            left += [str(pod.log_dir)] if pod.log_dir.exists() else []
        left += [str(p) for p in sorted(set(self.shared) - self.shared_before) if p.is_dir()]
        return left + self.docker.report()


# ---------------------------------------------------------------------------
# Timing


@dataclass
class Samples:
    create: list[float] = field(default_factory=list)
    teardown: list[float] = field(default_factory=list)
    cycle: list[float] = field(default_factory=list)


def one_cycle(method: Method, pod: Pod, samples: Samples, leftovers: Leftovers) -> None:
    """Create and tear down one pod; on any failure remove what is left of it before raising."""
    leftovers.pods.add(pod)
    try:
        created = timed(partial(method.create, pod))
        removed = timed(partial(method.teardown, pod))
    except BaseException:
        leftovers.sweep(pod)
        raise
    samples.create.append(created)
    samples.teardown.append(removed)
    samples.cycle.append(created + removed)


def run_all(methods: list[Method], n: int, leftovers: Leftovers) -> dict[str, Samples]:
    samples = {m.key: Samples() for m in methods}
    for iteration in range(n):
        for method in rotated(methods, iteration):
            one_cycle(method, Pod(f"{PREFIX}-{method.key}-{iteration}"), samples[method.key], leftovers)
        line = "  ".join(f"{key} {s.create[-1]:.0f}/{s.teardown[-1]:.0f}" for key, s in samples.items())
        print(f"iteration {iteration + 1:>3}/{n}: create/teardown ms  {line}", flush=True)
    return samples


# ---------------------------------------------------------------------------
# --trace: the calls each method makes


@contextlib.contextmanager
def traced(cri: list[CriCall], docker_calls: list[ApiCall]) -> Iterator[None]:
    with traced_cri_calls(cri), traced_api_calls(docker_calls), traced_engine_calls(docker_calls):
        yield


def docker_call(call: ApiCall) -> str:
    """A Docker API call without its version prefix and with the container's id or name as {id}, so that calls can be counted."""
    path = re.sub(r"^/v[0-9.]+/", "/", call.path)
    return f"{call.method} {re.sub(r'^/containers/[^/]+/', '/containers/{id}/', path)}"


def outside_calls_ms(spans: list[tuple[float, float]], start: float, end: float) -> float:
    """Wall time of [start, end] during which no call (of any thread) was under way: the caller's own work."""
    busy, reach = 0.0, start
    for span_start, span_end in sorted(spans):
        begin, finish = max(span_start, reach), min(span_end, end)
        if finish > begin:
            busy += finish - begin
            reach = finish
    return (end - start - busy) * 1000


def print_calls(title: str, cri: list[CriCall], docker_calls: list[ApiCall], start: float, end: float) -> dict[str, int]:
    counts = Counter(c.method for c in cri) + Counter(docker_call(c) for c in docker_calls)
    calls = sorted([(c.start, c.ms, c.thread, c.method) for c in cri] + [(c.start, c.ms, c.thread, docker_call(c)) for c in docker_calls])
    summed = sum(ms for _s, ms, _t, _w in calls)
    own = outside_calls_ms([(s, s + ms / 1000) for s, ms, _t, _w in calls], start, end)
    print(f"\n{title}: {(end - start) * 1000:.0f} ms wall, {len(cri)} CRI calls, {len(docker_calls)} Docker API calls, "
          f"{summed:.0f} ms in calls summed over threads, {own:.1f} ms with no call under way")
    print("  " + ", ".join(f"{name} x{count}" for name, count in sorted(counts.items())))
    for begin, ms, thread, what in calls:
        print(f"  +{(begin - start) * 1000:7.1f} ms {ms:7.1f} ms  {thread[:18]:<18} {what}")
    return dict(counts)


def trace_cycle(method: Method, pod: Pod, leftovers: Leftovers) -> dict[str, dict[str, int]]:
    """One more cycle, outside the measurement, every call of this process listed in order (offsets from the step's start)."""
    leftovers.pods.add(pod)
    counts = {}
    try:
        for step, action in (("create", method.create), ("teardown", method.teardown)):
            cri: list[CriCall] = []
            docker_calls: list[ApiCall] = []
            with traced(cri, docker_calls):
                start = time.perf_counter()
                action(pod)
                end = time.perf_counter()
            counts[step] = print_calls(f"{method.key} {step} of {pod.name}", cri, docker_calls, start, end)
            if isinstance(method, EngineMethod):
                print("  actions: " + "; ".join(method.last_actions))
    finally:
        leftovers.sweep(pod)
    return counts


# ---------------------------------------------------------------------------
# Report


PAIRS = (("engine", "raw"), ("docker", "raw"), ("engine", "docker"))
TARGET = 1.1  # cri_pod create at most 1.1 x the raw CRI sequence


def paired(samples: dict[str, Samples]) -> dict[str, dict[str, float]]:
    """Per-iteration ratios (each pair ran in the same iteration, so under the same load), their median."""
    out = {}
    for top, base in PAIRS:
        if top in samples and base in samples:
            for step in ("create", "teardown", "cycle"):
                mine, theirs = getattr(samples[top], step), getattr(samples[base], step)
                ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
                out[f"{top}/{base} {step}"] = {"median_ratio": round(statistics.median(ratios), 2),
                                               "min": round(min(ratios), 2), "max": round(max(ratios), 2),
                                               "faster": sum(a < b for a, b in zip(mine, theirs, strict=True)), "of": len(mine)}
    return out


def print_report(methods: list[Method], stats: dict[str, dict[str, dict[str, float]]], pairs: dict[str, dict[str, float]]) -> bool | None:
    print("\n| method | create min/median/max ms | teardown min/median/max ms | cycle median ms |\n|---|---|---|---|")
    for m in methods:
        s = stats[m.key]
        print(f"| {m.label} | {s['create']['min']:.0f}/{s['create']['median']:.0f}/{s['create']['max']:.0f} | "
              f"{s['teardown']['min']:.0f}/{s['teardown']['median']:.0f}/{s['teardown']['max']:.0f} | {s['cycle']['median']:.0f} |")
    print()
    for name, pair in pairs.items():
        top, base = name.split(" ")[0].split("/")
        step = name.split(" ")[1]
        of_medians = stats[top][step]["median"] / stats[base][step]["median"]
        print(f"{name}: paired median {pair['median_ratio']:.2f} (range {pair['min']:.2f}-{pair['max']:.2f}), "
              f"ratio of medians {of_medians:.2f}, {top} faster in {pair['faster']}/{pair['of']}")
    if "engine/raw create" not in pairs:
        return None
    ratio = pairs["engine/raw create"]["median_ratio"]
    met = ratio <= TARGET
    print(f"target: cri_pod engine create <= {TARGET} x the raw CRI sequence (paired median): {'MET' if met else 'NOT MET'} ({ratio:.2f})")
    return met


def print_profile(profile: cProfile.Profile, lines: int) -> None:
    print(f"\ncProfile of the cri_pod engine's runs (create and teardown, every iteration, main thread), top {lines} by cumulative time:")
    pstats.Stats(profile).strip_dirs().sort_stats("cumulative").print_stats(lines)


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=12, help="iterations; each runs every method once (default 12)")
    parser.add_argument("--methods", default="engine,raw,docker", help="comma-separated subset of engine,raw,docker (default all)")
    parser.add_argument("--trace", action="store_true", help="after the run, one more cycle per method listing every CRI (and Docker) call")
    parser.add_argument("--profile", action="store_true", help="cProfile the cri_pod engine's runs and print the top functions")
    parser.add_argument("--cri-socket", default=DEFAULT_CRI_SOCKET, help=f"the CRI runtime's socket (default {DEFAULT_CRI_SOCKET})")
    return parser.parse_args(argv)


def cri_preflight(client: CriClient) -> None:
    """The CRI must answer and have the images (pull: never)."""
    for image in (MEMBER_IMAGE, f"docker.io/{PAUSE_IMAGE}"):
        if client.image_status(image) is None:
            raise SystemExit(f"image {image} is not in containerd's k8s.io namespace; run: ansible-playbook playbooks/cri_node.yml")


def make_methods(keys: list[str], client: CriClient, layout: Layout) -> list[Method]:
    known: dict[str, Callable[[], Method]] = {"engine": cri_engine, "raw": lambda: RawMethod(client, layout), "docker": docker_engine}
    unknown = [k for k in keys if k not in known]
    if unknown or not keys:
        raise SystemExit(f"unknown method(s) {unknown}; pick from {sorted(known)}")
    return [known[k]() for k in keys]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keys = [k.strip() for k in args.methods.split(",") if k.strip()]
    if not Path(args.cri_socket.removeprefix("unix://")).exists():
        raise SystemExit(f"no CRI socket at {args.cri_socket}; start containerd with: ansible-playbook playbooks/cri_node.yml")
    client = CriClient(args.cri_socket)
    cri_preflight(client)
    if "docker" in keys:
        preflight()
    layout = Layout.detect()
    methods = make_methods(keys, client, layout)
    engine = next((m for m in methods if m.key == "engine"), None)
    profile = cProfile.Profile() if args.profile else None
    if isinstance(engine, EngineMethod):
        engine.profile = profile
    leftovers = Leftovers(client, layout)
    facts = {**host_facts(), "cri": client.version()}
    print(f"cri_pod: n={args.n}, members {', '.join(f'{m.name} {m.memory_mib}Mi' for m in MEMBERS)}, methods {keys}, "
          f"{facts['cpus']} CPUs, load {facts['loadavg'][0]:.2f}, {facts['cri'].get('runtime_name')} {facts['cri'].get('runtime_version')}; "
          f"names {PREFIX}-*")
    samples: dict[str, Samples] = {}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    try:
        samples = run_all(methods, args.n, leftovers)
        if args.trace:
            if isinstance(engine, EngineMethod):
                engine.profile = None  # the traced cycles are not profiled
            for method in methods:
                counts[method.key] = trace_cycle(method, Pod(f"{PREFIX}-trace-{method.key}"), leftovers)
    finally:
        leftovers.sweep()
        left = leftovers.report()
        nothing = ("none (no CRI sandbox or container with this run's label, no pod cgroup or log directory of its pods, "
                   "no Docker pod)")
        print("leftovers: " + (", ".join(left) if left else nothing))
    if profile and engine:
        print_profile(profile, 40)
    stats = {m.key: {step: min_median_max(getattr(samples[m.key], step)) for step in ("create", "teardown", "cycle")} for m in methods}
    pairs = paired(samples)
    met = print_report(methods, stats, pairs)
    path = write_results("cri_pod", {
        "n": args.n, "members": [m.__dict__ for m in MEMBERS], "host": {**facts, "loadavg_after": os.getloadavg()},
        "methods": {m.key: {"label": m.label, **stats[m.key], "samples_ms": samples[m.key].__dict__} for m in methods},
        "paired": pairs, "target_engine_create_within_1_1_raw": met, "trace_counts": counts, "leftovers": left,
    })
    print(f"results: {path}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
