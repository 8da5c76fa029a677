# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host tier's tools: run a module in this process, snapshot what the modules can leave on the host, read the
kernel, and remove what the tier made.

Everything the tier makes is named with PREFIX (pods, cgroup names, CRI UIDs). Other engineers run tests on the same
machine, so a snapshot is compared only on the objects that are the tier's (their name, label or UID holds PREFIX, or
an ID or UID the tier's runs reported) plus any cgroup directory that is neither the tier's nor under another test's
known prefix (FOREIGN_PREFIXES, PODLAB_HOST_FOREIGN): a run that put a cgroup where it should not shows there.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
import requests
from ansible.module_utils.common import warnings as core_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import DEFAULT_CRI_SOCKET, CriClient, CriError, CriUnavailable
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import LOG_ROOT, POD_ROOT
from ansible_collections.podlab.playground.plugins.module_utils._pod.lock import LOCK_DIR
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_POD

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
PREFIX = "podlabhp"
# A cgroup the tier makes before the examples, in every hierarchy: the user's own cgroup of cgroup_parent.create: false.
OWN_CGROUP = f"/{PREFIX}-own"
# Scratch directory for bind mounts: generated host paths are confined to it.
SCRATCH = Path("/tmp") / f"{PREFIX}-bind"
# What names the cgroups of other tests hold (integration targets, the fault suite); PODLAB_HOST_FOREIGN adds more,
# comma-separated, for a developer's own runs beside this tier. process_api is the machine's own per-process tree.
FOREIGN_PREFIXES = ("podlabit", "podlabcri", "podlabflt", "pod-podlabit", "pod-podlabcri", "pod-podlabflt", "process_api",
                    *(p for p in os.environ.get("PODLAB_HOST_FOREIGN", "").split(",") if p))
# Parents that runc, kubelet or a first CRI pod make once and that stay: Docker's default parent, kubelet's QoS tree.
SHARED_CGROUPS = frozenset({"docker", "kubepods", "kubepods/burstable", "kubepods/besteffort", "kubepods.slice",
                            "kubepods.slice/kubepods-burstable.slice", "kubepods.slice/kubepods-besteffort.slice"})
# docker_pod's default cgroup, pod-NAME, for a name docker_pod accepts: another pod's, when NAME has no PREFIX.
_OTHER_POD = re.compile(r"pod-[a-zA-Z0-9][a-zA-Z0-9_.-]*")
# Where network namespaces are pinned: ip netns, containerd's CRI. Not Docker's /run/docker/netns: dockerd removes a
# removed container's namespace file lazily, up to a minute later, so it cannot be compared right after a run.
NETNS_DIRS = (Path("/run/netns"), Path("/var/run/netns"), Path("/run/containerd/io.containerd.grpc.v1.cri/netns"))
# A Python exception's text in a message: a traceback, a frame line or a builtin exception's name (ansible-core's own
# argument checks name types as <class 'list'>, which is fine).
_EXCEPTION_TEXT = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\b(?:TypeError|KeyError|AttributeError|IndexError|"
    r"NameError|UnboundLocalError|AssertionError|ZeroDivisionError|RecursionError|OverflowError|UnicodeEncodeError|"
    r"UnicodeDecodeError|JSONDecodeError|NotImplementedError)\b"
)


# -- what the tier's runs made ----------------------------------------------------------------------------------------

@dataclass
class Owned:
    """Container and sandbox IDs and pod UIDs the tier's runs reported or caused: the tier's own even without PREFIX."""

    ids: set[str] = field(default_factory=set)
    uids: set[str] = field(default_factory=set)

    def has_cgroup(self, rel: str) -> bool:
        segments = rel.split("/")
        if any(PREFIX in s for s in segments):
            return True
        if segments[0] == "docker" and len(segments) > 1 and segments[1] in self.ids:
            return True
        for s in segments:  # kubelet's pod cgroup, cgroupfs (pod<uid>) or systemd (kubepods-...-pod<uid with _>.slice)
            if s.startswith("pod") and s[3:] in self.uids:
                return True
            if s.endswith(".slice") and "-pod" in s and s[: -len(".slice")].rsplit("-pod", 1)[1].replace("_", "-") in self.uids:
                return True
        return False

    def has_labels(self, name: str, labels: dict[str, str] | None) -> bool:
        return PREFIX in name or PREFIX in (labels or {}).get(LABEL_POD, "")


