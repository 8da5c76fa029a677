# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the benchmarks under bench/ share: the local images, a stand-in for AnsibleModule that lets
a module's manager run in the benchmark's own process, interleaving and timing, Docker API and CRI call
tracers, the host's facts, the results directory, and a sweeper for what a run leaves behind.

Not a benchmark itself; bench/pod_create.py, bench/ns_facts.py, bench/cri_pod.py and bench/scale.py import it (run them from the
repository root, see docs/bench.md). Importing it puts the checkout's .collections on sys.path, so
that `ansible_collections.podlab.playground` resolves to this checkout.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))

# pylint: disable=wrong-import-position
import docker  # noqa: E402
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout  # noqa: E402
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient, CriError, CriUnavailable  # noqa: E402
from ansible_collections.podlab.playground.plugins.module_utils._docker import LocalEngine  # noqa: E402
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import LOG_ROOT  # noqa: E402
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import pod_uid  # noqa: E402

# pylint: enable=wrong-import-position

PAUSE_IMAGE = "podlab/pause:1"
MEMBER_IMAGE = "podlab/busybox:1"
MEMBER_COMMAND = ["sleep", "infinity"]
T = TypeVar("T")


# ---------------------------------------------------------------------------
# A module's manager in this process


class Method:
    """One way of making and removing a benchmark's pod. create() and teardown() are what is timed."""

    key = ""
    label = ""

    def create(self, pod: Any) -> None:
        raise NotImplementedError

    def teardown(self, pod: Any) -> None:
        raise NotImplementedError


class EngineFailed(Exception):
    """fail_json was called: the engine gave up with this message."""


class StandInModule:
    """The few AnsibleModule members the managers use (DockerPodManager, NsFactsManager), without a module process."""

    check_mode = False

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def fail_json(self, msg: str, **kwargs: Any) -> None:
        raise EngineFailed(f"{msg} (warnings: {self.warnings})" if self.warnings else msg)

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


