# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the ns_facts engine for K pods of M members against `lsns -J` on the same host.

Run from the repository root (root, dockerd running, images built by playbooks/images.yml):

    .venv/2.19/bin/python bench/ns_facts.py --n 20

It makes K pods (default 10) of a sandbox and M members (default 4), 50 containers, with the
docker_pod engine in this process, then runs, interleaved in a rotated order each round:
`lsns -J` (whole host), the ns_facts engine in this process for the K pods and for the same
containers by name, a what-if of the engine with the hostnames read by a thread instead of a fork
(patched here only), the module in a fresh Python process, and the module through `ansible`.
Then the engine for 2, 5, 10 pods (time per container), a wall-time breakdown of the engine's
run (hostname forks, Docker API, /proc, cgroup files), cProfile, and probes: three ways of reading
the hostnames of the same UTS namespaces, five ways of making the Docker reads. The pods are always
removed; see docs/bench.md.

With --cri (containerd's CRI on its socket, playbooks/cri_node.yml), it also makes the same K pods of M
members as CRI pods with the cri_pod engine in this process (namespace podlab-bench) and times, in the
same rounds, the engine for pods=[the Docker pods] against cri_pods=[the CRI pods]; the CRI pods are
always removed too.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import io
import json
import os
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import docker
from _common import (  # first: it puts the checkout's .collections on sys.path for ansible_collections below
    MEMBER_COMMAND,
    MEMBER_IMAGE,
    ROOT,
    ApiCall,
    EngineFailed,
    Sweeper,
    host_facts,
    min_median_max,
    preflight,
    rotated,
    stand_in,
    timed,
    traced_api_calls,
    traced_engine_calls,
    write_results,
)

from ansible_collections.podlab.playground.plugins.module_utils import _namespaces, _ns_facts, _ns_facts_docker
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import DEFAULT_CRI_SOCKET, CriClient, CriError
from ansible_collections.podlab.playground.plugins.module_utils._docker import LocalEngine
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import ARGUMENT_SPEC as FACTS_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import NsFactsManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import CriPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, pod_uid
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC as POD_SPEC

PREFIX = f"nsb{os.getpid()}-"
WELL_UNDER = 0.5  # "well under lsns -J": the engine's paired median ratio to lsns -J at most this
CLONE_NEWUTS = 0x04000000
LSNS_RUNS: Counter = Counter()  # lsns -J runs, and those that exited 1


# ---------------------------------------------------------------------------
# The pods


@dataclass(frozen=True)
class Fleet:
    """K pods named PREFIX<i>, each a sandbox and M members; containers are POD_sandbox and POD_m<j>."""

    k: int
    members: int

    @property
    def pods(self) -> list[str]:
        return [f"{PREFIX}{i}" for i in range(self.k)]

    def first(self, k: int) -> Fleet:
        return Fleet(k, self.members)

    def containers(self) -> list[str]:
        return [f"{pod}_{role}" for pod in self.pods for role in ["sandbox", *(f"m{j}" for j in range(1, self.members + 1))]]

    @property
    def size(self) -> int:
        return self.k * (self.members + 1)


def pod_params(pod: str, members: int, state: str) -> dict[str, Any]:
    return {
        "name": pod, "state": state, "pull": "never",
        "containers": [{"name": f"m{j}", "image": MEMBER_IMAGE, "command": MEMBER_COMMAND} for j in range(1, members + 1)],
    }


def pod_engine(pod: str, members: int, state: str) -> dict[str, Any]:
    result = DockerPodManager(stand_in(POD_SPEC, pod_params(pod, members, state))).run()
    want = "running" if state == "started" else "absent"
    if result["pod"]["state"] != want:
        raise EngineFailed(f"pod {pod} is {result['pod']['state']} after docker_pod state={state}: {result['actions']}")
    return result


def set_up(fleet: Fleet) -> float:
    """Make the pods with the docker_pod engine, one after another; seconds taken."""
    start = time.perf_counter()
    for i, pod in enumerate(fleet.pods, 1):
        pod_engine(pod, fleet.members, "started")
        print(f"\r  pod {i}/{fleet.k} up", end="", flush=True)
    print()
    return time.perf_counter() - start


def tear_down(fleet: Fleet, sweeper: Sweeper) -> list[str]:
    """docker_pod state=absent for every pod, then remove whatever this run left anyway; what is still left."""
    for pod in fleet.pods:
        try:
            pod_engine(pod, fleet.members, "absent")
        except (EngineFailed, docker.errors.DockerException) as exc:
            print(f"  teardown of {pod} by the engine failed ({exc}); the sweeper removes it")
    sweeper.sweep()
    return sweeper.report()


# ---------------------------------------------------------------------------
# Methods: each returns what it read, to be checked once outside the timing


@dataclass
class Method:
    key: str
    label: str
    run: Callable[[], Any]
    samples: list[float] = field(default_factory=list)


def facts_engine(params: dict[str, Any]) -> dict[str, Any]:
    """The ns_facts manager in this process, as the module runs it: validated params, a fresh Docker client."""
    return NsFactsManager(stand_in(FACTS_SPEC, params)).run()


def facts_engine_sdk(params: dict[str, Any]) -> dict[str, Any]:
    """The same engine with its Docker reads through the SDK (what docker_host http+unix:// does): the cost of the SDK's
    new connection per request against the engine's one kept-alive connection, in the same run."""
    return facts_engine({**params, "docker_host": "http+unix:///var/run/docker.sock"})


def run_lsns(lsns: str, attempts: int = 3) -> bytes:
    """lsns -J; it exits 1, saying nothing, when a process exits while it scans (ESRCH on /proc/PID/ns/*), which other
    work on this host makes happen now and then: try again, count it, and keep the failed attempt in the sample."""
    for _attempt in range(attempts):
        proc = subprocess.run([lsns, "-J"], capture_output=True, check=False)
        LSNS_RUNS["runs"] += 1
        if proc.returncode == 0:
            return proc.stdout
        LSNS_RUNS["failed"] += 1
    raise EngineFailed(f"lsns -J failed {attempts} times in a row (rc={proc.returncode}): {proc.stderr.decode(errors='replace')}")


def module_process(args_file: Path) -> dict[str, Any]:
    """The module file in a fresh Python, as the managed host runs it (without AnsiballZ's unpacking)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".collections")}
    argv = [sys.executable, "-m", "ansible_collections.podlab.playground.plugins.modules.ns_facts", str(args_file)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EngineFailed(f"module process failed (rc={proc.returncode}): {proc.stdout[-1000:]}{proc.stderr[-1000:]}")
    return json.loads(proc.stdout)


def ansible_ad_hoc(pods: list[str]) -> dict[str, Any]:
    argv = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "podlab.playground.ns_facts", "-a", json.dumps({"pods": pods})]
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EngineFailed(f"ansible failed (rc={proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return {"stdout_bytes": len(proc.stdout)}


def make_methods(keys: list[str], fleet: Fleet, args_file: Path) -> list[Method]:
    lsns = shutil.which("lsns")
    if lsns is None:
        raise SystemExit("lsns (util-linux) is not on PATH")
    known = {
        "lsns": ("lsns -J (whole host)", lambda: run_lsns(lsns)),
        "pods": (f"engine, pods=[{fleet.k} pods]", lambda: facts_engine({"pods": fleet.pods})),
        "containers": (f"engine, containers=[{fleet.size} names]", lambda: facts_engine({"containers": fleet.containers()})),
        "sdk": ("engine, pods=, Docker reads through the SDK (docker_host http+unix://)", lambda: facts_engine_sdk({"pods": fleet.pods})),
        "module": ("module, fresh python3 process, pods=", lambda: module_process(args_file)),
        "ansible": ("module via ansible (ad hoc), pods=", lambda: ansible_ad_hoc(fleet.pods)),
    }
    unknown = [k for k in keys if k not in known]
    if unknown or "lsns" not in keys:
        raise SystemExit(f"--methods must include lsns; unknown {unknown}; pick from {sorted(known)}")
    return [Method(k, *known[k]) for k in keys]


def interleave(methods: list[Method], n: int, title: str) -> None:
    """n rounds; each runs every method once, the order rotated by one each round."""
    for rnd in range(n):
        for method in rotated(methods, rnd):
            method.samples.append(timed(method.run))
        line = "  ".join(f"{m.key} {m.samples[-1]:.0f}" for m in methods)
        print(f"{title} round {rnd + 1:>3}/{n} ms: {line}  (load {os.getloadavg()[0]:.1f})", flush=True)


# ---------------------------------------------------------------------------
# Checking what the methods read (once, untimed)


def check_facts(result: dict[str, Any], fleet: Fleet, by: str) -> list[str]:
    """Problems in the facts: a pod or container missing, a member not sharing net+ipc with its sandbox, drift."""
    facts = result["ansible_facts"]["podlab_ns"]
    problems = []
    if by == "pods":
        for pod in fleet.pods:
            got = facts["pods"].get(pod, {})
            if not got.get("found") or len(got.get("members", {})) != fleet.members:
                problems.append(f"pod {pod}: found={got.get('found')}, {len(got.get('members', {}))} members")
                continue
            for member, row in got["share"].items():
                if row.get("net") != "pod" or row.get("ipc") != "pod":
                    problems.append(f"pod {pod} member {member}: share {row}")
            if got["drift"]:
                problems.append(f"pod {pod}: drift {got['drift']}")
            if set(got["hostnames"].values()) != {pod} or len(got["hostnames"]) != fleet.members + 1:
                problems.append(f"pod {pod}: hostnames {got['hostnames']}")
    else:
        for name in fleet.containers():
            got = facts["containers"].get(name)
            if not got or not got.get("process"):
                problems.append(f"container {name}: no process facts")
            elif got["drift"]:
                problems.append(f"container {name}: drift {got['drift']}")
    return problems


def lsns_coverage(out: bytes, fleet: Fleet) -> dict[str, int]:
    """What lsns -J listed: namespaces, and how many of the fleet's net namespaces (one per pod) it shows."""
    listed = json.loads(out)["namespaces"]
    api = docker.APIClient(version="auto")
    pids = {int(api.inspect_container(f"{pod}_sandbox")["State"]["Pid"]) for pod in fleet.pods}
    net_inodes = {os.stat(f"/proc/{pid}/ns/net").st_ino for pid in pids}
    return {
        "namespaces": len(listed),
        "processes_on_host": sum(1 for p in os.listdir("/proc") if p.isdigit()),
        "fleet_net_namespaces_listed": sum(1 for ns in listed if ns["type"] == "net" and int(ns["ns"]) in net_inodes),
        "fleet_net_namespaces": len(net_inodes),
    }


def lsns_alone(methods: list[Method], n: int) -> list[float]:
    """lsns -J n times on the host as it is without this run's pods (before setup, after teardown)."""
    lsns = next(m for m in methods if m.key == "lsns")
    return [timed(lsns.run) for _round in range(n)]


# ---------------------------------------------------------------------------
# Where the engine's time goes


@dataclass
class Breakdown:
    """Wall milliseconds per category, summed over runs, and counts."""

    runs: int = 0
    total: float = 0.0
    ms: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)


