# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: 10, 30 and 100 pods of 3 members made by one play and removed by another, on Docker and on the CRI.

Run from the repository root (root; dockerd running with the images of playbooks/images.yml; containerd's
CRI on its socket with podlab/pause:1 and podlab/busybox:1 in its k8s.io namespace, playbooks/cri_node.yml):

    .venv/2.19/bin/python bench/scale.py

Each cell is a runtime (docker: docker_pod; cri: cri_pod), a way and a size N. The `engine` way runs the
module's manager in a fresh Python process that makes the N pods one after another (the create play),
then another that removes them (the remove play), with the stand-in for AnsibleModule of bench/_common.py.
The `ansible` way runs a generated playbook whose one task loops the module over the N pods, then another
that removes them, through ansible-playbook. The `ansible-list` way does the same with one task of the list module
(docker_pods, cri_pods) that makes (removes) all N pods in one module process. Between the two plays, ns_facts' engine reads all N pods in
this process. What counts are the ratios within one run: time per pod at the largest size against the
smallest, and ns_facts' time per container likewise; the cells are interleaved (see docs/bench.md).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import (  # first: it puts the checkout's .collections on sys.path for ansible_collections below
    MEMBER_COMMAND,
    MEMBER_IMAGE,
    PAUSE_IMAGE,
    ROOT,
    CriSweeper,
    EngineFailed,
    Sweeper,
    cli_leftovers,
    docker_answering,
    host_facts,
    preflight,
    rotated,
    stand_in,
    timed,
    write_results,
)

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import DEFAULT_CRI_SOCKET, CriClient, CriError
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import ARGUMENT_SPEC as FACTS_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import NsFactsManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import CriPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC as POD_SPEC

# The run's name, in every pod's name and the CRI pods' label; the engine way's child processes get their parent's.
PREFIX = os.environ.get("PODLAB_BENCH_RUN") or f"scale{os.getpid()}"
CRI_NAMESPACE = "podlab-bench"
LABEL_RUN = ("io.podlab.bench.run", PREFIX)
MEMBERS = 3
MEMBER_MEMORY = "32Mi"
PYTHON = ROOT / ".venv" / "2.19" / "bin" / "python"
ANSIBLE_PLAYBOOK = ROOT / ".venv" / "2.19" / "bin" / "ansible-playbook"
GNU_TIME = "/usr/bin/time"  # Debian's `time` package: wait4()'s rusage of the command it runs
MODULES = {"docker": "podlab.playground.docker_pod", "cri": "podlab.playground.cri_pod"}
LIST_MODULES = {"docker": "podlab.playground.docker_pods", "cri": "podlab.playground.cri_pods"}
WAYS = ("engine", "ansible", "ansible-list")
WAY_CODES = {"engine": "e", "ansible": "a", "ansible-list": "l"}  # in the pods' names
STATES = {"create": ("started", "running"), "remove": ("absent", "absent")}
TARGET = 1.2  # per pod (per container for ns_facts) at the largest size at most 1.2 x at the smallest


# ---------------------------------------------------------------------------
# The pods


def module_params(runtime: str, pod: str, state: str) -> dict[str, Any]:
    """The task for one pod, as a user would write it: a pause sandbox and three busybox members sleeping, 32Mi each."""
    params: dict[str, Any] = {
        "name": pod, "state": state, "pull": "never",
        "containers": [{"name": f"m{j}", "image": MEMBER_IMAGE, "command": MEMBER_COMMAND, "memory": MEMBER_MEMORY}
                       for j in range(1, MEMBERS + 1)],
    }
    if runtime == "cri":
        params.update(namespace=CRI_NAMESPACE, labels={"io.podlab.bench": "scale", LABEL_RUN[0]: LABEL_RUN[1]})
    return params


def run_manager(runtime: str, pod: str, play: str) -> None:
    """One module run in this process: the options validated and defaulted, then the manager's run()."""
    state, wanted = STATES[play]
    manager, spec = (DockerPodManager, POD_SPEC) if runtime == "docker" else (CriPodManager, CRI_ARGUMENT_SPEC)
    result = manager(stand_in(spec, module_params(runtime, pod, state))).run()
    if result["pod"]["state"] != wanted:
        raise EngineFailed(f"{runtime} pod {pod} is {result['pod']['state']} after state={state}: {result['actions']}")