def validated(spec: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Validate and fill defaults as AnsibleModule does, with Ansible's own validator."""
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise EngineFailed("; ".join(result.error_messages))
    return result.validated_parameters


def stand_in(spec: dict[str, Any], params: dict[str, Any]) -> StandInModule:
    """A stand-in module whose params are what AnsibleModule would hand the manager for this task."""
    return StandInModule(validated(spec, params))


# ---------------------------------------------------------------------------
# Timing and interleaving


def timed(step: Callable[[], Any]) -> float:
    """Wall milliseconds of one call."""
    start = time.perf_counter()
    step()
    return (time.perf_counter() - start) * 1000


def rotated(items: Sequence[T], iteration: int) -> list[T]:
    """Round-robin with a rotating start, so no method always runs first (or right after another)."""
    shift = iteration % len(items)
    return [*items[shift:], *items[:shift]]


def min_median_max(values: Sequence[float]) -> dict[str, float]:
    return {"min": round(min(values), 1), "median": round(statistics.median(values), 1), "max": round(max(values), 1)}


# ---------------------------------------------------------------------------
# Tracing Docker API calls


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


@contextlib.contextmanager
def traced_engine_calls(calls: list[ApiCall]) -> Iterator[None]:
    """Record every request the collection's own kept-alive client (LocalEngine) sends while the block runs."""
    original = LocalEngine._request

    def request(self: Any, method: str, path: str, body: Any, timeout: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, method, path, body, timeout)
        finally:
            calls.append(ApiCall(threading.current_thread().name, method, path.split("?", 1)[0], start, (time.perf_counter() - start) * 1000))

    LocalEngine._request = request  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalEngine._request = original  # type: ignore[method-assign]


def print_trace(title: str, calls: list[ApiCall], total_ms: float) -> None:
    print(f"\n{title}: {len(calls)} Docker API calls, {sum(c.ms for c in calls):.0f} ms summed over threads, {total_ms:.0f} ms wall")
    origin = calls[0].start if calls else 0.0
    for call in calls:
        print(f"  +{(call.start - origin) * 1000:6.1f} ms {call.ms:6.1f} ms  {call.thread[:18]:<18} {call.method:<6} {call.path}")


# ---------------------------------------------------------------------------
# The host


def rmdir_everywhere(relpath: str, layout: Layout) -> None:
    """What the recipes do after docker rm: runc never removes the parent it made (in every hierarchy)."""
    for path in layout.everywhere(relpath):
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(path)


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


def preflight(images: Sequence[str] = (PAUSE_IMAGE, MEMBER_IMAGE)) -> None:
    """The benchmarks use local images only (pull: never); say how to build them if one is missing."""
    api = docker.APIClient(version="auto")
    for image in images:
        try:
            api.inspect_image(image)
        except docker.errors.NotFound:
            raise SystemExit(f"image {image} is missing; build it with: ansible-playbook playbooks/images.yml") from None


def write_results(benchmark: str, data: dict[str, Any]) -> Path:
    """bench/results/<benchmark>-<time>.json (git-ignored)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{benchmark}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"benchmark": benchmark, **data}, indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------
# Leftovers


class Sweeper:
    """Removes, and finds, what one run made: containers named PREFIX* and cgroups named *PREFIX* in every hierarchy."""

    def __init__(self, prefix: str, layout: Layout) -> None:
        self.prefix = prefix
        self.layout = layout
        self.api = docker.APIClient(version="auto")

    def containers(self) -> list[str]:
        found = self.api.containers(all=True, filters={"name": self.prefix})
        return sorted(n.lstrip("/") for c in found for n in c["Names"] if self.prefix in n)

    def cgroups(self) -> list[Path]:
        return sorted(p for h in self.layout.hierarchies() for p in h.glob(f"*{self.prefix}*") if p.is_dir())

    def sweep(self, pod: str | None = None) -> None:
        """Remove every container and cgroup of this run, or only those of the pod named `pod`."""
        for name in self.containers():
            if pod is None or name.startswith(f"{pod}_"):
                with contextlib.suppress(docker.errors.NotFound):
                    self.api.remove_container(name, force=True)
        for path in self.cgroups():
            if pod is None or path.name in (pod, f"pod-{pod}"):
                with contextlib.suppress(FileNotFoundError, OSError):
                    os.rmdir(path)

    def report(self) -> list[str]:
        return self.containers() + [str(p) for p in self.cgroups()]


# ---------------------------------------------------------------------------
# The CRI (bench/cri_pod.py)


@dataclass
class CriCall:
    thread: str
    method: str
    start: float
    ms: float


@contextlib.contextmanager
def traced_cri_calls(calls: list[CriCall]) -> Iterator[None]:
    """Record every gRPC call any CriClient makes while the block runs (the engine's and the benchmark's own)."""
    original = CriClient.call

    def call(self: Any, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, service, method, *args, **kwargs)
        finally:
            calls.append(CriCall(threading.current_thread().name, method, start, (time.perf_counter() - start) * 1000))

    CriClient.call = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        CriClient.call = original  # type: ignore[method-assign]


def rmdir_tree_everywhere(relpath: str, layout: Layout) -> None:
    """Remove a cgroup and every cgroup below it, leaf first, in every hierarchy (what kubelet does for a pod cgroup)."""
    for top in layout.everywhere(relpath):
        if not top.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda walk: -len(walk[0])):
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(dirpath)


class CriSweeper:
    """Removes, and finds, what one run made through the CRI: every sandbox and container labelled LABEL_KEY=value, the pod
    cgroups (kubepods/*/pod<uid>, in every hierarchy) and log directories of the pods it is told about (add()), and
    kubelet's shared kubepods directories where the run made them."""

    QOS = ("kubepods", "kubepods/besteffort", "kubepods/burstable")

    def __init__(self, client: CriClient, layout: Layout, label: tuple[str, str], namespace: str) -> None:
        self.client = client
        self.layout = layout
        self.label = label
        self.namespace = namespace
        self.pods: set[str] = set()
        self.shared = [p for rel in self.QOS for p in layout.everywhere(rel)]
        self.shared_before = {p for p in self.shared if p.is_dir()}

    def add(self, pods: Sequence[str]) -> None:
        self.pods.update(pods)

    def _uid(self, pod: str) -> str:
        return pod_uid(self.namespace, pod)

    def _log_dir(self, pod: str) -> Path:
        return LOG_ROOT / f"{self.namespace}_{pod}_{self._uid(pod)}"

    def _cgroup_dirs(self, pods: Sequence[str]) -> list[Path]:
        uids = [self._uid(pod) for pod in pods]
        return sorted(d for h in self.layout.hierarchies() for uid in uids for d in [*h.glob(f"kubepods/*/pod{uid}"), *h.glob(f"kubepods/pod{uid}")])

    def _labelled(self) -> dict[str, str]:
        return {self.label[0]: self.label[1]}

    def answering(self, timeout: float = 120.0) -> None:
        """Wait until the CRI answers (other work on the host may be restarting containerd), on a new channel each try:
        a sweep that gives up during a restart would leave the run's pods behind."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.version()
                return
            except CriUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
                self.client.close()
                self.client = CriClient(self.client.endpoint)

    def sweep(self, pods: Sequence[str] | None = None) -> None:
        """Remove everything of this run, or only what belongs to `pods`."""
        self.answering()
        wanted = set(pods) if pods is not None else None
        for sandbox in self.client.list_pod_sandboxes(self._labelled()):
            if wanted is None or sandbox["metadata"]["name"] in wanted:
                with contextlib.suppress(CriError):
                    self.client.stop_pod_sandbox(sandbox["id"])
                    self.client.remove_pod_sandbox(sandbox["id"])
        for container in self.client.list_containers(labels=self._labelled()):
            if wanted is None or container["labels"].get("podlab.pod") in wanted:
                with contextlib.suppress(CriError):
                    self.client.remove_container(container["id"])
        mine = sorted(wanted if wanted is not None else self.pods)
        for pod in mine:
            shutil.rmtree(self._log_dir(pod), ignore_errors=True)
        for top in self._cgroup_dirs(mine):
            rmdir_tree(top)
        if wanted is None:
            for path in sorted(set(self.shared) - self.shared_before, key=lambda p: -len(str(p))):
                with contextlib.suppress(OSError):
                    path.rmdir()

    def report(self, pods: Sequence[str] | None = None) -> list[str]:
        """What is left of this run (or of `pods`), as the CRI and the host's directories show it."""
        self.answering()
        wanted = set(pods) if pods is not None else None
        left = [f"CRI sandbox {s['metadata']['name']} {s['id'][:12]}" for s in self.client.list_pod_sandboxes(self._labelled())
                if wanted is None or s["metadata"]["name"] in wanted]
        left += [f"CRI container {c['metadata']['name']} {c['id'][:12]}" for c in self.client.list_containers(labels=self._labelled())
                 if wanted is None or c["labels"].get("podlab.pod") in wanted]
        mine = sorted(wanted if wanted is not None else self.pods)
        left += [str(d) for d in self._cgroup_dirs(mine)]
        left += [str(self._log_dir(pod)) for pod in mine if self._log_dir(pod).exists()]
        if wanted is None:
            left += [str(p) for p in sorted(set(self.shared) - self.shared_before) if p.is_dir()]
        return left


def rmdir_tree(top: Path) -> None:
    """One cgroup directory and everything below it, leaf first."""
    for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda walk: -len(walk[0])):
        with contextlib.suppress(FileNotFoundError, OSError):
            os.rmdir(dirpath)


def docker_answering(timeout: float = 120.0) -> None:
    """Wait until dockerd answers /_ping (other work on the host may be restarting it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            docker.APIClient(version="auto").ping()
            return
        except (docker.errors.DockerException, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def cli_leftovers(name_part: str, label: tuple[str, str]) -> list[str]:
    """A second opinion on leftovers from the runtimes' own CLIs: Docker containers whose name holds `name_part`
    (`docker ps -a`), containerd containers and sandboxes with the label (`ctr -n k8s.io containers ls`)."""
    left: list[str] = []
    docker_cli = shutil.which("docker")
    if docker_cli:
        out = subprocess.run([docker_cli, "ps", "-a", "--filter", f"name={name_part}", "--format", "{{.Names}}"],
                             capture_output=True, text=True, check=True).stdout
        left += [f"docker ps: {name}" for name in out.split()]
    ctr = shutil.which("ctr")
    if ctr:
        out = subprocess.run([ctr, "-n", "k8s.io", "containers", "ls", "-q", f'labels."{label[0]}"=={label[1]}'],
                             capture_output=True, text=True, check=True).stdout
        left += [f"ctr -n k8s.io containers ls: {cid[:12]}" for cid in out.split()]
    return left