@contextlib.contextmanager
def patched(owner: Any, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, wrapper(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def timing(into: Breakdown, category: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                into.ms[category] += (time.perf_counter() - start) * 1000
                into.counts[category] += 1
        return timed_call
    return wrap


def api_kind(path: str) -> str:
    parts = path.split("/")
    if path.endswith("/containers/json"):
        return "GET containers/json (list)"
    if len(parts) >= 4 and parts[-1] == "json" and parts[-3] == "containers":
        return "GET containers/<id>/json (inspect)"
    return f"GET {parts[-1]}"


def traced_pipelined(into: Breakdown, kinds: Counter) -> contextlib.ExitStack:
    """The engine's pipelined Docker reads: the wall time spent waiting for the daemon's answers (what the caller's /proc
    reads do not overlap), and the requests written, by kind."""
    stack = contextlib.ExitStack()
    stack.enter_context(patched(_ns_facts_docker.PipelinedReader, "_receive", timing(into, "docker wait")))

    def count(original: Callable[..., Any]) -> Callable[..., Any]:
        timed_send = timing(into, "docker wait")(original)  # writing to the socket wakes the daemon, which may run first

        def send(self: Any, conn: Any, reads: Any) -> Any:
            for read in reads:
                kinds["GET containers/json (list)" if read.kind == "list" else "GET containers/<id>/json (inspect)"] += 1
            return timed_send(self, conn, reads)
        return send

    stack.enter_context(patched(_ns_facts_docker.PipelinedReader, "_send", count))
    return stack


def breakdown(run: Callable[[], Any], rounds: int) -> tuple[Breakdown, Counter]:
    """Run the engine `rounds` times with its hostname thread, /proc snapshots, cgroup file reads and Docker reads timed."""
    into = Breakdown()
    calls: list[ApiCall] = []
    kinds: Counter = Counter()
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(_ns_facts, "hostnames", timing(into, "hostname")))
        stack.enter_context(patched(_ns_facts, "snapshot", timing(into, "snapshot")))
        stack.enter_context(patched(_ns_facts, "read_limits", timing(into, "cgroup limits")))
        stack.enter_context(traced_pipelined(into, kinds))
        stack.enter_context(traced_api_calls(calls))  # the SDK, for a daemon that is not local
        stack.enter_context(traced_engine_calls(calls))  # LocalEngine, if a read goes through it
        for _round in range(rounds):
            into.total += timed(run)
            into.runs += 1
    into.ms["docker api"] = sum(c.ms for c in calls) + into.ms["docker wait"]
    into.counts["docker api"] = len(calls) + sum(kinds.values())
    kinds.update(api_kind(c.path) for c in calls)
    return into, kinds


def print_breakdown(b: Breakdown, kinds: Counter, size: int, how: str) -> dict[str, Any]:
    per = Counter({k: v / b.runs for k, v in b.ms.items()})
    counts = Counter({k: v / b.runs for k, v in b.counts.items()})
    total = b.total / b.runs
    rows = [
        ("hostnames: one thread enters every distinct UTS namespace", per["hostname"], counts["hostname"]),
        ("/proc reads: ns links, status, cgroup, task/ (snapshots)", per["snapshot"], counts["snapshot"]),
        ("Docker: waiting for the daemon's answers (requests pipelined over 2 connections)", per["docker api"], counts["docker api"]),
        ("cgroup limit files (read_limits)", per["cgroup limits"], counts["cgroup limits"]),
    ]
    rest = total - sum(r[1] for r in rows)
    rows.append(("the rest: Python (HTTP and JSON decoding, facts assembly)", rest, 0))
    print(f"\nWhere the engine's time goes, {how} for {size} containers, mean of {b.runs} runs: {total:.1f} ms wall per run")
    print("\n| part | ms per run | share | calls per run |\n|---|---|---|---|")
    for label, ms, count in rows:
        print(f"| {label} | {ms:.1f} | {ms / total:.0%} | {count:.0f} |")
    print("Docker calls per run: " + ", ".join(f"{v / b.runs:.0f} x {k}" for k, v in sorted(kinds.items())))
    return {"ms_per_run": round(total, 1), "parts": {label: {"ms": round(ms, 1), "calls": count} for label, ms, count in rows},
            "docker_calls_per_run": {k: v / b.runs for k, v in kinds.items()}}


def profile(run: Callable[[], Any], rounds: int, lines: int) -> str:
    prof = cProfile.Profile()
    for _round in range(rounds):
        prof.runcall(run)
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Reading hostnames: the module's way against two that fork less


def uts_pids(fleet: Fleet) -> list[int]:
    """One PID per distinct UTS namespace among the fleet's containers (every container has its own)."""
    api = docker.APIClient(version="auto")
    seen: dict[int, int] = {}
    for name in fleet.containers():
        pid = int(api.inspect_container(name)["State"]["Pid"])
        seen.setdefault(os.stat(f"/proc/{pid}/ns/uts").st_ino, pid)
    return list(seen.values())


def hostnames_fork_each(pids: list[int]) -> list[str | None]:
    """The engine's way until 2026-11-28: one forked child per UTS namespace enters it and writes the name back."""
    libc = ctypes.CDLL(None, use_errno=True)
    names: list[str | None] = []
    for pid in pids:
        fd = os.open(f"/proc/{pid}/ns/uts", os.O_RDONLY)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:
            try:
                os.close(read_end)
                os.write(write_end, (socket.gethostname() if libc.setns(fd, CLONE_NEWUTS) == 0 else "").encode())
            finally:
                os._exit(0)
        os.close(write_end)
        os.close(fd)
        with os.fdopen(read_end, "rb") as handle:
            names.append(handle.read().decode(errors="replace") or None)
        os.waitpid(child, 0)
    return names


def hostnames_engine(pids: list[int]) -> list[str | None]:
    """What the engine does now: _namespaces.hostnames, one throwaway thread for all namespaces."""
    by_uts = {os.stat(f"/proc/{pid}/ns/uts").st_ino: pid for pid in pids}
    names = _namespaces.hostnames(by_uts)
    return [names[inode] for inode in by_uts]


def hostnames_one_fork(pids: list[int]) -> list[str | None]:
    """One child for all namespaces: it enters each in turn and writes the names back, NUL-separated."""
    libc = ctypes.CDLL(None, use_errno=True)
    fds = [os.open(f"/proc/{pid}/ns/uts", os.O_RDONLY) for pid in pids]
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read_end)
            out = [socket.gethostname() if libc.setns(fd, CLONE_NEWUTS) == 0 else "" for fd in fds]
            os.write(write_end, "\0".join(out).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    for fd in fds:
        os.close(fd)
    with os.fdopen(read_end, "rb") as handle:
        text = handle.read().decode(errors="replace")
    os.waitpid(child, 0)
    return [name or None for name in text.split("\0")]


def hostname_probe(fleet: Fleet, n: int) -> dict[str, Any]:
    pids = uts_pids(fleet)
    ways = [
        Method("engine", "the engine: _namespaces.hostnames, one thread, setns per namespace", lambda: hostnames_engine(pids)),
        Method("fork-each", "fork + setns per namespace (the engine's way before)", lambda: hostnames_fork_each(pids)),
        Method("one-fork", "one fork, setns per namespace in the child", lambda: hostnames_one_fork(pids)),
    ]
    reference = hostnames_fork_each(pids)
    agree = {w.key: w.run() == reference for w in ways}
    here = socket.gethostname()
    interleave(ways, n, "hostnames")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"\nHostnames of {len(pids)} UTS namespaces, N={n}, forked from a {rss} MB process "
          f"(all read the same names: {agree}; this thread's own stays {socket.gethostname() == here}):")
    print("\n| way | min/median ms | per namespace (median) |\n|---|---|---|")
    out = {}
    for w in ways:
        s = min_median_max(w.samples)
        out[w.key] = {"label": w.label, **s, "samples_ms": w.samples}
        print(f"| {w.label} | {s['min']:.1f}/{s['median']:.1f} | {s['median'] / len(pids) * 1000:.0f} µs |")
    return {"namespaces": len(pids), "agree": agree, "max_rss_mb": rss, "ways": out}


# ---------------------------------------------------------------------------
# The Docker side: the engine's calls against fewer or concurrent ones


def docker_probe(fleet: Fleet, n: int) -> dict[str, Any]:
    """The Docker reads alone for the fleet: per-pod lists + sequential inspects (the first design), one list + sequential,
    pooled, kept-alive or pipelined inspects (the engine), and one list without inspects (what a design that finds PIDs in
    /proc would need)."""
    api = docker.APIClient(version="auto")
    # requests looks for proxy settings in the environment on every request (Session.trust_env); a unix socket has no proxy.
    bare = docker.APIClient(version="auto")
    bare.trust_env = False

    def per_pod_lists() -> int:
        ids = [c["Id"] for pod in fleet.pods for c in api.containers(all=True, filters={"label": f"podlab.pod={pod}"})]
        return len([api.inspect_container(i) for i in ids])

    def one_list() -> list[str]:
        wanted = set(fleet.pods)
        return [c["Id"] for c in api.containers(all=True, filters={"label": "podlab.pod"}) if c["Labels"].get("podlab.pod") in wanted]

    def one_list_sequential() -> int:
        return len([api.inspect_container(i) for i in one_list()])

    def one_list_bare() -> int:
        return len([bare.inspect_container(i) for i in one_list()])

    def keepalive() -> int:
        engine = LocalEngine("unix:///var/run/docker.sock")
        try:
            wanted = set(fleet.pods)
            ids = [c["Id"] for c in engine.containers_with_label("podlab.pod") if c["Labels"].get("podlab.pod") in wanted]
            return len([engine.inspect(i) for i in ids])
        finally:
            engine.close()

    def pipelined() -> int:
        reads = _ns_facts_docker.DockerReads("unix:///var/run/docker.sock")
        try:
            wanted = set(fleet.pods)
            summaries = next(iter(reads.read([_ns_facts_docker.list_read("podlab.pod")])))[1]
            ids = [c["Id"] for c in summaries if c["Labels"].get("podlab.pod") in wanted]
            return len(list(reads.read([_ns_facts_docker.inspect_read(i) for i in ids])))
        finally:
            reads.close()

    def one_list_pooled() -> int:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return len(list(pool.map(api.inspect_container, one_list())))

    ways = [
        Method("per-pod", f"SDK: {fleet.k} label-filtered lists + {fleet.size} inspects, sequential (the engine's calls before)", per_pod_lists),
        Method("one-seq", f"1 list (label key podlab.pod) + {fleet.size} inspects, sequential", one_list_sequential),
        Method("one-bare", f"1 list + {fleet.size} inspects, sequential, client.trust_env = False", one_list_bare),
        Method("one-pool", f"1 list + {fleet.size} inspects, 8 threads", one_list_pooled),
        Method("keepalive", f"1 list + {fleet.size} inspects over one kept-alive connection (LocalEngine, the engine's way before)", keepalive),
        Method("pipelined", f"1 list + {fleet.size} inspects written at once over {_ns_facts_docker.CONNECTIONS} connections "
               "(the engine: _ns_facts_docker, HTTP/1.1 pipelining)", pipelined),
        Method("list-only", "1 list, no inspect", lambda: len(one_list())),
    ]
    counts = {w.key: w.run() for w in ways}
    interleave(ways, n, "docker")
    print(f"\nThe Docker reads alone for {fleet.size} containers, one client made once, N={n} (containers seen: {counts}):")
    print("\n| calls | min/median ms |\n|---|---|")
    out = {}
    for w in ways:
        st = min_median_max(w.samples)
        out[w.key] = {"label": w.label, **st, "samples_ms": w.samples}
        print(f"| {w.label} | {st['min']:.1f}/{st['median']:.1f} |")
    return out


# ---------------------------------------------------------------------------
# Report


def paired_ratio(mine: list[float], base: list[float]) -> dict[str, float]:
    ratios = [a / b for a, b in zip(mine, base, strict=True)]
    return {"median_ratio": round(statistics.median(ratios), 2), "max_ratio": round(max(ratios), 2),
            "faster": sum(r < 1 for r in ratios), "of": len(ratios)}


def report_main(methods: list[Method], fleet: Fleet) -> dict[str, Any]:
    stats = {m.key: min_median_max(m.samples) for m in methods}
    lsns = next(m for m in methods if m.key == "lsns")
    print(f"\nFacts for {fleet.size} containers ({fleet.k} pods x {fleet.members + 1}), N={len(lsns.samples)} interleaved rounds:")
    print("\n| method | min/median ms | median / lsns -J | paired median ratio | faster than lsns in |\n|---|---|---|---|---|")
    ratios: dict[str, Any] = {}
    for m in methods:
        s = stats[m.key]
        if m is lsns:
            print(f"| {m.label} | {s['min']:.1f}/{s['median']:.1f} | 1 | 1 | - |")
            continue
        pair = paired_ratio(m.samples, lsns.samples)
        ratios[m.key] = {"medians": round(s["median"] / stats["lsns"]["median"], 2), **pair}
        print(f"| {m.label} | {s['min']:.1f}/{s['median']:.1f} | {ratios[m.key]['medians']:.2f} | "
              f"{pair['median_ratio']:.2f} | {pair['faster']}/{pair['of']} |")
    verdicts = {}
    by_key = {m.key: m for m in methods}
    for key in ("pods", "containers", "sdk"):
        if key in ratios:
            verdicts[key] = ratios[key]["median_ratio"] <= WELL_UNDER
            print(f"'well under lsns -J' (paired median ratio <= {WELL_UNDER}) for {by_key[key].label}: "
                  f"{'HOLDS' if verdicts[key] else 'DOES NOT HOLD'} ({ratios[key]['median_ratio']:.2f})")
    return {"stats": stats, "ratios_to_lsns": ratios, "well_under_lsns": verdicts}


def linearity(fleet: Fleet, ks: list[int], n: int, lsns: Callable[[], Any]) -> dict[str, Any]:
    """The engine (pods= and containers=) for the first k pods, interleaved with lsns -J; ms per container, a straight-line
    fit, and for each size the paired ratio to lsns -J (so the size up to which "well under" holds is seen)."""
    methods = [Method("lsns", "lsns -J", lsns)]
    for k in ks:
        sub = fleet.first(k)
        methods.append(Method(f"pods{k}", f"pods=, {k} pods", lambda sub=sub: facts_engine({"pods": sub.pods})))
        methods.append(Method(f"cont{k}", f"containers=, {k} pods", lambda sub=sub: facts_engine({"containers": sub.containers()})))
    interleave(methods, n, "linearity")
    by_key = {m.key: m for m in methods}
    print(f"\nLinearity, N={n} interleaved rounds (lsns -J median {statistics.median(by_key['lsns'].samples):.1f} ms):\n")
    print("| pods | containers | pods= median ms | per container | pods= / lsns -J (paired) | "
          "containers= median ms | per container | containers= / lsns -J (paired) |")
    print("|---|---|---|---|---|---|---|---|")
    out: dict[str, Any] = {"rows": {}, "lsns_samples_ms": by_key["lsns"].samples}
    for k in ks:
        size = fleet.first(k).size
        pm, cm = by_key[f"pods{k}"], by_key[f"cont{k}"]
        p, c = statistics.median(pm.samples), statistics.median(cm.samples)
        pr, cr = (paired_ratio(m.samples, by_key["lsns"].samples) for m in (pm, cm))
        out["rows"][k] = {"containers": size, "pods_ms": round(p, 1), "containers_ms": round(c, 1),
                          "pods_to_lsns": pr, "containers_to_lsns": cr,
                          "samples_ms": {pm.key: pm.samples, cm.key: cm.samples}}
        print(f"| {k} | {size} | {p:.1f} | {p / size:.2f} | {pr['median_ratio']:.2f} | {c:.1f} | {c / size:.2f} | {cr['median_ratio']:.2f} |")
    holds = [fleet.first(k).size for k in ks if out["rows"][k]["pods_to_lsns"]["median_ratio"] <= WELL_UNDER]
    print(f"'well under lsns -J' (paired median ratio <= {WELL_UNDER}) for pods= holds at: "
          f"{', '.join(f'{x} containers' for x in holds) or 'no size measured'}")
    for key in ("pods", "containers") if len(ks) > 1 else ():
        xs = [fleet.first(k).size for k in ks]
        ys = [out["rows"][k][f"{key}_ms"] for k in ks]
        fit = statistics.linear_regression(xs, ys)
        out[f"{key}_fit"] = {"ms_per_container": round(fit.slope, 2), "fixed_ms": round(fit.intercept, 1)}
        print(f"{key}=: {fit.slope:.2f} ms per container + {fit.intercept:.1f} ms fixed (least squares on the medians)")
    return out


# ---------------------------------------------------------------------------
# --cri: the same pods as CRI pods, cri_pods= beside pods=


CRI_NAMESPACE = "podlab-bench"
CRI_PREFIX = f"nsbcri{os.getpid()}-"
CRI_LABELS = {"io.podlab.bench": "ns_facts", "io.podlab.bench.run": CRI_PREFIX}


class CriFleet:
    """The fleet's K pods of M members again, as CRI pods named CRI_PREFIX<i> in CRI_NAMESPACE, made and removed with
    the cri_pod engine in this process; with what finds and removes anything of them the engine leaves."""

    def __init__(self, fleet: Fleet, layout: Layout) -> None:
        self.fleet = fleet
        self.layout = layout
        self.client = CriClient()
        # kubelet's kubepods and its QoS directories are shared: removed at the end only where this run made them.
        self.shared = [p for rel in ("kubepods", "kubepods/besteffort", "kubepods/burstable") for p in layout.everywhere(rel)]
        self.shared_before = {p for p in self.shared if p.is_dir()}

    @property
    def pods(self) -> list[str]:
        return [f"{CRI_PREFIX}{i}" for i in range(self.fleet.k)]

    def engine(self, pod: str, state: str) -> dict[str, Any]:
        params = {**pod_params(pod, self.fleet.members, state), "namespace": CRI_NAMESPACE, "labels": dict(CRI_LABELS)}
        result = CriPodManager(stand_in(CRI_ARGUMENT_SPEC, params)).run()
        want = "running" if state == "started" else "absent"
        if result["pod"]["state"] != want:
            raise EngineFailed(f"CRI pod {pod} is {result['pod']['state']} after cri_pod state={state}: {result['actions']}")
        return result

    def set_up(self) -> float:
        start = time.perf_counter()
        for i, pod in enumerate(self.pods, 1):
            self.engine(pod, "started")
            print(f"\r  CRI pod {i}/{self.fleet.k} up", end="", flush=True)
        print()
        return time.perf_counter() - start

    def sandboxes(self) -> list[dict[str, Any]]:
        return self.client.list_pod_sandboxes({"io.podlab.bench.run": CRI_PREFIX})

    def cgroup_dirs(self) -> list[Path]:
        uids = [pod_uid(CRI_NAMESPACE, pod) for pod in self.pods]
        return sorted(d for h in self.layout.hierarchies() for uid in uids for d in [*h.glob(f"kubepods/*/pod{uid}"), *h.glob(f"kubepods/pod{uid}")])

    def tear_down(self) -> list[str]:
        """cri_pod state=absent for every pod, then remove whatever is left anyway; what is still left."""
        for pod in self.pods:
            try:
                self.engine(pod, "absent")
            except (EngineFailed, CriError) as exc:
                print(f"  teardown of CRI pod {pod} by the engine failed ({exc}); swept below")
        for sandbox in self.sandboxes():
            with contextlib.suppress(CriError):
                self.client.stop_pod_sandbox(sandbox["id"])
                self.client.remove_pod_sandbox(sandbox["id"])
        for top in self.cgroup_dirs():
            for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda walk: -len(walk[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        for path in sorted(set(self.shared) - self.shared_before, key=lambda p: -len(str(p))):
            with contextlib.suppress(OSError):
                path.rmdir()
        left = [f"CRI sandbox {s['metadata']['name']} {s['id'][:12]}" for s in self.sandboxes()]
        left += [f"CRI container {c['metadata']['name']} {c['id'][:12]}" for c in self.client.list_containers(labels={"io.podlab.bench.run": CRI_PREFIX})]
        left += [str(d) for d in self.cgroup_dirs()]
        left += [str(p) for p in sorted(set(self.shared) - self.shared_before) if p.is_dir()]
        self.client.close()
        return left


def check_cri_facts(result: dict[str, Any], cri: CriFleet) -> list[str]:
    """Problems in the CRI pods' facts: a pod missing or short of members, drift, an engine warning about the CRI pods."""
    facts = result["ansible_facts"]["podlab_ns"]
    problems = [f"warning: {w}" for w in facts.get("warnings") or [] if w.startswith(("cri pod", "cri_pods"))]
    for pod in cri.pods:
        got = facts["pods"].get(pod, {})
        if not got.get("found") or len(got.get("members", {})) != cri.fleet.members:
            problems.append(f"CRI pod {pod}: found={got.get('found')}, {len(got.get('members', {}))} members")
        elif got.get("drift"):
            problems.append(f"CRI pod {pod}: drift {got['drift']}")
    return problems


def cri_beside_docker(fleet: Fleet, cri: CriFleet, n: int) -> dict[str, Any]:
    """pods=[the Docker pods] and cri_pods=[the CRI pods], same containers, interleaved; medians, paired ratio cri/docker."""
    methods = [
        Method("docker", f"engine, pods=[{fleet.k} Docker pods]", lambda: facts_engine({"pods": fleet.pods})),
        Method("cri", f"engine, cri_pods=[{fleet.k} CRI pods], namespace={CRI_NAMESPACE}",
               lambda: facts_engine({"cri_pods": cri.pods, "namespace": CRI_NAMESPACE})),
    ]
    problems = check_facts(methods[0].run(), fleet, "pods") + check_cri_facts(methods[1].run(), cri)
    if problems:
        raise EngineFailed(f"the engine's facts are wrong, not worth timing: {problems}")
    print("checks: the facts of both fleets are complete (every pod and member; no drift; no warning for the CRI pods)")
    interleave(methods, n, "cri")
    docker_m, cri_m = methods
    pair = paired_ratio(cri_m.samples, docker_m.samples)
    print(f"\nCRI pods beside Docker pods: {fleet.size} containers each ({fleet.k} pods x {fleet.members + 1}), N={n} interleaved rounds:")
    print("\n| method | min/median ms | per container (median) |\n|---|---|---|")
    out: dict[str, Any] = {"containers": fleet.size}
    for m in methods:
        s = min_median_max(m.samples)
        out[m.key] = {"label": m.label, **s, "per_container_ms": round(s["median"] / fleet.size, 2), "samples_ms": m.samples}
        print(f"| {m.label} | {s['min']:.1f}/{s['median']:.1f} | {s['median'] / fleet.size:.2f} ms |")
    out["cri_to_docker"] = pair
    print(f"cri/docker, paired by round: median {pair['median_ratio']:.2f}, max {pair['max_ratio']:.2f}; "
          f"cri_pods= faster in {pair['faster']}/{pair['of']} rounds")
    return out


def cri_run(args: argparse.Namespace, fleet: Fleet, data: dict[str, Any]) -> list[str]:
    """--cri: the CRI pods up, the comparison, the CRI pods removed whatever happens; what is left of them."""
    if not Path(DEFAULT_CRI_SOCKET.removeprefix("unix://")).exists():
        raise SystemExit(f"--cri: no CRI socket at {DEFAULT_CRI_SOCKET}; start containerd with: ansible-playbook playbooks/cri_node.yml")
    cri = CriFleet(fleet, Layout.detect())
    left: list[str] = []
    try:
        data["cri_setup_s"] = round(cri.set_up(), 1)
        print(f"  {fleet.size} CRI containers up in {data['cri_setup_s']} s")
        data["cri_beside_docker"] = cri_beside_docker(fleet, cri, args.n)
    finally:
        left = data["cri_leftovers"] = cri.tear_down()
        print("CRI leftovers: " + (", ".join(left) if left else "none (no sandbox or container with this run's label, no pod cgroup of its pods)"))
    return left


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=10, help="interleaved rounds (default 10; at least 10 for the docs)")
    parser.add_argument("--k", type=int, default=10, help="pods (default 10)")
    parser.add_argument("--members", type=int, default=4, help="members per pod, besides the sandbox (default 4)")
    parser.add_argument("--methods", default="lsns,pods,containers,sdk,module,ansible",
                        help="comma-separated; lsns plus any of pods,containers,sdk,module,ansible")
    parser.add_argument("--linearity", default="1,2,5,10", help="pod counts for the linearity rounds (empty: skip)")
    parser.add_argument("--profile-runs", type=int, default=5, help="engine runs for the breakdown and for cProfile (0: skip)")
    parser.add_argument("--probes", action=argparse.BooleanOptionalAction, default=True,
                        help="compare ways of reading the hostnames, and of making the Docker calls, for the same containers")
    parser.add_argument("--cri", action="store_true",
                        help="also make the same pods as CRI pods (cri_pod engine) and time pods= against cri_pods= in the same rounds")
    return parser.parse_args(argv)


def checked(methods: list[Method], fleet: Fleet) -> dict[str, Any]:
    """Every method once (the warm-up), and the facts checked: timing wrong facts would be worthless."""
    outputs = {m.key: m.run() for m in methods}
    problems = [p for key in ("pods", "containers", "sdk") if key in outputs
                for p in check_facts(outputs[key], fleet, "containers" if key == "containers" else "pods")]
    warnings = outputs.get("pods", {}).get("ansible_facts", {}).get("podlab_ns", {}).get("warnings")
    checks = {"problems": problems, "lsns": lsns_coverage(outputs["lsns"], fleet), "engine_warnings": warnings}
    complete = "the facts are complete (every pod and member; each with the pod name as hostname; net+ipc shared; no drift)"
    print(f"checks: {problems or complete}; lsns -J: {checks['lsns']}; engine warnings: {warnings}")
    if problems:
        raise EngineFailed(f"the engine's facts are wrong, not worth timing: {problems}")
    return checks


def measure(args: argparse.Namespace, fleet: Fleet, methods: list[Method], data: dict[str, Any]) -> None:
    """Everything timed while the pods are up; results go into data as they come."""
    data["checks"] = checked(methods, fleet)
    interleave(methods, args.n, "main")
    data["main"] = report_main(methods, fleet)
    data["samples_ms"] = {m.key: m.samples for m in methods}
    ks = [k for k in (int(x) for x in args.linearity.split(",") if x.strip()) if k <= fleet.k]
    if ks:
        lsns = next(m for m in methods if m.key == "lsns")
        data["linearity"] = linearity(fleet, ks, args.n, lsns.run)
    if args.profile_runs:
        data["breakdown"] = {}
        for how, params in (("pods=", {"pods": fleet.pods}), ("containers=", {"containers": fleet.containers()})):
            b, kinds = breakdown(partial(facts_engine, params), args.profile_runs)
            data["breakdown"][how] = print_breakdown(b, kinds, fleet.size, how)
        text = profile(partial(facts_engine, {"pods": fleet.pods}), args.profile_runs, 30)
        print(f"\ncProfile of {args.profile_runs} engine runs (pods=):\n{text}")
        data["profile_top"] = text
    if args.probes:
        data["hostnames"] = hostname_probe(fleet, args.n)
        data["docker"] = docker_probe(fleet, args.n)


def lsns_without_pods(methods: list[Method], n: int, data: dict[str, Any]) -> None:
    """After teardown: lsns -J on the host without the pods again, and how often lsns -J failed in the whole run."""
    with contextlib.suppress(EngineFailed):
        data["lsns_without_pods_ms"] += lsns_alone(methods, n)
    alone = data["lsns_without_pods"] = min_median_max(data["lsns_without_pods_ms"])
    print(f"lsns -J without the pods (N={n} before setup, N={n} after teardown; not interleaved with the pods up): "
          f"{alone['min']:.1f}/{alone['median']:.1f} ms; with them {statistics.median(data['samples_ms']['lsns']):.1f} ms median")
    data["lsns_exit_1"] = dict(LSNS_RUNS)
    print(f"lsns -J exited 1 (a process vanished while it scanned) in {LSNS_RUNS['failed']} of {LSNS_RUNS['runs']} runs; "
          "each was run again, within the same sample")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preflight()
    fleet = Fleet(args.k, args.members)
    sweeper = Sweeper(PREFIX, Layout.detect())
    facts = host_facts()
    print(f"ns_facts bench: {fleet.k} pods x (sandbox + {fleet.members}) = {fleet.size} containers, n={args.n}, "
          f"{facts['cpus']} CPUs, load {facts['loadavg'][0]:.2f}; names {PREFIX}*")
    data: dict[str, Any] = {"n": args.n, "k": fleet.k, "members": fleet.members, "containers": fleet.size, "host": facts}
    cri_left: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nsb-") as tmp:
        args_file = Path(tmp) / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"pods": fleet.pods}}))
        methods = make_methods([k.strip() for k in args.methods.split(",") if k.strip()], fleet, args_file)
        data["lsns_without_pods_ms"] = lsns_alone(methods, args.n)
        try:
            data["setup_s"] = round(set_up(fleet), 1)
            print(f"  {fleet.size} containers up in {data['setup_s']} s")
            measure(args, fleet, methods, data)
            if args.cri:
                cri_left = cri_run(args, fleet, data)
        finally:
            left = data["leftovers"] = tear_down(fleet, sweeper)
            print("leftovers: " + (", ".join(left) if left else "none (no container or cgroup of this run is left)"))
        if "samples_ms" in data and not left:
            lsns_without_pods(methods, args.n, data)
    data["host"]["loadavg_after"] = os.getloadavg()
    print(f"results: {write_results('ns_facts', data)}")
    return 1 if left or cri_left else 0


if __name__ == "__main__":
    sys.exit(main())
