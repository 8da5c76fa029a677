# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generated module arguments for the host tier.

Two kinds for each pod module: the unit tier's arguments (tests/unit/plugins/module_utils/_pod/test_spec_properties.py,
imported, not copied), which are mostly refused; and pods near a valid one, with some options given tricky values, which
are often accepted and so run for real. Both are kept safe for a real host that others use too: every name a run could
make is the tier's (PREFIX), host paths for bind mounts stay in SCRATCH, timeouts are seconds, and daemon addresses are
the local daemons or ones that refuse at once.
"""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st
from podlab_host import OWN_CGROUP, PREFIX, SCRATCH

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.names import split_name
from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import ARGUMENT_SPEC as CG_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC

UNIT_STRATEGIES = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "_pod" / "test_spec_properties.py"


def _unit() -> ModuleType:
    """The unit tier's property module (its strategies are module-level names; it is no package one can import)."""
    spec = importlib.util.spec_from_file_location("podlab_unit_spec_properties", UNIT_STRATEGIES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


unit = _unit()
TRICKY, TEXT, VALUE, SCALAR = unit.TRICKY, unit.TEXT, unit.VALUE, unit.SCALAR

# Names that are never a pod's or a cgroup's: refused, so they may be given without the prefix.
HOSTILE = st.sampled_from(["", ".", "..", "/", "-x", " ", "\n", "../x", "a/../../b", "/" + PREFIX])
SUFFIX = st.one_of(st.sampled_from(["", "a", "-b", "foo-bar_1.2", "x" * 55, "x" * 57, "\n", "/x", "..", "A"]), TEXT)
POD_NAME = st.one_of(st.builds(lambda s: PREFIX + s, SUFFIX), st.just(PREFIX + "pod"), HOSTILE)
# The local daemons, and addresses that fail at once: never a remote host, a shell (ssh://) or a long timeout.
DOCKER_HOSTS = st.sampled_from([None, "unix:///var/run/docker.sock", "unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1",
                                "tcp://", "http://[::1", "docker.sock", "", "unix://", "npipe:////./pipe/docker"])
CRI_SOCKETS = st.sampled_from(["unix:///run/containerd/containerd.sock", "/run/containerd/containerd.sock",
                               "unix:///nonexistent/containerd.sock", "tcp://127.0.0.1:1", "relative.sock", "", "unix://"])
SECONDS = st.one_of(st.sampled_from([0, 1, 2, -1]), st.sampled_from(["1", "x", "1.5", 2**70]))
GOOD_IMAGES = ("podlab/busybox:1", "podlab/httpd:1")


def confined(source: Any) -> Any:
    """A bind mount's host path, kept inside SCRATCH (a path that leaves it becomes SCRATCH itself)."""
    if not isinstance(source, str) or not source.startswith("/") or "\x00" in source:
        return source
    inside = os.path.normpath(f"{SCRATCH}{source}")
    return inside if inside == str(SCRATCH) or inside.startswith(f"{SCRATCH}/") else str(SCRATCH)


def owned_cgroup_name(name: Any) -> Any:
    return PREFIX + name if isinstance(name, str) else name


def _accepted_cgroup_name(name: Any) -> bool:
    try:
        split_name(name)
    except (CgroupError, TypeError, AttributeError):
        return False
    return True


def bounded(raw: dict[str, Any], draw: Any) -> dict[str, Any]:
    """Arguments made safe for the real host, keeping their shape: local daemons, seconds, host paths in SCRATCH."""
    params = dict(raw)
    for key, strategy in (("docker_host", DOCKER_HOSTS), ("cri_socket", CRI_SOCKETS)):
        if key in params:
            params[key] = draw(strategy)
    for key in ("stop_timeout", "init_timeout", "lock_timeout"):
        if key in params:
            params[key] = draw(SECONDS)
    # sleep as a container's PID 1 ignores SIGTERM: every stop would wait the whole default of 10 s
    params.setdefault("stop_timeout", 1)
    cgroup = params.get("cgroup_parent")
    if isinstance(cgroup, dict) and cgroup.get("create") is False and _accepted_cgroup_name(cgroup.get("name")):
        # A user's own cgroup (create: false) is one that exists: runc would make a missing one, and nothing removes it.
        params["cgroup_parent"] = {**cgroup, "name": OWN_CGROUP}
    for kind in ("containers", "init_containers"):
        members = params.get(kind)
        if isinstance(members, list):
            params[kind] = [_bounded_member(m) for m in members]
    return params


def owned_names(raw: dict[str, Any]) -> dict[str, Any]:
    """The unit tier's names made the tier's: the pod's name, its cgroup's and its UID carry PREFIX."""
    params = dict(raw)
    if isinstance(params.get("name"), str):
        params["name"] = PREFIX + params["name"]
    if isinstance(params.get("uid"), str):
        params["uid"] = f"{PREFIX}-{params['uid']}"
    cgroup = params.get("cgroup_parent")
    if isinstance(cgroup, dict) and "name" in cgroup:
        params["cgroup_parent"] = {**cgroup, "name": owned_cgroup_name(cgroup["name"])}
    return params


def _bounded_member(member: Any) -> Any:
    if not isinstance(member, dict) or not isinstance(member.get("mounts"), list):
        return member
    mounts = [{**m, "source": confined(m["source"])} if isinstance(m, dict) and "source" in m else m for m in member["mounts"]]
    return {**member, "mounts": mounts}


@st.composite
def unit_params(draw: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The unit tier's generated arguments of a pod module, bounded for the host."""
    return bounded(owned_names(draw(unit.params_strategy(spec))), draw)


# -- pods near a valid one --------------------------------------------------------------------------------------------

def choice(option: dict[str, Any], good: tuple[Any, ...], bad: tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
    """An option's value: mostly one that should work, sometimes one that should be refused, sometimes what the unit
    tier generates for the option's type."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), *([st.sampled_from(bad)] if bad else []), unit.typed(option))


@st.composite
def some_of(draw: Any, base: dict[str, Any], options: dict[str, st.SearchStrategy[Any]], most: int) -> dict[str, Any]:
    """base, and up to `most` of the options: one odd value in an otherwise plain request is what gets past the checks."""
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=most, unique=True))
    return {**{k: draw(v) for k, v in base.items()}, **{k: draw(options[k]) for k in chosen}}


MEMBER_SPEC = ARGUMENT_SPEC["containers"]["options"]
IMAGE = st.one_of(st.sampled_from(GOOD_IMAGES), st.sampled_from(GOOD_IMAGES), st.sampled_from(GOOD_IMAGES),
                  st.sampled_from(["podlab/pause:1", "podlab/absent:1", "PODLAB/BUSYBOX:1", "podlab/busybox@sha256:00", ""]), TEXT)
SLEEP = ["sleep", "600"]
COMMAND = st.one_of(st.sampled_from([SLEEP, "sleep 600", ["sh", "-c", "sleep 600"], ["sleep", 600]]),
                    st.sampled_from([SLEEP, None]),  # None: the image's command (busybox: sh, which exits at once; httpd: httpd)
                    st.sampled_from([["true"], ["false"], ["nosuchcommand"], [], "sh -c 'unclosed", {"a": 1}, 3]), VALUE)
INIT_COMMAND = st.one_of(st.sampled_from([["true"], "true", ["sh", "-c", "exit 0"]]),
                         st.sampled_from([["false"], ["sh", "-c", "exit 3"], ["sleep", "3"], ["nosuchcommand"]]), VALUE)
ENV_KEY = st.one_of(st.sampled_from(["A", "PATH", "B_1"]), st.sampled_from(["a b", "", "=x", "X\n", "\u00e9"]), TEXT)
MOUNT = st.fixed_dictionaries(
    {"target": st.one_of(st.sampled_from(["/data", "/mnt/x"]), st.sampled_from(["relative", "/", "/proc/x", ""]), TEXT)},
    optional={"type": st.sampled_from(["volume", "bind", "tmpfs", "nfs"]),
              "source": st.one_of(st.sampled_from(["data", "/", "/sub"]), st.sampled_from(["cache", "relative", "/../..", ""]), TEXT).map(confined),
              "read_only": st.booleans()},
)
MEMBER_OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "entrypoint": st.one_of(st.just(["/bin/sh", "-c"]), st.lists(TEXT, max_size=2)),
    "env": st.one_of(st.dictionaries(ENV_KEY, SCALAR, max_size=2), TEXT),
    "working_dir": choice(MEMBER_SPEC["working_dir"], ("/", "/tmp"), ("/nonexistent", "relative", "")),
    "user": choice(MEMBER_SPEC["user"], ("0", "0:0", "nobody", "65534", "root", "1000:1000"), ("nosuchuser", "", "-1", "a:b:c")),
    "memory": choice(MEMBER_SPEC["memory"], ("64m", "32Mi", "max", "64M"), ("6m", "4m", "1", "0", "1e400", "-1")),
    "cpus": choice(MEMBER_SPEC["cpus"], ("0.5", "1", "2", "max"), ("3", "0.001", "0", "nan", "-1")),
    "pids_limit": choice(MEMBER_SPEC["pids_limit"], ("64", "max", "-1"), ("1", "0", "a")),
    "restart_policy": st.sampled_from(["no", "on-failure", "always", "unless-stopped", "bogus"]),
    "mounts": st.lists(MOUNT, max_size=2),
}
CRI_MEMBER_OPTIONS = {k: v for k, v in MEMBER_OPTIONS.items() if k not in ("pids_limit", "restart_policy")}  # cri_pod refuses those


def members(command: st.SearchStrategy[Any], options: dict[str, st.SearchStrategy[Any]], *, min_size: int) -> st.SearchStrategy[Any]:
    plain = some_of({"name": st.sampled_from(["app", "web", "side"]), "image": IMAGE, "command": command}, options, 1)
    odd = some_of({"name": TRICKY, "image": IMAGE}, MEMBER_OPTIONS, 2)  # refused names, and options cri_pod refuses
    member = st.one_of(plain, plain, plain, odd)
    return st.lists(member, min_size=min_size, max_size=2, unique_by=lambda m: str(m["name"]))


CGROUP = some_of({}, {
    "create": st.booleans(),
    "name": st.one_of(st.builds(owned_cgroup_name, st.sampled_from(["", "-pod", "/sub", ".slice", "/x/y"])),
                      st.builds(owned_cgroup_name, st.sampled_from(["/../x", "/memory.limit_in_bytes", "/tasks", "\n", "//x", "/."])),
                      st.builds(owned_cgroup_name, TEXT), HOSTILE),
    "memory": st.sampled_from(["256m", "1Gi", "max", "1", "x"]),
    "cpus": st.sampled_from(["1", "2", "max", "0.5", "5", "inf"]),
    "pids_max": st.sampled_from(["64", "max", "0", "-1", "a"]),
    "driver": st.sampled_from(["auto", "cgroupfs", "systemd", "bogus"]),
}, 3)
GOOD_NAME = st.builds(lambda s: PREFIX + s, st.sampled_from(["", "a", "web-1", "foo-bar_1.2", "x" * 40]))


def manifest(name: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A Pod manifest: the seed's shape, or the unit tier's generated one; its metadata.name is the tier's."""
    seed = st.fixed_dictionaries({
        "apiVersion": st.just("v1"), "kind": st.just("Pod"), "metadata": st.fixed_dictionaries({"name": name}),
        "spec": st.fixed_dictionaries({"containers": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from(["app", "sidecar", "App"]), "image": IMAGE},
                                  optional={"command": st.just(SLEEP), "resources": st.just({"limits": {"memory": "64Mi"}})}),
            min_size=1, max_size=2, unique_by=lambda c: c["name"])}),
    })
    generated = st.tuples(unit.MANIFEST, name).map(lambda m: {**m[0], "metadata": {**(m[0].get("metadata") or {}), "name": m[1]}})
    return st.one_of(seed, seed, seed, generated)