OWNED = Owned()


@dataclass
class Tier:
    """What the session learnt of the host, and what the examples did (module -> outcome -> count)."""

    compare_locks: bool
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def count(self, module: str, outcome: str) -> None:
        self.counts.setdefault(module, Counter())[outcome] += 1


def cgroup_kind(rel: str) -> str:
    """mine | shared | foreign | unknown, for a cgroup directory below a hierarchy's root."""
    if OWNED.has_cgroup(rel):
        return "mine"
    if rel in SHARED_CGROUPS:
        return "shared"
    segments = rel.split("/")
    if any(p in s for p in FOREIGN_PREFIXES for s in segments):
        return "foreign"
    if segments[0] == "docker" or (segments[0].startswith("kubepods") and any(s.startswith("pod") or "-pod" in s for s in segments)):
        return "foreign"  # another test's container or CRI pod (the tier's are recognised by OWNED first)
    if _OTHER_POD.fullmatch(segments[0]):
        return "foreign"  # docker_pod's cgroup of another pod (a name docker_pod takes; one it refuses stays unknown)
    return "unknown"


# -- running a module -------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one run of a module gave: its JSON result, and the traceback when it raised instead of exiting."""

    args: dict[str, Any]
    result: dict[str, Any]
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.result.get("failed"))

    def refusal_problems(self) -> list[str]:
        """Why this failure is not a clean refusal (empty: a message that says what is wrong, no exception)."""
        if self.error:
            return [f"the module raised instead of failing with a message:\n{self.error}"]
        problems = []
        msg = self.result.get("msg")
        if not isinstance(msg, str) or not msg.strip():
            problems.append(f"no msg in the failure: {self.result!r}")
        elif _EXCEPTION_TEXT.search(msg):
            problems.append(f"the msg holds exception text: {msg!r}")
        problems += [f"the failure has {key!r}: {self.result[key]!r}" for key in ("exception", "module_stderr") if key in self.result]
        return problems


def run_module(main: Callable[[], None], args: dict[str, Any]) -> Outcome:
    """Run a module's main() here, with args as its task arguments, as ansible-core's own test helper allows."""
    # warnings are process-wide in ansible-core: without this a run would report the previous runs' warnings
    for registry in ("_global_warnings", "_global_deprecations"):
        getattr(core_warnings, registry, {}).clear()
    out = io.StringIO()
    error = None
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit:
            pass  # exit_json and fail_json end the run so
        except Exception:  # anything else is what a real run shows as a traceback: the finding itself
            error = traceback.format_exc()
    text = out.getvalue().strip()
    result: dict[str, Any] = {}
    if text:
        try:
            result = json.loads(text.splitlines()[-1] if not text.startswith("{") else text)
        except json.JSONDecodeError:
            error = (error or "") + f"\nthe module printed what is not its JSON result:\n{text[-2000:]}"
    elif error is None:
        error = "the module ended without a result"
    return Outcome(args, result, error)


# -- the host's state -------------------------------------------------------------------------------------------------

_docker: list[docker.APIClient] = []
_cri: list[CriClient] = []
# While dockerd or containerd restarts (other engineers' fault tests restart them), the tier's own reads wait, up to a minute.
_WAIT = 60


def docker_api() -> docker.APIClient:
    """A kept Docker client, once the daemon answers."""
    for _attempt in range(_WAIT):
        try:
            if not _docker:
                _docker.append(docker.APIClient(base_url="unix:///var/run/docker.sock", timeout=60))
            _docker[0].ping()
            return _docker[0]
        except (docker.errors.DockerException, requests.exceptions.ConnectionError):
            if _docker:
                _docker.pop().close()
            time.sleep(1)
    return docker.APIClient(base_url="unix:///var/run/docker.sock", timeout=60)


