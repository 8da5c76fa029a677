# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: create and tear down a 3-member pod by the docker_pod engine, the Docker CLI and the Docker SDK.

Run from the repository root (root, dockerd running, images built by playbooks/images.yml):

    .venv/2.19/bin/python bench/pod_create.py --n 20

Every iteration runs each method once, in a rotated order (round-robin), so the
noise of this shared machine falls on every method alike; the numbers that
matter are the ratios within one run. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import docker
from _common import (  # first: it puts the checkout's .collections on sys.path for ansible_collections below
    MEMBER_COMMAND,
    MEMBER_IMAGE,
    PAUSE_IMAGE,
    ROOT,
    ApiCall,
    EngineFailed,
    Method,
    Sweeper,
    host_facts,
    min_median_max,
    preflight,
    print_trace,
    rmdir_everywhere,
    rotated,
    stand_in,
    timed,
    traced_api_calls,
    traced_engine_calls,
    write_results,
)

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC

PREFIX = f"podbench{os.getpid()}"


# ---------------------------------------------------------------------------
# The pod, and the host's cgroup hierarchies


@dataclass(frozen=True)
class Pod:
    """One pod of one iteration: its names and what its members ask for."""

    name: str
    members: int
    memory: str

    @property
    def sandbox(self) -> str:
        return f"{self.name}_sandbox"

    @property
    def member_names(self) -> list[str]:
        return [f"{self.name}_m{i}" for i in range(1, self.members + 1)]

    @property
    def cgroup(self) -> str:
        """The cgroup parent the CLI and SDK recipes use (the engine names its own: pod-NAME)."""
        return f"/{self.name}"


# ---------------------------------------------------------------------------
# Methods