def _pod_options(*, cri: bool) -> dict[str, st.SearchStrategy[Any]]:
    options: dict[str, st.SearchStrategy[Any]] = {
        "state": st.sampled_from(["started", "present", "stopped", "restarted", "absent", "bogus"]),
        "init_containers": members(INIT_COMMAND, CRI_MEMBER_OPTIONS if cri else MEMBER_OPTIONS, min_size=1),
        "hostname": st.one_of(st.sampled_from([f"{PREFIX}-h", "a" * 63, "a.b"]),
                              st.sampled_from(["a" * 64, "a" * 65, "-a", "a..b", "h\u00e9te", "a_b", "a b"]), TEXT),
        "ports": st.lists(st.one_of(st.sampled_from(["80", "127.0.0.1::80", "80/udp"]),
                                    st.sampled_from(["0:0", "70000:80", "[::1]::80", "80/icmp", "999.999.999.999:8080:80", "80/sctp"]), TEXT),
                          max_size=2),
        "volumes": st.lists(st.one_of(st.sampled_from(["data", "cache"]), TRICKY), max_size=2),
        "labels": st.dictionaries(st.one_of(st.sampled_from(["app", "tier"]), st.sampled_from(["podlab.pod", "podlab.spec-hash", "a b", ""]),
                                            TEXT), TEXT, max_size=2),
        "share_pid": st.booleans(), "host_network": st.booleans(), "host_ipc": st.booleans(), "host_pid": st.booleans(),
        "cgroup_parent": CGROUP,
        "pull": st.sampled_from(["missing", "never", "always"]),
        "init_timeout": SECONDS, "lock_timeout": SECONDS,
        "images": st.dictionaries(st.sampled_from(["docker.io/library/busybox", "httpbin"]), st.sampled_from((*GOOD_IMAGES, "")), max_size=1),
    }
    if cri:
        options.update({
            "namespace": st.one_of(st.sampled_from(["default", f"{PREFIX}-ns"]), st.sampled_from(["Default", "a_b", "-a", ""]), TEXT),
            "uid": st.one_of(st.sampled_from(["", "1", "a" * 40]), st.sampled_from(["x" * 300, "a/b", "..", "a_b"]), TEXT)
            .map(lambda u: f"{PREFIX}-{u}"),
            "dns": some_of({}, {k: st.lists(st.one_of(st.sampled_from(values), TEXT), max_size=2) for k, values in (
                ("servers", ["10.0.0.10", "::1", "nameserver", ""]), ("searches", ["svc.cluster.local", "a b"]), ("options", ["ndots:2", "x"]))},
                3),
            "cri_socket": CRI_SOCKETS,
            "sandbox": st.sampled_from([{}, {"image": "podlab/pause:1"}]),
        })
    else:
        options.update({"docker_host": DOCKER_HOSTS,
                        "sandbox": some_of({}, {
                            "image": st.one_of(st.sampled_from(["podlab/pause:1", "podlab/busybox:1"]), st.sampled_from(["podlab/absent:1", ""]),
                                               TEXT),
                            "command": st.one_of(st.sampled_from([["sleep", "600"], "sleep 600"]), VALUE)}, 2)})
    return options