def cri_call(call: Callable[[CriClient], T]) -> T:
    """call on a kept CRI client, once containerd answers."""
    for _attempt in range(_WAIT):
        try:
            if not _cri:
                _cri.append(CriClient(DEFAULT_CRI_SOCKET, timeout=60))
            return call(_cri[0])
        except CriError as exc:
            if not isinstance(exc, CriUnavailable) and "not initialized" not in str(exc):
                raise
            if _cri:
                _cri.pop().close()
            time.sleep(1)
    return call(CriClient(DEFAULT_CRI_SOCKET, timeout=60))


def _dirs_below(root: Path) -> set[str]:
    """Every directory below root, as paths relative to it (cgroupfs: directories are cgroups)."""
    found: set[str] = set()
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = os.scandir(root / rel if rel else root)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    found.add(child)
                    stack.append(child)
    return found


def _real(path: str | Path) -> str:
    """A pinned namespace's path with its directory resolved (/var/run is /run here)."""
    path = Path(path)
    return str(Path(os.path.realpath(path.parent)) / path.name)


def _listing(path: Path) -> frozenset[str]:
    try:
        return frozenset(os.listdir(path))
    except FileNotFoundError:
        return frozenset()


@dataclass(frozen=True)
class Snapshot:
    """The host as the modules can change it, unfiltered; compare() keeps what is the tier's."""

    containers: frozenset[tuple[str, str, str, tuple[tuple[str, str], ...]]]  # id, name, state, labels
    volumes: frozenset[tuple[str, tuple[tuple[str, str], ...]]]
    networks: frozenset[str]
    cgroups: frozenset[tuple[str, str]]  # hierarchy mount point, directory below it
    sandboxes: frozenset[tuple[str, str, str, str, str, tuple[tuple[str, str], ...]]]  # id, namespace, name, uid, state, labels
    cri_containers: frozenset[tuple[str, str, str, str, tuple[tuple[str, str], ...]]]  # id, sandbox id, name, state, labels
    netns: frozenset[str]
    locks: frozenset[str]
    pod_dirs: frozenset[str]
    log_dirs: frozenset[str]


def take_snapshot() -> Snapshot:
    api = docker_api()
    containers = frozenset((c["Id"], (c.get("Names") or ["?"])[0].lstrip("/"), c.get("State", ""), tuple(sorted((c.get("Labels") or {}).items())))
                           for c in api.containers(all=True))
    volumes = frozenset((v["Name"], tuple(sorted((v.get("Labels") or {}).items()))) for v in api.volumes().get("Volumes") or [])
    networks = frozenset(n["Name"] for n in api.networks())
    sandboxes = frozenset((s["id"], s["metadata"]["namespace"], s["metadata"]["name"], s["metadata"]["uid"], s["state"],
                           tuple(sorted(s.get("labels", {}).items()))) for s in cri_call(CriClient.list_pod_sandboxes))
    cri_containers = frozenset((c["id"], c["pod_sandbox_id"], c["metadata"]["name"], c["state"], tuple(sorted(c.get("labels", {}).items())))
                               for c in cri_call(CriClient.list_containers))
    cgroups = frozenset((str(h), rel) for h in Layout.detect().hierarchies() for rel in _dirs_below(h))
    netns = frozenset(_real(d / n) for d in NETNS_DIRS for n in _listing(d))
    return Snapshot(containers, volumes, networks, cgroups, sandboxes, cri_containers, netns, _listing(LOCK_DIR),
                    _listing(POD_ROOT), _listing(LOG_ROOT))


def _is_mine_sandbox(sandbox_id: str, name: str, uid: str, labels: dict[str, str]) -> bool:
    return sandbox_id in OWNED.ids or PREFIX in name or PREFIX in uid or uid in OWNED.uids or PREFIX in labels.get(LABEL_POD, "")


def _mine_sandbox_ids(*snapshots: Snapshot) -> set[str]:
    return {s[0] for snap in snapshots for s in snap.sandboxes if _is_mine_sandbox(s[0], s[2], s[3], dict(s[5]))}