class CliMethod(Method):
    """The seed's recipe: docker run for the sandbox, then each member, one process after another."""

    key, label = "cli", "Docker CLI recipe"

    def __init__(self, layout: Layout) -> None:
        self.docker = shutil.which("docker") or "docker"
        self.layout = layout

    def _docker(self, *args: str) -> None:
        subprocess.run([self.docker, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def create(self, pod: Pod) -> None:
        self._docker("run", "-d", "--name", pod.sandbox, "--cgroup-parent", pod.cgroup, "--ipc", "shareable", PAUSE_IMAGE)
        for member in pod.member_names:
            self._docker("run", "-d", "--name", member, "--cgroup-parent", pod.cgroup, "--network", f"container:{pod.sandbox}",
                         "--ipc", f"container:{pod.sandbox}", "--memory", pod.memory, MEMBER_IMAGE, *MEMBER_COMMAND)

    def teardown(self, pod: Pod) -> None:
        self._docker("rm", "-f", *pod.member_names)
        self._docker("rm", "-f", pod.sandbox)
        rmdir_everywhere(pod.cgroup, self.layout)


class SdkMethod(Method):
    """The floor: the low-level Docker SDK in this process, one call after another, one client made once."""

    key, label = "sdk", "Docker SDK, sequential"

    def __init__(self, layout: Layout) -> None:
        self.api = docker.APIClient(version="auto")
        self.layout = layout

    def create(self, pod: Pod) -> None:
        api = self.api
        host = api.create_host_config(cgroup_parent=pod.cgroup, ipc_mode="shareable")
        sandbox = api.create_container(PAUSE_IMAGE, name=pod.sandbox, host_config=host, detach=True)["Id"]
        api.start(sandbox)
        joined = f"container:{sandbox}"
        for member in pod.member_names:
            host = api.create_host_config(cgroup_parent=pod.cgroup, network_mode=joined, ipc_mode=joined, mem_limit=pod.memory)
            container = api.create_container(MEMBER_IMAGE, command=MEMBER_COMMAND, name=member, host_config=host, detach=True)["Id"]
            api.start(container)

    def teardown(self, pod: Pod) -> None:
        for name in [*pod.member_names, pod.sandbox]:
            self.api.remove_container(name, force=True)
        rmdir_everywhere(pod.cgroup, self.layout)


def pod_params(pod: Pod, state: str) -> dict[str, Any]:
    """The docker_pod task for this pod, as a user would write it."""
    return {
        "name": pod.name,
        "state": state,
        "pull": "never",
        "containers": [
            {"name": name.rsplit("_", 1)[1], "image": MEMBER_IMAGE, "command": MEMBER_COMMAND, "memory": pod.memory}
            for name in pod.member_names
        ],
    }


class EngineMethod(Method):
    """docker_pod's engine in this process: validation, DockerPodManager.run(), a fresh Docker client per run as in the module."""

    key, label = "engine", "docker_pod engine (in-process)"

    def __init__(self) -> None:
        self.profile: cProfile.Profile | None = None

    def _run(self, pod: Pod, state: str) -> dict[str, Any]:
        module = stand_in(ARGUMENT_SPEC, pod_params(pod, state))
        if self.profile is None:
            return DockerPodManager(module).run()
        return self.profile.runcall(DockerPodManager(module).run)

    def create(self, pod: Pod) -> None:
        result = self._run(pod, "started")
        if result["pod"]["state"] != "running":
            raise EngineFailed(f"pod {pod.name} is {result['pod']['state']} after the engine's run: {result['actions']}")

    def teardown(self, pod: Pod) -> None:
        result = self._run(pod, "absent")
        if result["pod"]["state"] != "absent":
            raise EngineFailed(f"pod {pod.name} is {result['pod']['state']} after the engine's state=absent run: {result['actions']}")


class AnsibleMethod(Method):
    """The module through real Ansible: one ad-hoc `ansible localhost -m podlab.playground.docker_pod` per step."""

    key, label = "ansible", "docker_pod via ansible (ad hoc)"

    def __init__(self) -> None:
        self.ansible = str(Path(sys.executable).parent / "ansible")
        # ansible.cfg in the repository root links the checkout in as the collection and names localhost.
        self.env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}

    def _run(self, pod: Pod, state: str) -> None:
        argv = [self.ansible, "localhost", "-m", "podlab.playground.docker_pod", "-a", json.dumps(pod_params(pod, state))]
        proc = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise EngineFailed(f"{' '.join(argv[:4])} ... failed (rc={proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    def create(self, pod: Pod) -> None:
        self._run(pod, "started")

    def teardown(self, pod: Pod) -> None:
        self._run(pod, "absent")


# ---------------------------------------------------------------------------
# Timing


@dataclass
class Samples:
    create: list[float] = field(default_factory=list)
    teardown: list[float] = field(default_factory=list)
    cycle: list[float] = field(default_factory=list)


def one_cycle(method: Method, pod: Pod, samples: Samples, sweep: Callable[[Pod], None]) -> None:
    """Create and tear down one pod; on any failure remove what is left before raising."""
    try:
        created = timed(partial(method.create, pod))
        removed = timed(partial(method.teardown, pod))
    except BaseException:
        sweep(pod)
        raise
    samples.create.append(created)
    samples.teardown.append(removed)
    samples.cycle.append(created + removed)


def run_all(methods: list[Method], n: int, pod_of: Callable[[Method, int], Pod], sweep: Callable[[Pod], None]) -> dict[str, Samples]:
    samples = {m.key: Samples() for m in methods}
    for iteration in range(n):
        for method in rotated(methods, iteration):
            one_cycle(method, pod_of(method, iteration), samples[method.key], sweep)
        line = "  ".join(f"{key} {s.create[-1]:.0f}/{s.teardown[-1]:.0f}" for key, s in samples.items())
        print(f"iteration {iteration + 1:>3}/{n}: create/teardown ms  {line}", flush=True)
    return samples


# ---------------------------------------------------------------------------
# Tracing the engine's Docker API calls (--trace)


def trace_cycle(method: Method, pod: Pod, sweep: Callable[[Pod], None]) -> None:
    """One extra cycle, outside the measurement, with every Docker API call of this process listed in order."""
    try:
        for step, action in (("create", method.create), ("teardown", method.teardown)):
            calls: list[ApiCall] = []
            with traced_api_calls(calls), traced_engine_calls(calls):
                ms = timed(partial(action, pod))
            calls.sort(key=lambda call: call.start)
            print_trace(f"{method.key} {step} of {pod.name}", calls, ms)
    finally:
        sweep(pod)


# ---------------------------------------------------------------------------
# Report


def summary(samples: Samples) -> dict[str, dict[str, float]]:
    return {step: min_median_max(values) for step, values in (("create", samples.create), ("teardown", samples.teardown), ("cycle", samples.cycle))}


def ratios(stats: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """Ratios of medians: the engine against each baseline, and Ansible against the bare engine (its overhead)."""
    out = {}
    for top, base in (("engine", "sdk"), ("engine", "cli"), ("ansible", "engine")):
        if top in stats and base in stats:
            for step in ("create", "teardown", "cycle"):
                out[f"{top}/{base} {step}"] = round(stats[top][step]["median"] / stats[base][step]["median"], 2)
    return out


def paired(samples: dict[str, Samples]) -> dict[str, dict[str, float]]:
    """Per-iteration comparisons (the methods ran side by side in each iteration, so each pair saw the same load)."""
    out = {}
    for base in ("sdk", "cli"):
        if "engine" in samples and base in samples:
            for step in ("create", "teardown"):
                mine, theirs = getattr(samples["engine"], step), getattr(samples[base], step)
                out[f"engine/{base} {step}"] = {
                    "median_ratio": round(statistics.median(a / b for a, b in zip(mine, theirs, strict=True)), 2),
                    "engine_faster": sum(a < b for a, b in zip(mine, theirs, strict=True)),
                    "of": len(mine),
                }
    return out


def ansible_overhead(stats: dict[str, dict[str, dict[str, float]]]) -> str | None:
    if "ansible" not in stats or "engine" not in stats:
        return None
    extra = {step: stats["ansible"][step]["median"] - stats["engine"][step]["median"] for step in ("create", "teardown")}
    return f"Ansible's own cost per task (ansible median - engine median): create +{extra['create']:.0f} ms, teardown +{extra['teardown']:.0f} ms"


def print_table(methods: list[Method], stats: dict[str, dict[str, dict[str, float]]]) -> None:
    print("\n| method | create min/median ms | teardown min/median ms | cycle median ms |\n|---|---|---|---|")
    for m in methods:
        s = stats[m.key]
        print(f"| {m.label} | {s['create']['min']:.0f}/{s['create']['median']:.0f} | "
              f"{s['teardown']['min']:.0f}/{s['teardown']['median']:.0f} | {s['cycle']['median']:.0f} |")


TARGET = 0.8  # the engine's create and teardown against the sequential SDK floor, paired by iteration


def target_met(samples: dict[str, Samples]) -> dict[str, bool] | None:
    """The goal: the engine creates and tears down the pod in at most TARGET times the sequential SDK's time, the median of
    the ratios paired by iteration."""
    pairs = paired(samples)
    if "engine/sdk create" not in pairs:
        return None
    return {step: pairs[f"engine/sdk {step}"]["median_ratio"] <= TARGET for step in ("create", "teardown")}


@dataclass
class Outcome:
    """Everything one run measured, for the table and the JSON file."""

    args: argparse.Namespace
    methods: list[Method]
    samples: dict[str, Samples]
    facts: dict[str, Any]
    left: list[str]

    @property
    def stats(self) -> dict[str, dict[str, dict[str, float]]]:
        return {m.key: summary(self.samples[m.key]) for m in self.methods}


def save(run: Outcome) -> Path:
    stats, args = run.stats, run.args
    return write_results("pod_create", {
        "n": args.n, "members": args.members, "member_memory": args.memory,
        "host": {**run.facts, "loadavg_after": os.getloadavg()},
        "methods": {m.key: {"label": m.label, **stats[m.key], "samples_ms": run.samples[m.key].__dict__} for m in run.methods},
        "ratios": ratios(stats), "paired": paired(run.samples), f"target_at_most_{TARGET}_of_sdk_paired": target_met(run.samples), "leftovers": run.left,
    })


def print_profile(profile: cProfile.Profile, lines: int) -> None:
    print(f"\ncProfile of the engine's runs (create and teardown, every iteration), top {lines} by cumulative time:")
    pstats.Stats(profile).strip_dirs().sort_stats("cumulative").print_stats(lines)


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=10, help="iterations; each runs every method once (default 10, at least 10 for the docs)")
    parser.add_argument("--members", type=int, default=3, help="members per pod (default 3)")
    parser.add_argument("--memory", default="64m", help="memory limit of each member (default 64m)")
    parser.add_argument("--methods", default="engine,sdk,cli,ansible", help="comma-separated subset of engine,sdk,cli,ansible")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine's runs and print the top functions")
    parser.add_argument("--trace", action="store_true", help="after the run, one more engine cycle listing every Docker API call")
    return parser.parse_args(argv)


def make_methods(keys: list[str], layout: Layout) -> list[Method]:
    known: dict[str, Callable[[], Method]] = {
        "engine": EngineMethod, "sdk": lambda: SdkMethod(layout), "cli": lambda: CliMethod(layout), "ansible": AnsibleMethod,
    }
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; pick from {sorted(known)}")
    return [known[k]() for k in keys]


def report(run: Outcome) -> None:
    stats = run.stats
    print_table(run.methods, stats)
    for name, value in ratios(stats).items():
        print(f"{name} (medians): {value:.2f}")
    for name, pair in paired(run.samples).items():
        print(f"{name} paired by iteration: median ratio {pair['median_ratio']:.2f}, engine faster in {pair['engine_faster']}/{pair['of']}")
    overhead = ansible_overhead(stats)
    if overhead:
        print(overhead)
    met = target_met(run.samples)
    if met is not None:
        pairs = paired(run.samples)
        for step, ok in met.items():
            print(f"target: engine {step} <= {TARGET} x the sequential SDK floor (paired median): {'MET' if ok else 'NOT MET'} "
                  f"({pairs[f'engine/sdk {step}']['median_ratio']:.2f})")
    print(f"results: {save(run)}")


def traced(methods: list[Method], engine: EngineMethod | None, pod_of: Callable[[str], Pod], sweep: Callable[[Pod], None]) -> None:
    """--trace: the in-process methods once more, each API call listed (the CLI and Ansible calls are in other processes)."""
    if engine:
        engine.profile = None
    for method in methods:
        if method.key in ("engine", "sdk"):
            trace_cycle(method, pod_of(method.key), sweep)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preflight()
    layout = Layout.detect()
    methods = make_methods([k.strip() for k in args.methods.split(",") if k.strip()], layout)
    engine = next((m for m in methods if isinstance(m, EngineMethod)), None)
    if engine and args.profile:
        engine.profile = cProfile.Profile()
    sweeper = Sweeper(PREFIX, layout)

    def sweep(pod: Pod) -> None:
        sweeper.sweep(pod.name)

    facts = host_facts()
    print(f"pod_create: n={args.n}, {args.members} members of {args.memory}, methods {[m.key for m in methods]}, "
          f"{facts['cpus']} CPUs, load {facts['loadavg'][0]:.2f}; names {PREFIX}-*")

    def pod_of(method: Method, iteration: int) -> Pod:
        return Pod(f"{PREFIX}-{method.key}-{iteration}", args.members, args.memory)

    try:
        samples = run_all(methods, args.n, pod_of, sweep)
        if args.trace:
            traced(methods, engine, lambda key: Pod(f"{PREFIX}-trace-{key}", args.members, args.memory), sweep)
    finally:
        sweeper.sweep()
        left = sweeper.report()
        print("leftovers: " + (", ".join(left) if left else "none (no container or cgroup of this run is left)"))
    if engine and engine.profile:
        print_profile(engine.profile, 40)
    report(Outcome(args, methods, samples, facts, left))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