def _near_valid(spec: dict[str, Any], *, cri: bool) -> st.SearchStrategy[dict[str, Any]]:
    options = _pod_options(cri=cri)
    unknown = set(options) - set(spec)
    assert not unknown, f"options the module does not have: {unknown}"
    base = {"name": st.one_of(GOOD_NAME, GOOD_NAME, POD_NAME),
            "containers": members(COMMAND, CRI_MEMBER_OPTIONS if cri else MEMBER_OPTIONS, min_size=1)}
    pod = some_of(base, options, 2)
    from_manifest = st.tuples(some_of({"name": st.one_of(GOOD_NAME, POD_NAME)}, options, 1), manifest(st.one_of(GOOD_NAME, POD_NAME)),
                              st.booleans()).map(lambda t: {**({} if t[2] else t[0]), "manifest": t[1]})
    return st.one_of(pod, pod, pod, pod, from_manifest)


@st.composite
def near_valid_params(draw: Any, spec: dict[str, Any], cri: bool = False) -> dict[str, Any]:
    return bounded(draw(_near_valid(spec, cri=cri)), draw)


def docker_pod_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(unit_params(ARGUMENT_SPEC), *[near_valid_params(ARGUMENT_SPEC)] * 4)


def cri_pod_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(unit_params(CRI_ARGUMENT_SPEC), *[near_valid_params(CRI_ARGUMENT_SPEC, cri=True)] * 4)