def mine(snap: Snapshot, *, also: Snapshot | None = None, locks: bool = True) -> dict[str, frozenset[Any]]:
    """The tier's objects in snap (and the cgroup directories that are no one's known, which compare() judges too)."""
    sandbox_ids = _mine_sandbox_ids(snap, *([also] if also else []))
    view: dict[str, frozenset[Any]] = {
        "containers": frozenset(c for c in snap.containers if OWNED.has_labels(c[1], dict(c[3])) or c[0] in OWNED.ids),
        "volumes": frozenset(v for v in snap.volumes if OWNED.has_labels(v[0], dict(v[1]))),
        "networks": frozenset(n for n in snap.networks if PREFIX in n),
        "cgroups": frozenset(c for c in snap.cgroups if cgroup_kind(c[1]) in ("mine", "unknown")),
        "cri sandboxes": frozenset(s for s in snap.sandboxes if s[0] in sandbox_ids),
        "cri containers": frozenset(c for c in snap.cri_containers if c[1] in sandbox_ids or PREFIX in dict(c[4]).get(LABEL_POD, "")),
        "pod dirs": frozenset(d for d in snap.pod_dirs if PREFIX in d or d in OWNED.uids),
        "log dirs": frozenset(d for d in snap.log_dirs if PREFIX in d or d.rsplit("_", 1)[-1] in OWNED.uids),  # NAMESPACE_NAME_UID
    }
    if locks:
        view["locks"] = frozenset(n for n in snap.locks if PREFIX in n)
    return view


def foreign_netns() -> set[str]:
    """Network namespaces pinned for CRI sandboxes that are not the tier's (other tests' pods)."""
    paths: set[str] = set()
    for sandbox in cri_call(CriClient.list_pod_sandboxes):
        meta = sandbox["metadata"]
        if _is_mine_sandbox(sandbox["id"], meta["name"], meta["uid"], sandbox.get("labels", {})):
            continue
        status = cri_call(lambda cri, sid=sandbox["id"]: cri.pod_sandbox_status(sid, verbose=True)) or {}
        info = json.loads((status.get("info") or {}).get("info") or "{}")
        paths |= {_real(ns["path"]) for ns in ((info.get("runtimeSpec") or {}).get("linux") or {}).get("namespaces") or []
                  if ns.get("type") == "network" and ns.get("path")}
    return paths


@dataclass(frozen=True)
class Difference:
    kind: str
    new: frozenset[Any]
    gone: frozenset[Any]

    def __str__(self) -> str:
        return f"{self.kind}: new {sorted(map(str, self.new))}, gone {sorted(map(str, self.gone))}"


def compare(before: Snapshot, after: Snapshot, *, locks: bool) -> list[Difference]:
    """What differs between two snapshots among the tier's objects, one per kind; empty when the host is as before."""
    old, new = mine(before, also=after, locks=locks), mine(after, also=before, locks=locks)
    differences = [Difference(kind, new[kind] - old[kind], old[kind] - new[kind]) for kind in old if new[kind] != old[kind]]
    unexplained = _unexplained_netns(after.netns - before.netns)
    if unexplained:
        differences.append(Difference("network namespaces", frozenset(unexplained), frozenset()))
    return differences


def _netns_in_use(paths: set[str]) -> set[str]:
    """Those of the pinned network namespaces that some process is in."""
    pinned: dict[tuple[int, int], str] = {}
    for path in paths:
        with contextlib.suppress(OSError):
            st = os.stat(path)
            pinned[(st.st_dev, st.st_ino)] = path
    used = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                st = os.stat(f"/proc/{entry}/ns/net")
                if (st.st_dev, st.st_ino) in pinned:
                    used.add(pinned[(st.st_dev, st.st_ino)])
    return used


