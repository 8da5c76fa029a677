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
import contextlib
import cProfile
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))

# pylint: disable=wrong-import-position
import docker  # noqa: E402
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager  # noqa: E402
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC  # noqa: E402

# pylint: enable=wrong-import-position

PAUSE_IMAGE = "podlab/pause:1"
MEMBER_IMAGE = "podlab/busybox:1"
MEMBER_COMMAND = ["sleep", "infinity"]
RESULTS = ROOT / "bench" / "results"
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


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers, name=systemd, unified): runc creates a parent in all of them."""
    seen: list[Path] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, sep, right = line.partition(" - ")
        if sep and right.split()[0] in ("cgroup", "cgroup2"):
            mount = Path(left.split()[4])
            if mount not in seen:
                seen.append(mount)
    return seen


def rmdir_everywhere(relpath: str, hierarchies: list[Path]) -> None:
    """What the recipes do after docker rm: runc never removes the parent it made."""
    for hierarchy in hierarchies:
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(hierarchy / relpath.lstrip("/"))


# ---------------------------------------------------------------------------
# Methods


class Method:
    """One way of making and removing the pod. create() and teardown() are what is timed."""

    key = ""
    label = ""

    def create(self, pod: Pod) -> None:
        raise NotImplementedError

    def teardown(self, pod: Pod) -> None:
        raise NotImplementedError


class CliMethod(Method):
    """The seed's recipe: docker run for the sandbox, then each member, one process after another."""

    key, label = "cli", "Docker CLI recipe"

    def __init__(self, hierarchies: list[Path]) -> None:
        self.docker = shutil.which("docker") or "docker"
        self.hierarchies = hierarchies

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
        rmdir_everywhere(pod.cgroup, self.hierarchies)


class SdkMethod(Method):
    """The floor: the low-level Docker SDK in this process, one call after another, one client made once."""

    key, label = "sdk", "Docker SDK, sequential"

    def __init__(self, hierarchies: list[Path]) -> None:
        self.api = docker.APIClient(version="auto")
        self.hierarchies = hierarchies

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
        rmdir_everywhere(pod.cgroup, self.hierarchies)


class EngineFailed(Exception):
    """fail_json was called: the engine gave up with this message."""


class StandInModule:
    """The few AnsibleModule members DockerPodManager uses, without a module process."""

    check_mode = False

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def fail_json(self, msg: str, **kwargs: Any) -> None:
        warnings = kwargs.get("warnings")
        raise EngineFailed(f"{msg} (warnings: {warnings})" if warnings else msg)

    @staticmethod
    def run_command(args: list[str], check_rc: bool = False, **kwargs: Any) -> tuple[int, str, str]:
        proc = subprocess.run(args, capture_output=True, text=True, check=check_rc)
        return proc.returncode, proc.stdout, proc.stderr

    @staticmethod
    def get_bin_path(name: str, required: bool = False, opt_dirs: list[str] | None = None) -> str | None:
        found = shutil.which(name)
        if required and not found:
            raise EngineFailed(f"{name} is not on PATH")
        return found

    @staticmethod
    def atomic_move(src: str, dest: str, **kwargs: Any) -> None:
        os.replace(src, dest)


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


def validated(params: dict[str, Any]) -> dict[str, Any]:
    """Validate and fill defaults as AnsibleModule does, with Ansible's own validator."""
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(params)
    if result.error_messages:
        raise EngineFailed("; ".join(result.error_messages))
    return result.validated_parameters


class EngineMethod(Method):
    """docker_pod's engine in this process: validation, DockerPodManager.run(), a fresh Docker client per run as in the module."""

    key, label = "engine", "docker_pod engine (in-process)"

    def __init__(self) -> None:
        self.profile: cProfile.Profile | None = None

    def _run(self, pod: Pod, state: str) -> dict[str, Any]:
        module = StandInModule(validated(pod_params(pod, state)))
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


def timed(step: Callable[[], None]) -> float:
    start = time.perf_counter()
    step()
    return (time.perf_counter() - start) * 1000


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


def rotated(methods: list[Method], iteration: int) -> list[Method]:
    """Round-robin with a rotating start, so no method always runs first (or right after another)."""
    shift = iteration % len(methods)
    return methods[shift:] + methods[:shift]


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


@dataclass
class ApiCall:
    thread: str
    method: str
    path: str
    start: float
    ms: float


@contextlib.contextmanager
def traced_api_calls(calls: list[ApiCall]) -> Iterator[None]:
    """Record every HTTP request any docker.APIClient sends while the block runs."""
    original = docker.APIClient.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, request, **kwargs)
        finally:
            path = request.path_url.split("?", 1)[0]
            calls.append(ApiCall(threading.current_thread().name, request.method, path, start, (time.perf_counter() - start) * 1000))

    docker.APIClient.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        docker.APIClient.send = original  # type: ignore[method-assign]


def print_trace(title: str, calls: list[ApiCall], total_ms: float) -> None:
    print(f"\n{title}: {len(calls)} Docker API calls, {sum(c.ms for c in calls):.0f} ms summed over threads, {total_ms:.0f} ms wall")
    origin = calls[0].start if calls else 0.0
    for call in calls:
        print(f"  +{(call.start - origin) * 1000:6.1f} ms {call.ms:6.1f} ms  {call.thread[:18]:<18} {call.method:<6} {call.path}")