def own_peak_rss_kib() -> int:
    """This process's own peak RSS since its exec (VmHWM). Not ru_maxrss: a child's ru_maxrss starts from the RSS of the
    process it was forked from (the kernel carries the old address space's high-water mark over exec), here the benchmark's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise EngineFailed("no VmHWM in /proc/self/status")


def play_child(args: argparse.Namespace) -> int:
    """--play: the engine way's play, in the fresh process the parent started; one JSON line on stdout."""
    after_imports = own_peak_rss_kib()
    ms = []
    for pod in args.pods.split(","):
        start = time.perf_counter()
        run_manager(args.runtime, pod, args.play)
        ms.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"pod_ms": ms, "rss_after_imports_kib": after_imports, "peak_rss_kib": own_peak_rss_kib()}))
    return 0


# ---------------------------------------------------------------------------
# The plays: what each way measures


@dataclass
class Play:
    """One play over N pods: its process's wall time, the time of its pod runs, and the peak RSS it saw."""

    wall_ms: float
    in_play_ms: float  # engine: the manager runs summed; ansible, ansible-list: the one task's time (the callback)
    peak_rss_kib: int  # engine: the play's process (VmHWM); ansible(-list): the largest of its module processes (ru_maxrss)
    base_rss_kib: int  # engine: the play's process after its imports; ansible(-list): the smallest module process
    module_runs: int
    pod_ms: list[float] = field(default_factory=list)