# -- cgroup_parent ----------------------------------------------------------------------------------------------------

# force: true kills every process in the named cgroup: only for names that cannot resolve outside the tier's own.
_FORCE_SAFE = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_:@-]*(?:/[A-Za-z0-9_:@-]+)*")


@st.composite
def cgroup_parent_params(draw: Any) -> dict[str, Any]:
    def value(option: str, good: tuple[Any, ...], bad: tuple[Any, ...]) -> st.SearchStrategy[Any]:
        return choice(CG_SPEC[option], good, bad)

    name = st.one_of(
        st.builds(owned_cgroup_name, st.sampled_from(["", "a", "/sub", "-x", "a.slice", "/x/y", "_a:b@c"])),
        st.builds(lambda n: "/" + n, st.builds(owned_cgroup_name, st.sampled_from(["", "a/b"]))),
        st.builds(owned_cgroup_name, st.sampled_from([".slice", "/../x", "/..", "/memory.limit_in_bytes", "/cgroup.procs", "/tasks", "\n",
                                                      "//x", "/" + "x" * 300, "/x.", "/ a"])),
        st.builds(owned_cgroup_name, TEXT), HOSTILE,
        st.sampled_from(["/sys/fs/cgroup/memory/" + PREFIX, "init.scope", "system.slice/" + PREFIX, "-.slice"]),
    )
    params = draw(some_of({"name": name}, {
        "state": st.sampled_from(["present", "present", "absent", "bogus"]),
        "memory": value("memory", ("64m", "1Gi", "max", "64M", "0.5Gi"), ("1", "0", "4Ki", "-1", "1e400")),
        "memory_swap": value("memory_swap", ("128m", "max", "1Gi"), ("64m", "1", "-1", "0")),
        "cpus": value("cpus", ("0.5", "1", "2", "max"), ("3", "0", "0.0001", "-1", "nan", "1e400")),
        "cpu_weight": value("cpu_weight", (1, 100, 10000), (0, 10001, -1)),
        "cpu_shares": value("cpu_shares", (2, 1024, 262144), (1, 0, 262145)),
        "pids_max": value("pids_max", ("1", "64", "max"), ("0", "-1", "9" * 30)),
        "driver": st.sampled_from(["auto", "cgroupfs", "systemd", "bogus"]),
        "force": st.booleans(),
        "docker_host": DOCKER_HOSTS,
    }, 4))
    if params.get("force") and not (isinstance(params["name"], str) and _FORCE_SAFE.fullmatch(params["name"].lstrip("/"))):
        params["force"] = False
    return params