def _unexplained_netns(appeared: frozenset[str]) -> set[str]:
    """New pinned network namespaces that no process is in and no other test's sandbox holds: left behind. Another
    test's sandbox pins its namespace a moment before its pause process starts, and unpins it a moment after it ends:
    what looks left is looked at again for a second and a half."""
    unexplained = set(appeared)
    for _attempt in range(4):
        unexplained = {p for p in unexplained if os.path.exists(p)}
        if unexplained:
            unexplained -= foreign_netns() | _netns_in_use(unexplained)
        if not unexplained:
            break
        time.sleep(0.5)
    return unexplained


# -- the kernel's view of what a run made -----------------------------------------------------------------------------

def ns_id(pid: int, kind: str) -> tuple[int, int]:
    """A namespace's identity, (device, inode) of /proc/PID/ns/KIND, as the kernel gives it."""
    st = os.stat(f"/proc/{pid}/ns/{kind}")
    return st.st_dev, st.st_ino


def cgroup_paths(pid: int) -> dict[str, str]:
    """/proc/PID/cgroup: hierarchy key (controllers, name=..., or '' for v2) -> path."""
    paths = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        paths[controllers] = path
    return paths


# -- cleaning up ------------------------------------------------------------------------------------------------------

def _remove_cgroup_dirs(dirs: Iterable[tuple[str, str]], removed: list[str]) -> None:
    for hierarchy, rel in sorted(dirs, key=lambda d: d[1].count("/"), reverse=True):  # leaves first
        path = Path(hierarchy) / rel
        with contextlib.suppress(FileNotFoundError):
            try:
                path.rmdir()
                removed.append(f"cgroup {path}")
            except OSError as exc:
                removed.append(f"cgroup {path} NOT removed ({exc.strerror})")


def clean(before: Snapshot | None = None) -> list[str]:
    """Remove the tier's objects (those not in before, when given: what one example added) and the unknown cgroup
    directories that are new. Returns what it removed, as lines."""
    now = take_snapshot()
    current, kept = mine(now), (mine(before) if before else None)

    def new(kind: str) -> frozenset[Any]:
        return current[kind] - kept[kind] if kept is not None else current[kind]

    removed: list[str] = []
    for container in new("cri containers"):
        with contextlib.suppress(CriError):
            cri_call(lambda cri, cid=container[0]: (cri.stop_container(cid, 0), cri.remove_container(cid)))
            removed.append(f"cri container {container[2]} ({container[0][:12]})")
    for sandbox in new("cri sandboxes"):
        with contextlib.suppress(CriError):
            cri_call(lambda cri, sid=sandbox[0]: (cri.stop_pod_sandbox(sid), cri.remove_pod_sandbox(sid)))
            removed.append(f"cri sandbox {sandbox[2]} ({sandbox[0][:12]})")
    api = docker_api()
    for container in new("containers"):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(container[0], force=True, v=True)
            removed.append(f"container {container[1]}")
    for volume in new("volumes"):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_volume(volume[0], force=True)
            removed.append(f"volume {volume[0]}")
    for network in new("networks"):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_network(network)
            removed.append(f"network {network}")
    _remove_cgroup_dirs(new("cgroups"), removed)
    for root, kind in ((POD_ROOT, "pod dirs"), (LOG_ROOT, "log dirs")):
        for name in new(kind):
            shutil.rmtree(root / name, ignore_errors=True)
            removed.append(f"{root / name}")
    # a lock a refused run rightly kept (its pod was left for inspection) is the example's too: left, it would be
    # in the next example's baseline, and that example's state absent would be blamed for removing it
    for name in current.get("locks", frozenset()) - (kept.get("locks", frozenset()) if kept is not None else frozenset()):
        with contextlib.suppress(FileNotFoundError):
            (LOCK_DIR / name).unlink()
            removed.append(f"lock {LOCK_DIR / name}")
    return removed


def leftovers() -> dict[str, list[str]]:
    """The tier's objects still on the host (only unknown cgroup directories are left out: they are not the tier's
    to judge outside an example)."""
    view = mine(take_snapshot())
    view["cgroups"] = frozenset(c for c in view["cgroups"] if cgroup_kind(c[1]) == "mine")
    return {kind: sorted(map(str, objects)) for kind, objects in view.items() if objects}