def trace_cycle(method: Method, pod: Pod, sweep: Callable[[Pod], None]) -> None:
    """One extra cycle, outside the measurement, with every Docker API call of this process listed in order."""
    try:
        for step, action in (("create", method.create), ("teardown", method.teardown)):
            calls: list[ApiCall] = []
            with traced_api_calls(calls):
                ms = timed(partial(action, pod))
            print_trace(f"{method.key} {step} of {pod.name}", calls, ms)
    finally:
        sweep(pod)


# ---------------------------------------------------------------------------
# Leftovers


class Sweeper:
    """Removes, and finds, what this run made: containers named PREFIX* and cgroups named *PREFIX* in every hierarchy."""

    def __init__(self, hierarchies: list[Path]) -> None:
        self.hierarchies = hierarchies
        self.api = docker.APIClient(version="auto")

    def containers(self) -> list[str]:
        found = self.api.containers(all=True, filters={"name": PREFIX})
        return sorted(n.lstrip("/") for c in found for n in c["Names"] if PREFIX in n)

    def cgroups(self) -> list[Path]:
        return sorted(p for h in self.hierarchies for p in h.glob(f"*{PREFIX}*") if p.is_dir())

    def sweep(self, pod: Pod | None = None) -> None:
        """Remove every container and cgroup of this run (all of them when pod is None)."""
        for name in self.containers():
            if pod is None or name.startswith(f"{pod.name}_"):
                with contextlib.suppress(docker.errors.NotFound):
                    self.api.remove_container(name, force=True)
        for path in self.cgroups():
            if pod is None or path.name in (pod.name, f"pod-{pod.name}"):
                with contextlib.suppress(FileNotFoundError, OSError):
                    os.rmdir(path)

    def report(self) -> list[str]:
        return self.containers() + [str(p) for p in self.cgroups()]


# ---------------------------------------------------------------------------
# Report


def summary(samples: Samples) -> dict[str, dict[str, float]]:
    return {
        step: {"min": round(min(values), 1), "median": round(statistics.median(values), 1), "max": round(max(values), 1)}
        for step, values in (("create", samples.create), ("teardown", samples.teardown), ("cycle", samples.cycle))
    }


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


def target_met(stats: dict[str, dict[str, dict[str, float]]]) -> bool | None:
    """The goal: the engine creates the pod faster than the sequential SDK floor (medians)."""
    if "engine" not in stats or "sdk" not in stats:
        return None
    return stats["engine"]["create"]["median"] < stats["sdk"]["create"]["median"]


def host_facts() -> dict[str, Any]:
    api = docker.APIClient(version="auto")
    version = api.version()
    return {
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker_server": version.get("Version"),
        "docker_api": version.get("ApiVersion"),
        "docker_sdk": docker.__version__,
        "cgroup_driver": api.info().get("CgroupDriver"),
    }


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


def write_results(run: Outcome) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"pod_create-{time.strftime('%Y%m%dT%H%M%S')}.json"
    stats, args = run.stats, run.args
    data = {
        "benchmark": "pod_create", "n": args.n, "members": args.members, "member_memory": args.memory,
        "host": {**run.facts, "loadavg_after": os.getloadavg()},
        "methods": {m.key: {"label": m.label, **stats[m.key], "samples_ms": run.samples[m.key].__dict__} for m in run.methods},
        "ratios": ratios(stats), "paired": paired(run.samples), "target_create_faster_than_sdk": target_met(stats), "leftovers": run.left,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


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


def make_methods(keys: list[str], hierarchies: list[Path]) -> list[Method]:
    known: dict[str, Callable[[], Method]] = {
        "engine": EngineMethod, "sdk": lambda: SdkMethod(hierarchies), "cli": lambda: CliMethod(hierarchies), "ansible": AnsibleMethod,
    }
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; pick from {sorted(known)}")
    return [known[k]() for k in keys]


def preflight() -> None:
    api = docker.APIClient(version="auto")
    for image in (PAUSE_IMAGE, MEMBER_IMAGE):
        try:
            api.inspect_image(image)
        except docker.errors.NotFound:
            raise SystemExit(f"image {image} is missing; build it with: ansible-playbook playbooks/images.yml") from None


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
    met = target_met(stats)
    if met is not None:
        verdict = "MET" if met else "NOT MET"
        print(f"target: engine create faster than the sequential SDK floor: {verdict} "
              f"({stats['engine']['create']['median']:.0f} ms vs {stats['sdk']['create']['median']:.0f} ms)")
    print(f"results: {write_results(run)}")


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
    hierarchies = cgroup_hierarchies()
    methods = make_methods([k.strip() for k in args.methods.split(",") if k.strip()], hierarchies)
    engine = next((m for m in methods if isinstance(m, EngineMethod)), None)
    if engine and args.profile:
        engine.profile = cProfile.Profile()
    sweeper = Sweeper(hierarchies)
    facts = host_facts()
    print(f"pod_create: n={args.n}, {args.members} members of {args.memory}, methods {[m.key for m in methods]}, "
          f"{facts['cpus']} CPUs, load {facts['loadavg'][0]:.2f}; names {PREFIX}-*")

    def pod_of(method: Method, iteration: int) -> Pod:
        return Pod(f"{PREFIX}-{method.key}-{iteration}", args.members, args.memory)

    try:
        samples = run_all(methods, args.n, pod_of, sweeper.sweep)
        if args.trace:
            traced(methods, engine, lambda key: Pod(f"{PREFIX}-trace-{key}", args.members, args.memory), sweeper.sweep)
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