# -- ns_facts ---------------------------------------------------------------------------------------------------------

# References to the objects the test makes before the examples run (the fixture pods), resolved by the test: a strategy
# cannot know their IDs and PIDs.
REF = "@"
PIDS = st.lists(st.one_of(st.sampled_from([f"{REF}sandbox_pid", f"{REF}member_pid", f"{REF}cri_sandbox_pid", f"{REF}cri_member_pid"]),
                          st.sampled_from([1, 0, -1, 2**22 + 1, 2**31, 2**70, "1", "x", 1.5])), max_size=3)
CONTAINERS = st.lists(st.one_of(
    st.sampled_from([f"{REF}member_name", f"{REF}member_id", f"{REF}member_id12", f"{REF}sandbox_name", f"{REF}cri_member_id",
                     f"{REF}member_id3", PREFIX + "missing", "../../info", "a/b", "%2e%2e", "?all=1"]),
    TRICKY), max_size=3)
PODS = st.lists(st.one_of(st.sampled_from([f"{REF}pod", f"{REF}cri_pod", PREFIX + "missing"]), TRICKY), max_size=2)
CRI_PODS = st.lists(st.one_of(st.sampled_from([f"{REF}cri_pod", f"default/{REF}cri_pod", f"{REF}cri_sandbox_id12", f"{REF}pod",
                                               f"other/{REF}cri_pod", PREFIX + "missing", "a/b/c"]), TRICKY), max_size=2)
PROC = st.one_of(st.sampled_from(["/proc", "/proc", "/proc/", "/nonexistent", "relative", "/tmp", "/proc/self", "/proc/1"]), TRICKY)


def ns_facts_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        "pids": PIDS, "containers": CONTAINERS, "pods": PODS, "cri_pods": CRI_PODS,
        "namespace": st.one_of(st.sampled_from(["default", "other", "", "Default", "a/b"]), TEXT),
        "cri_socket": CRI_SOCKETS, "proc": PROC, "docker_host": DOCKER_HOSTS,
    })


def resolve(value: Any, refs: dict[str, Any]) -> Any:
    """value with the fixture references (@name, also inside strings) replaced by what the fixture made."""
    if isinstance(value, str) and REF in value:
        for key, real in sorted(refs.items(), key=lambda kv: -len(kv[0])):
            if value == f"{REF}{key}":
                return real
            value = value.replace(f"{REF}{key}", str(real))
        return value
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, refs) for k, v in value.items()}
    return value