def engine_play(runtime: str, play: str, pods: Sequence[str]) -> Play:
    argv = [sys.executable, __file__, "--play", play, "--runtime", runtime, "--pods", ",".join(pods)]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=dict(os.environ, PODLAB_BENCH_RUN=PREFIX), capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise EngineFailed(f"the engine's {play} play of {len(pods)} {runtime} pods failed (rc={proc.returncode}): {proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.splitlines()[-1])
    return Play(wall, sum(out["pod_ms"]), out["peak_rss_kib"], out["rss_after_imports_kib"], len(pods), out["pod_ms"])


def playbook(runtime: str, play: str, pods: Sequence[str], way: str) -> list[dict[str, Any]]:
    """One play (JSON is YAML): one task looping the module over the pods (ansible), or one task of the list module
    with the pods' shared options in its defaults (ansible-list)."""
    verb = "Make" if play == "create" else "Remove"
    if way == "ansible-list":
        shared = {k: v for k, v in module_params(runtime, "", STATES[play][0]).items() if k != "name"}
        task = {"name": f"{verb} the pods in one task", LIST_MODULES[runtime]: {"defaults": shared, "pods": [{"name": p} for p in pods]}}
    else:
        task = {"name": f"{verb} each pod", MODULES[runtime]: module_params(runtime, "{{ item }}", STATES[play][0]),
                "loop": list(pods), "loop_control": {"label": "{{ item }}"}}
    return [{"name": f"{verb} {len(pods)} {runtime} pods", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]


def ansible_play(runtime: str, play: str, pods: Sequence[str], workdir: Path, way: str) -> Play:
    """ansible-playbook on the generated playbook; every module process runs under GNU time, which appends its peak RSS."""
    book, rss, times = workdir / f"{play}.yml", workdir / "rss.txt", workdir / "times.json"
    book.write_text(json.dumps(playbook(runtime, play, pods, way), indent=1) + "\n")
    rss.write_text("")
    times.unlink(missing_ok=True)
    # Ansible quotes the interpreter as one word: a script that hands the module to GNU time.
    interpreter = workdir / "python-under-time"
    interpreter.write_text(f'#!/bin/sh\nexec {GNU_TIME} -f %M -a -o {rss} {PYTHON} "$@"\n')
    interpreter.chmod(0o755)
    (workdir / "vars.json").write_text(json.dumps({"ansible_python_interpreter": str(interpreter)}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "bench" / "callback_plugins"), ANSIBLE_CALLBACKS_ENABLED="podlab_task_times",
               PODLAB_TASK_TIMES=str(times))
    argv = [str(ANSIBLE_PLAYBOOK), str(book), "-e", f"@{workdir / 'vars.json'}"]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise EngineFailed(f"ansible-playbook {play} of {len(pods)} {runtime} pods failed (rc={proc.returncode}): "
                           f"{proc.stdout[-3000:]}{proc.stderr[-1000:]}")
    peaks = [int(line) for line in rss.read_text().split()]
    processes = 1 if way == "ansible-list" else len(pods)
    if len(peaks) != processes:
        raise EngineFailed(f"ansible-playbook {play}: {len(peaks)} module processes for {len(pods)} pods, {processes} expected")
    task = json.loads(times.read_text())["tasks"][-1]["ms"]
    return Play(wall, task, max(peaks), min(peaks), len(peaks))


# ---------------------------------------------------------------------------
# ns_facts over the pods


def facts_params(runtime: str, pods: Sequence[str]) -> dict[str, Any]:
    return {"pods": list(pods)} if runtime == "docker" else {"cri_pods": list(pods), "namespace": CRI_NAMESPACE}


def facts(runtime: str, pods: Sequence[str]) -> dict[str, Any]:
    """ns_facts' manager in this process, as bench/ns_facts.py runs it: validated params, a fresh client."""
    return NsFactsManager(stand_in(FACTS_SPEC, facts_params(runtime, pods))).run()


def check_facts(runtime: str, pods: Sequence[str]) -> None:
    """Once, untimed: every pod found with its members, no drift; timing wrong facts would be worthless."""
    got = facts(runtime, pods)["ansible_facts"]["podlab_ns"]["pods"]
    problems = [f"{pod}: found={got.get(pod, {}).get('found')}, {len(got.get(pod, {}).get('members', {}))} members, "
                f"drift {got.get(pod, {}).get('drift')}" for pod in pods
                if not got.get(pod, {}).get("found") or len(got[pod].get("members", {})) != MEMBERS or got[pod].get("drift")]
    if problems:
        raise EngineFailed(f"ns_facts over the {runtime} pods is wrong after the create play: {problems[:5]}")


# ---------------------------------------------------------------------------
# A cell: one runtime, one way, one size, one repetition


@dataclass
class Cell:
    runtime: str
    way: str
    size: int
    repeat: int
    create: Play | None = None
    remove: Play | None = None
    facts_ms: list[float] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    first_failure: str = ""  # when the cell ran a second time: why the first failed

    @property
    def pods(self) -> list[str]:
        return [f"{PREFIX}-{self.runtime[0]}{WAY_CODES[self.way]}{self.size}-{self.repeat}-{i}" for i in range(self.size)]

    @property
    def containers(self) -> int:
        return self.size * (MEMBERS + 1)

    @property
    def plays(self) -> tuple[Play, Play]:
        """The create and remove plays of a cell that ran to the end."""
        if self.create is None or self.remove is None:
            raise EngineFailed(f"cell {self.runtime} {self.way} {self.size} did not run to the end")
        return self.create, self.remove


class Run:
    """The whole run's cells, and what finds and removes anything they leave, whatever happens."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        layout = Layout.detect()
        self.docker = Sweeper(PREFIX, layout)
        self.cri = CriSweeper(CriClient(args.cri_socket), layout, LABEL_RUN, CRI_NAMESPACE) if "cri" in args.runtimes else None

    def play(self, cell: Cell, play: str) -> Play:
        if cell.way == "engine":
            return engine_play(cell.runtime, play, cell.pods)
        return ansible_play(cell.runtime, play, cell.pods, self.workdir, cell.way)

    def measure(self, cell: Cell) -> None:
        if self.cri and cell.runtime == "cri":
            self.cri.add(cell.pods)
        try:
            cell.create = self.play(cell, "create")
            check_facts(cell.runtime, cell.pods)
            cell.facts_ms = [timed(lambda: facts(cell.runtime, cell.pods)) for _round in range(self.args.facts_rounds)]
            cell.remove = self.play(cell, "remove")
        finally:
            cell.left = self.left_of(cell)
            self.sweep(cell)

    def left_of(self, cell: Cell) -> list[str]:
        if cell.runtime == "docker":
            docker_answering()
            return [name for name in self.docker.containers() if name.split("_", 1)[0] in cell.pods] + [
                str(p) for p in self.docker.cgroups() if p.name.removeprefix("pod-") in cell.pods]
        return self.cri.report(cell.pods) if self.cri else []

    def sweep(self, cell: Cell | None = None) -> None:
        if cell is None or cell.runtime == "docker":
            docker_answering()
            self.docker.sweep()
        if self.cri and (cell is None or cell.runtime == "cri"):
            self.cri.sweep(cell.pods if cell else None)

    def leftovers(self) -> list[str]:
        """After the final sweep: the sweepers' view, then the CLIs' (docker ps, ctr), then every cgroup named after the run."""
        left = self.docker.report() + (self.cri.report() if self.cri else [])
        return left + cli_leftovers(PREFIX, LABEL_RUN)


def cells_in_order(args: argparse.Namespace) -> list[Cell]:
    """Each repetition runs every runtime x way, in a rotated order; within each, the sizes in an order rotated by both,
    so the largest size is not always run last (or right after the smallest)."""
    combos = [(r, w) for r in args.runtimes for w in args.ways]
    order = []
    for rep in range(args.repeat):
        for index, (runtime, way) in enumerate(rotated(combos, rep)):
            order += [Cell(runtime, way, size, rep) for size in rotated(args.sizes, rep + index)]
    return order


# ---------------------------------------------------------------------------
# Report


def per_pod(play: Play, size: int, what: str) -> float:
    return (play.in_play_ms if what == "in_play" else play.wall_ms) / size


def median_of(cells: list[Cell], key: Any) -> float:
    return statistics.median(key(c) for c in cells)


def ratios(cells: list[Cell], small: int, large: int) -> dict[str, dict[str, float]]:
    """Per runtime x way: per pod (per container) at the largest size / at the smallest, paired by repetition, median."""
    out: dict[str, dict[str, float]] = {}
    metrics = {
        "create in play": lambda c: per_pod(c.create, c.size, "in_play"), "create wall": lambda c: per_pod(c.create, c.size, "wall"),
        "remove in play": lambda c: per_pod(c.remove, c.size, "in_play"), "remove wall": lambda c: per_pod(c.remove, c.size, "wall"),
        "ns_facts per container": lambda c: statistics.median(c.facts_ms) / c.containers,
    }
    for runtime, way in sorted({(c.runtime, c.way) for c in cells}):
        reps = sorted({c.repeat for c in cells})
        by = {(c.size, c.repeat): c for c in cells if (c.runtime, c.way) == (runtime, way)}
        out[f"{runtime} {way}"] = {name: round(statistics.median(metric(by[large, r]) / metric(by[small, r]) for r in reps), 2)
                                   for name, metric in metrics.items()}
    return out


def rss(play: Play) -> str:
    return f"{play.peak_rss_kib / 1024:.0f} ({play.base_rss_kib / 1024:.0f})"


def print_table(cells: list[Cell]) -> None:
    print("\n| runtime | way | pods | create s | per pod ms | remove s | per pod ms | ns_facts ms | per container ms | "
          "peak RSS MiB, create (base) | remove (base) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for runtime, way, size in sorted({(c.runtime, c.way, c.size) for c in cells}, key=lambda k: (k[0] != "docker", WAYS.index(k[1]), k[2])):
        group = [c for c in cells if (c.runtime, c.way, c.size) == (runtime, way, size)]
        worst = max(group, key=lambda c: c.plays[0].peak_rss_kib)
        print(f"| {runtime} | {way} | {size} | {median_of(group, lambda c: c.create.wall_ms) / 1000:.1f} "
              f"| {median_of(group, lambda c: per_pod(c.create, c.size, 'in_play')):.0f} "
              f"| {median_of(group, lambda c: c.remove.wall_ms) / 1000:.1f} "
              f"| {median_of(group, lambda c: per_pod(c.remove, c.size, 'in_play')):.0f} "
              f"| {median_of(group, lambda c: statistics.median(c.facts_ms)):.0f} "
              f"| {median_of(group, lambda c: statistics.median(c.facts_ms) / c.containers):.2f} "
              f"| {rss(worst.plays[0])} | {rss(worst.plays[1])} |")


def fits(cells: list[Cell]) -> dict[str, dict[str, dict[str, float]]]:
    """Least squares over the sizes (every cell a point): ms per pod (per container) + fixed ms, in play and wall."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    metrics = {"create in play": (lambda c: c.plays[0].in_play_ms, "size"), "create wall": (lambda c: c.plays[0].wall_ms, "size"),
               "remove in play": (lambda c: c.plays[1].in_play_ms, "size"), "remove wall": (lambda c: c.plays[1].wall_ms, "size"),
               "ns_facts": (lambda c: statistics.median(c.facts_ms), "containers")}
    for runtime, way in sorted({(c.runtime, c.way) for c in cells}):
        group = [c for c in cells if (c.runtime, c.way) == (runtime, way)]
        out[f"{runtime} {way}"] = {}
        for name, (metric, per) in metrics.items():
            fit = statistics.linear_regression([getattr(c, per) for c in group], [metric(c) for c in group])
            out[f"{runtime} {way}"][name] = {"ms_per_unit": round(fit.slope, 2), "fixed_ms": round(fit.intercept, 1)}
    return out


def drift_in_play(cells: list[Cell], large: int) -> dict[str, dict[str, float]]:
    """The engine way at the largest size: the median of its last 10 pods' runs / its first 10 (same process, same minute)."""
    out = {}
    for c in cells:
        if c.way == "engine" and c.size == large and c.size >= 20:
            create, remove = c.plays
            out[f"{c.runtime} repeat {c.repeat}"] = {
                step: round(statistics.median(play.pod_ms[-10:]) / statistics.median(play.pod_ms[:10]), 2)
                for step, play in (("create", create), ("remove", remove))}
    return out


def print_report(cells: list[Cell], sizes: list[int]) -> dict[str, Any]:
    print_table(cells)
    small, large = min(sizes), max(sizes)
    found = ratios(cells, small, large)
    print(f"\nper pod (ns_facts: per container) at {large} pods / at {small}, paired by repetition (target <= {TARGET}):\n")
    names = list(next(iter(found.values())).keys())
    print("| runtime, way | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for key, row in found.items():
        print(f"| {key} | " + " | ".join(f"{v:.2f}{'' if v <= TARGET else ' (over)'}" for v in row.values()) + " |")
    fitted = fits(cells)
    print("\nleast squares over all cells (cost per pod + fixed cost of the play):")
    for key, lines in fitted.items():
        parts = [f"{name} {fit['ms_per_unit']:.1f} ms per {'container' if name == 'ns_facts' else 'pod'} + {fit['fixed_ms']:.0f} ms"
                 for name, fit in lines.items()]
        print(f"  {key}: " + "; ".join(parts))
    drift = drift_in_play(cells, large)
    for key, steps in drift.items():
        print(f"engine way, {large} pods, {key}: last 10 pods / first 10 (median run): create {steps['create']:.2f}, "
              f"remove {steps['remove']:.2f}")
    return {"ratios": found, "fits": fitted, "last10_over_first10": drift}


def print_rss_note(cells: list[Cell]) -> None:
    notes = {
        "engine": "the play's whole process (one Python making or removing every pod: VmHWM); base: the same process after its "
                  "imports (the benchmark's and both engines')",
        "ansible": "the largest of the N module processes of the play (GNU time's %M: wait4's ru_maxrss of each); base: the smallest",
        "ansible-list": "the play's one module process, making or removing every pod (GNU time's %M); base: the same",
    }
    for way, text in notes.items():
        if any(c.way == way for c in cells):
            print(f"peak RSS, {way} way: {text}")


# ---------------------------------------------------------------------------
# Main


def csv(kind: type, allowed: Sequence[Any] | None = None) -> Any:
    def parse(text: str) -> list[Any]:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
        if not values or (allowed and any(v not in allowed for v in values)):
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {allowed}" if allowed else "expected a list")
        return values
    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=csv(int), default=[10, 30, 100], help="pods per cell (default 10,30,100)")
    parser.add_argument("--runtimes", type=csv(str, ("docker", "cri")), default=["docker", "cri"], help="docker,cri (default both)")
    parser.add_argument("--ways", type=csv(str, WAYS), default=list(WAYS), help=f"{','.join(WAYS)} (default all)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of every cell, in a rotated order (default 1)")
    parser.add_argument("--facts-rounds", type=int, default=5, help="ns_facts runs over each cell's pods (default 5; the median counts)")
    parser.add_argument("--cri-socket", default=DEFAULT_CRI_SOCKET, help=f"the CRI runtime's socket (default {DEFAULT_CRI_SOCKET})")
    parser.add_argument("--play", choices=sorted(STATES), help=argparse.SUPPRESS)  # the engine way's child process
    parser.add_argument("--runtime", choices=sorted(MODULES), help=argparse.SUPPRESS)
    parser.add_argument("--pods", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if len(set(args.sizes)) < 2 and not args.play:
        parser.error("--sizes needs at least two sizes: the ratios compare the largest with the smallest")
    return args


def preflights(args: argparse.Namespace) -> None:
    preflight()
    if {"ansible", "ansible-list"} & set(args.ways) and not Path(GNU_TIME).exists():
        raise SystemExit(f"{GNU_TIME} is missing (Debian's time package); the ansible ways read each module's peak RSS with it")
    if "cri" in args.runtimes:
        if not Path(args.cri_socket.removeprefix("unix://")).exists():
            raise SystemExit(f"no CRI socket at {args.cri_socket}; start containerd with: ansible-playbook playbooks/cri_node.yml")
        client = CriClient(args.cri_socket)
        for image in (MEMBER_IMAGE, f"docker.io/{PAUSE_IMAGE}"):
            if client.image_status(image) is None:
                raise SystemExit(f"image {image} is not in containerd's k8s.io namespace; run: ansible-playbook playbooks/cri_node.yml")
        client.close()


def cell_line(i: int, total: int, cell: Cell) -> str:
    c, r = cell.create, cell.remove
    if not c or not r:
        return f"cell {i}/{total}: {cell.runtime} {cell.way} {cell.size} pods: incomplete"
    return (f"cell {i:>2}/{total}: {cell.runtime:<6} {cell.way:<12} {cell.size:>3} pods: create {c.wall_ms / 1000:.1f} s "
            f"({c.in_play_ms / cell.size:.0f} ms/pod in play), ns_facts {statistics.median(cell.facts_ms):.0f} ms, "
            f"remove {r.wall_ms / 1000:.1f} s ({r.in_play_ms / cell.size:.0f} ms/pod), peak RSS {c.peak_rss_kib // 1024} MiB; "
            f"load {os.getloadavg()[0]:.1f}")


def measured(run: Run, cell: Cell, label: str) -> Cell:
    """The cell measured; one that fails is swept and run once more (other work on this host restarts dockerd and containerd)."""
    try:
        run.measure(cell)
    except (EngineFailed, CriError, OSError) as exc:
        print(f"{label} failed, its pods swept, running it once more: {str(exc)[:500]}", flush=True)
        cell = Cell(cell.runtime, cell.way, cell.size, cell.repeat, first_failure=str(exc)[:2000])
        run.measure(cell)
    return cell


def measure_all(run: Run, order: list[Cell]) -> None:
    for i, cell in enumerate(order):
        done = order[i] = measured(run, cell, f"cell {i + 1}/{len(order)}")
        print(cell_line(i + 1, len(order), done), flush=True)
        if done.left:
            print(f"  left after the remove play (swept): {done.left}")


def final_sweep(run: Run) -> list[str]:
    """Remove what the run left and say what is still there; a sweep that fails is itself a leftover, never hidden."""
    try:
        run.sweep()
        left = run.leftovers()
    except (CriError, OSError, subprocess.CalledProcessError) as exc:
        left = [f"the final sweep failed, remove the run's pods by hand (names {PREFIX}-*): {exc}"]
    nothing = "none (docker ps, ctr -n k8s.io containers ls, the cgroup and log directories show nothing of this run)"
    print("leftovers: " + (", ".join(left) if left else nothing))
    return left


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.play:
        return play_child(args)
    preflights(args)
    facts_host = host_facts()
    order = cells_in_order(args)
    print(f"scale: sizes {args.sizes}, runtimes {args.runtimes}, ways {args.ways}, repeat {args.repeat}: {len(order)} cells, "
          f"{sum(c.size for c in order)} pods of {MEMBERS} members; {facts_host['cpus']} CPUs, load {facts_host['loadavg'][0]:.2f}; "
          f"names {PREFIX}-*", flush=True)
    left: list[str] = []
    found: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="podlab-scale-") as tmp:
        run = Run(args, Path(tmp))
        try:
            measure_all(run, order)
            print(f"{time.perf_counter() - started:.0f} s in all")
            found = print_report(order, args.sizes)
            print_rss_note(order)
        finally:
            left = final_sweep(run)
            path = write_results("scale", {
                "sizes": args.sizes, "runtimes": args.runtimes, "ways": args.ways, "repeat": args.repeat, "members": MEMBERS,
                "member_memory": MEMBER_MEMORY, "host": {**facts_host, "loadavg_after": os.getloadavg()}, "complete": bool(found),
                **found, "cells": [asdict(c) for c in order], "left_after_remove_plays": [x for c in order for x in c.left],
                "leftovers": left,
            })
            print(f"results: {path}")
    return 1 if left or any(c.left for c in order) else 0


if __name__ == "__main__":
    sys.exit(main())
