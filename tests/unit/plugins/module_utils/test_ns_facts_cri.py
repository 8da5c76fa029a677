"""ns_facts' CRI pods: the reader (_ns_facts_cri) and the mapping to facts (_ns_facts), on recorded replies.

fixtures/ns_facts_cri.json was recorded on this project's CI machine (Debian bookworm, cgroup v1, containerd
1.6.20 with its CRI plugin, grpcio 1.85) from pods made by podlab.playground.cri_pod:
  healthy  nsfprobe (app, sidecar, init container hello; memory limits), nsfprobepid (share_pid),
           nsfprobehost (host_network, host_ipc, host_pid)
  stale    nsfprobe after its pause process was killed with SIGKILL behind the runtime's back
Trimmed to what ns_facts reads: ListPodSandbox and ListContainers items, the status fields, the verbose
info["info"] (pid, config.linux.cgroup_parent, runtimeSpec.linux.namespaces; on the wire a JSON string, which
RecordedClient makes again), the (device, inode) of /proc/PID/ns/* of each process ('self': the module's
own process, the host reference there) and of each pinned netns file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.podlab.playground.plugins.module_utils import _ns_facts
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriError, CriUnavailable
from ansible_collections.podlab.playground.plugins.module_utils._namespaces import ProcessGone
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import NsFactsManager, cri_expected
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts_cri import (
    JOIN_HOST,
    JOIN_PRIVATE,
    container_record,
    find_sandbox,
    pick_containers,
    proc_target,
    read_cri_pods,
    sandbox_record,
    spec_joins,
    split_ref,
)

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "ns_facts_cri.json").read_text())
CNI_NETNS = "/run/containerd/io.containerd.grpc.v1.cri/netns/"


def reply(entry: dict[str, Any]) -> dict[str, Any]:
    """A verbose status reply as the client returns it: info["info"] is JSON text."""
    return {"status": entry["status"], "info": {"info": json.dumps(entry["info"])}}


class RecordedClient:
    """CriClient's read calls, answered from a recording."""

    def __init__(self, recording: dict[str, Any]) -> None:
        self.recording = recording
        self.calls: list[str] = []

    def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        self.calls.append("ListPodSandbox")
        return [s["item"] for s in self.recording["sandboxes"]]

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = False) -> dict[str, Any] | None:
        self.calls.append("PodSandboxStatus")
        return next((reply(s) for s in self.recording["sandboxes"] if s["item"]["id"] == sandbox_id), None)

    def list_containers(self, sandbox_id: str = "", labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        self.calls.append("ListContainers")
        return [c["item"] for c in self.recording["containers"]]

    def container_status(self, container_id: str, verbose: bool = False) -> dict[str, Any] | None:
        self.calls.append("ContainerStatus")
        return next((reply(c) for c in self.recording["containers"] if c["item"]["id"] == container_id), None)

    def close(self) -> None:
        self.calls.append("close")


def sandbox_item(name: str, recording: str = "healthy") -> dict[str, Any]:
    return next(s for s in RECORDED[recording]["sandboxes"] if s["item"]["metadata"]["name"] == name)


# -- the reader ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        # a pod's sandbox: new pid, ipc, uts, mnt; the network namespace CNI made, pinned in a file
        ("nsfprobe", {"pid": JOIN_PRIVATE, "ipc": JOIN_PRIVATE, "uts": JOIN_PRIVATE, "mnt": JOIN_PRIVATE, "net": CNI_NETNS,
                      "user": JOIN_HOST, "cgroup": JOIN_HOST, "time": JOIN_HOST}),
        # host_network, host_ipc, host_pid: only a mount namespace of its own; the rest is the runtime's (the host's)
        ("nsfprobehost", {"pid": JOIN_HOST, "ipc": JOIN_HOST, "uts": JOIN_HOST, "mnt": JOIN_PRIVATE, "net": JOIN_HOST,
                          "user": JOIN_HOST, "cgroup": JOIN_HOST, "time": JOIN_HOST}),
    ],
)
def test_what_a_sandboxs_runtime_spec_says(pod, expected):
    joins = spec_joins(sandbox_item(pod)["info"]["runtimeSpec"])
    assert {t: (CNI_NETNS if v.startswith(CNI_NETNS) else v) for t, v in joins.items()} == expected


def test_a_member_joins_the_pause_process_through_proc():
    sandbox = sandbox_item("nsfprobe")
    app = next(c for c in RECORDED["healthy"]["containers"] if c["item"]["metadata"]["name"] == "app")
    pause = sandbox["info"]["pid"]
    assert spec_joins(app["info"]["runtimeSpec"]) == {
        "net": f"/proc/{pause}/ns/net", "ipc": f"/proc/{pause}/ns/ipc", "uts": f"/proc/{pause}/ns/uts",
        "pid": JOIN_PRIVATE, "mnt": JOIN_PRIVATE, "user": JOIN_HOST, "cgroup": JOIN_HOST, "time": JOIN_HOST,
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/proc/31441/ns/net", (31441, "net")), (CNI_NETNS + "cni-1", None), ("/proc/self/ns/net", None), ("/proc/1/ns/net/x", None)],
)
def test_proc_targets(path, expected):
    assert proc_target(path) == expected


def test_records_of_a_ready_and_a_stale_sandbox():
    ready = sandbox_record(sandbox_item("nsfprobe")["item"], reply(sandbox_item("nsfprobe")))
    assert (ready.state, ready.pid > 0, ready.role, ready.name) == ("running", True, "sandbox", "nsfprobe")
    assert ready.cgroup_parent == f"/kubepods/burstable/pod{sandbox_item('nsfprobe')['item']['metadata']['uid']}"
    stale = sandbox_record(sandbox_item("nsfprobe", "stale")["item"], reply(sandbox_item("nsfprobe", "stale")))
    assert (stale.state, stale.pid) == ("exited", 0)
    gone = sandbox_record(sandbox_item("nsfprobe")["item"], None)  # removed between the list and the status
    assert (gone.state, gone.pid, gone.joins["net"]) == ("running", 0, JOIN_HOST)


def test_records_of_containers_and_their_roles():
    by_name = {c["item"]["metadata"]["name"]: c for c in RECORDED["healthy"]["containers"] if c["item"]["labels"]["podlab.pod"] == "nsfprobe"}
    app = container_record(by_name["app"]["item"], reply(by_name["app"]))
    hello = container_record(by_name["hello"]["item"], reply(by_name["hello"]))
    assert (app.role, app.state, app.pid > 0, app.exit_code) == ("container", "running", True, None)
    assert (hello.role, hello.state, hello.pid, hello.exit_code, hello.reason) == ("init", "exited", 0, 0, "Completed")
    kubelets = {**by_name["app"]["item"], "labels": {"io.kubernetes.container.name": "app"}}  # no podlab labels
    assert container_record(kubelets, reply(by_name["app"])).role == "container"


@pytest.mark.parametrize(
    ("ref", "namespace", "found", "why"),
    [
        ("nsfprobe", "default", "nsfprobe", ""),
        ("default/nsfprobepid", "elsewhere", "nsfprobepid", ""),
        ("nsfprobe", "kube-system", None, "no sandbox named nsfprobe in namespace kube-system, and no sandbox id starts with nsfprobe"),
        ("kube-system/nsfprobe", "default", None, "no sandbox named nsfprobe in namespace kube-system"),
        ("nosuch", "default", None, "no sandbox named nosuch in namespace default, and no sandbox id starts with nosuch"),
    ],
)
def test_find_a_sandbox_by_name_in_its_namespace(ref, namespace, found, why):
    sandbox, reason = find_sandbox(ref, namespace, [s["item"] for s in RECORDED["healthy"]["sandboxes"]])
    assert ((sandbox or {}).get("metadata", {}).get("name"), reason) == (found, why)


def test_find_a_sandbox_by_id_or_a_unique_prefix():
    items = [s["item"] for s in RECORDED["healthy"]["sandboxes"]]
    for item in items:
        assert find_sandbox(item["id"], "default", items)[0] is item
        assert find_sandbox(item["id"][:12], "default", items)[0] is item
    twins = [{**items[0], "id": "ab12" + "0" * 60}, {**items[1], "id": "ab13" + "0" * 60}]
    assert find_sandbox("ab1", "default", twins) == (None, "2 sandbox ids start with ab1; give more of the id")


def test_the_ready_then_newest_sandbox_stands_for_a_name():
    item = sandbox_item("nsfprobe")["item"]
    older = {**item, "id": "old", "state": "SANDBOX_NOTREADY", "created_at": "1"}
    newer_not_ready = {**item, "id": "new", "state": "SANDBOX_NOTREADY", "created_at": str(int(item["created_at"]) + 1)}
    assert find_sandbox("nsfprobe", "default", [older, newer_not_ready, item])[0] is item
    assert find_sandbox("nsfprobe", "default", [older, newer_not_ready])[0] is newer_not_ready


def test_the_running_attempt_stands_for_a_container_name():
    entry = next(c for c in RECORDED["healthy"]["containers"] if c["item"]["metadata"]["name"] == "app")
    running = container_record(entry["item"], reply(entry))
    earlier = container_record({**entry["item"], "id": "dead", "state": "CONTAINER_EXITED", "created_at": "1"},
                               {"status": {"state": "CONTAINER_EXITED", "exit_code": 137}})
    members, inits = pick_containers([running, earlier])
    assert (members["app"].id, inits) == (running.id, {})
    later = container_record({**entry["item"], "id": "later", "state": "CONTAINER_EXITED", "created_at": str(running.created_at + 1)},
                             {"status": {"state": "CONTAINER_EXITED", "exit_code": 1}})
    assert pick_containers([earlier, later])[0]["app"].id == "later"


@pytest.mark.parametrize(("ref", "expected"), [("foo", ("default", "foo")), ("kube-system/coredns", ("kube-system", "coredns"))])
def test_split_ref(ref, expected):
    assert split_ref(ref, "default") == expected


def test_one_list_each_for_all_pods_and_one_status_per_object():
    client = RecordedClient(RECORDED["healthy"])
    pods = read_cri_pods(client, ["nsfprobe", "nsfprobepid", "nosuch"], "default")
    assert client.calls.count("ListPodSandbox") == 1 and client.calls.count("ListContainers") == 1
    assert client.calls.count("PodSandboxStatus") == 2 and client.calls.count("ContainerStatus") == 4  # not nsfprobehost's
    assert sorted(pods["nsfprobe"].members) == ["app", "sidecar"] and list(pods["nsfprobe"].inits) == ["hello"]
    assert (pods["nosuch"].found, pods["nsfprobe"].found, pods["nsfprobe"].uid) == (False, True, sandbox_item("nsfprobe")["item"]["metadata"]["uid"])


# -- the facts -------------------------------------------------------------------


class Failed(Exception):
    pass


class FakeModule:
    check_mode = False

    def __init__(self, **params: Any) -> None:
        self.params = {"pids": [], "containers": [], "pods": [], "cri_pods": [], "namespace": "default",
                       "cri_socket": "unix:///run/containerd/containerd.sock", "proc": "/proc", "docker_host": None, **params}
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def fail_json(self, **result: Any) -> None:
        raise Failed(result["msg"])


@pytest.fixture
def gather(monkeypatch):
    """Run the module's manager on a recording: the CRI and /proc answered from it, nothing read from this host."""

    def run(recording: str, client: Any = None, **params: Any) -> dict[str, Any]:
        """client: what stands for CriClient (a class or factory); the recording's by default."""
        data = RECORDED[recording]
        kernel = {int(pid): ns for pid, ns in data["kernel"].items() if pid != "self"}
        kernel[1] = data["kernel"]["self"]  # the host reference: where the module ran

        def snapshot(pid, proc="/proc"):
            if int(pid) not in kernel:
                raise ProcessGone(pid)
            return {"pid": int(pid), "comm": "x", "ppid": 0, "nspid": [int(pid)], "namespaces": kernel[int(pid)], "hostname": None,
                    "cgroup": {"version": 1, "paths": {}}, "threads_differing": []}

        monkeypatch.setattr(_ns_facts, "CriClient", client or (lambda *a, **k: RecordedClient(data)))
        monkeypatch.setattr(_ns_facts, "snapshot", snapshot)
        monkeypatch.setattr(_ns_facts, "hostnames", lambda by_uts, proc="/proc": dict.fromkeys(by_uts, "h"))
        monkeypatch.setattr(_ns_facts, "persistent_namespaces", lambda pid="self", proc="/proc": [])
        monkeypatch.setattr(_ns_facts, "file_identity", lambda path: (data["pins"][path], "") if path in data["pins"] else (None, "gone"))
        monkeypatch.setattr(_ns_facts.os, "geteuid", lambda: 0)
        monkeypatch.setattr(NsFactsManager, "cgroup_tree", lambda self, sandbox, members, parent: {"parent": parent})
        module = FakeModule(**params)
        facts = NsFactsManager(module).run()["ansible_facts"]["podlab_ns"]
        assert facts["warnings"] == module.warnings
        return facts

    return run


def test_a_cri_pod_shares_net_ipc_and_uts_with_the_pause_process(gather):
    facts = gather("healthy", cri_pods=["nsfprobe"])
    pod = facts["pods"]["nsfprobe"]
    assert (pod["found"], pod["runtime"], pod["namespace"], pod["name"]) == (True, "cri", "default", "nsfprobe")
    row = {"net": "pod", "ipc": "pod", "uts": "pod", "pid": "private", "mnt": "private", "user": "host", "cgroup": "host", "time": "host"}
    assert pod["share"] == {"app": row, "sidecar": row}
    assert pod["pairs"] == {"app/sidecar": ["ipc", "net", "uts"]}
    assert pod["drift"] == {} and pod["sandbox"]["drift"] == []
    assert pod["members"]["app"]["kernel"] == {"net": "container", "ipc": "container", "uts": "container", "pid": "private",
                                               "mnt": "private", "user": "host", "cgroup": "host", "time": "host"}
    # the sandbox's network namespace is its own, pinned by the runtime: Docker's SandboxKey
    assert pod["sandbox"]["kernel"]["net"] == "private" and pod["sandbox"]["sandbox_key"].startswith(CNI_NETNS)
    assert pod["members"]["app"]["sandbox_key"] is None
    assert pod["hostnames"] == {"sandbox": "h", "app": "h", "sidecar": "h"}
    assert pod["cgroup"] == {"parent": f"/kubepods/burstable/pod{pod['uid']}"}
    assert pod["init_containers"]["hello"]["state"] == "exited" and pod["init_containers"]["hello"]["process"] is None
    assert facts["warnings"] == []  # an init container that completed is not a partial view


def test_share_pid_and_the_hosts_namespaces(gather):
    pods = gather("healthy", cri_pods=["nsfprobepid", "nsfprobehost"])["pods"]
    assert pods["nsfprobepid"]["share"]["a"]["pid"] == "pod" and pods["nsfprobepid"]["drift"] == {}
    host = pods["nsfprobehost"]
    assert host["share"]["a"] == {"net": "host", "ipc": "host", "uts": "host", "pid": "host", "mnt": "private", "user": "host",
                                  "cgroup": "host", "time": "host"}
    # joining a pause process that is in the host's namespaces is what the spec says: not drift
    assert host["members"]["a"]["kernel"]["net"] == "container" and host["drift"] == {}
    assert host["sandbox"]["kernel"]["net"] == "host" and host["sandbox"]["sandbox_key"] is None and host["sandbox"]["drift"] == []


def test_a_killed_pause_process_leaves_the_members_in_namespaces_nothing_joins(gather):
    facts = gather("stale", cri_pods=["nsfprobe"])
    pod = facts["pods"]["nsfprobe"]
    assert pod["found"] and pod["sandbox"]["state"] == "exited" and pod["sandbox"]["process"] is None
    assert pod["share"] == {} and pod["cgroup"] == {}
    assert pod["pairs"] == {"app/sidecar": ["ipc", "net", "uts"]}  # still with each other, in the dead sandbox's namespaces
    for member in ("app", "sidecar"):
        assert [(d["type"], d["expected"], d["kernel"]) for d in pod["drift"][member]] == [
            ("ipc", "container", "private"), ("net", "container", "private"), ("uts", "container", "private")]
    pause = int(pod["drift"]["app"][0]["recorded"].split("/")[2])
    assert f"pid {pause} is no longer a process of the pod" in pod["drift"]["app"][1]["detail"]
    assert [w for w in facts["warnings"] if "is not ready" in w] == [
        f"cri pod nsfprobe: the sandbox {pod['sandbox']['id'][:13]} is not ready (its pause process exited, or it was stopped); "
        "its members are compared with the namespaces their runtime spec joined"]


def test_a_member_in_another_namespace_than_it_joined_is_drift(gather, monkeypatch):
    data = json.loads(json.dumps(RECORDED["healthy"]))
    pause = sandbox_item("nsfprobe")["info"]["pid"]
    app = next(c for c in data["containers"] if c["item"]["metadata"]["name"] == "app")
    data["kernel"][str(app["info"]["pid"])]["net"] = {"device": 4, "inode": 1}  # as if it had setns'd elsewhere
    monkeypatch.setitem(RECORDED, "edited", data)
    drift = gather("edited", cri_pods=["nsfprobe"])["pods"]["nsfprobe"]["drift"]
    assert [(d["type"], d["recorded"], d["expected"], d["kernel"]) for d in drift["app"]] == [("net", f"/proc/{pause}/ns/net", "container", "private")]
    pause_net = data["kernel"][str(pause)]["net"]["inode"]
    assert drift["app"][0]["detail"] == f"net:[1] is not net:[{pause_net}] at /proc/{pause}/ns/net, which the runtime spec joins"


def test_a_missing_pod_and_a_docker_pod_in_one_run(gather, monkeypatch):
    monkeypatch.setattr(NsFactsManager, "read_docker", lambda self, meanwhile=None: ({}, {"web": []}))
    facts = gather("healthy", cri_pods=["nosuch", "nsfprobe"], pods=["web"])
    assert facts["pods"]["nosuch"] == {"name": "nosuch", "found": False, "runtime": "cri", "namespace": "default"}
    assert facts["pods"]["web"] == {"name": "web", "found": False, "runtime": "docker"}
    assert facts["pods"]["nsfprobe"]["found"]
    assert "cri pod nosuch: no sandbox named nosuch in namespace default, and no sandbox id starts with nosuch" in facts["warnings"]


def test_an_exited_member_is_a_warning(gather, monkeypatch):
    data = json.loads(json.dumps(RECORDED["healthy"]))
    sidecar = next(c for c in data["containers"] if c["item"]["metadata"]["name"] == "sidecar")
    sidecar["status"] = {"state": "CONTAINER_EXITED", "exit_code": 137, "reason": "Error"}
    monkeypatch.setitem(RECORDED, "edited", data)
    facts = gather("edited", cri_pods=["nsfprobe"])
    assert facts["pods"]["nsfprobe"]["members"]["sidecar"]["process"] is None
    assert list(facts["pods"]["nsfprobe"]["share"]) == ["app"]
    assert facts["warnings"] == ["cri pod nsfprobe: container sidecar is exited (exit code 137, Error); its namespaces are left out"]


def test_a_vanished_pid_is_a_warning(gather, monkeypatch):
    data = json.loads(json.dumps(RECORDED["healthy"]))
    app = next(c for c in data["containers"] if c["item"]["metadata"]["name"] == "app")
    del data["kernel"][str(app["info"]["pid"])]
    monkeypatch.setitem(RECORDED, "edited", data)
    facts = gather("edited", cri_pods=["nsfprobe"])
    assert facts["pods"]["nsfprobe"]["members"]["app"]["process"] is None
    assert facts["warnings"] == [f"cri pod nsfprobe: container app (pid {app['info']['pid']}) is gone (it exited, or never existed); left out"]


class Unreachable:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise CriUnavailable("no CRI socket at /run/containerd/containerd.sock; start containerd", "UNAVAILABLE")


class Refusing(RecordedClient):
    def list_containers(self, sandbox_id: str = "", labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        raise CriError("ListContainers: deadline exceeded", "DEADLINE_EXCEEDED")


def test_no_runtime_is_a_warning_and_the_rest_of_the_facts(gather):
    facts = gather("healthy", client=Unreachable, cri_pods=["nsfprobe"], pids=[1])
    assert facts["pods"] == {"nsfprobe": {"name": "nsfprobe", "found": False, "runtime": "cri", "namespace": "default"}}
    assert list(facts["processes"]) == ["1"]
    assert facts["warnings"] == ["cri_pods: no CRI socket at /run/containerd/containerd.sock; start containerd; the CRI pods are left out"]


class Silent(RecordedClient):
    def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        raise CriUnavailable("the CRI runtime at unix:///run/containerd/containerd.sock does not answer (connection refused)", "UNAVAILABLE")


@pytest.mark.parametrize(("client_class", "warning"), [
    (Silent, "cri_pods: the CRI runtime at unix:///run/containerd/containerd.sock does not answer (connection refused); "
             "the CRI pods are left out"),
    (Refusing, "cri_pods: the CRI runtime at unix:///run/containerd/containerd.sock refused a read "
               "(ListContainers: deadline exceeded); the CRI pods are left out"),
], ids=["does not answer", "refuses a read"])
def test_a_runtime_that_fails_a_read_is_a_warning(gather, client_class, warning):
    client = client_class(RECORDED["healthy"])
    facts = gather("healthy", client=lambda *a, **k: client, cri_pods=["nsfprobe"])
    assert facts["pods"]["nsfprobe"]["found"] is False and client.calls[-1] == "close"
    assert facts["warnings"] == [warning]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pods": ["foo"], "cri_pods": ["foo"]}, "foo is asked for in both pods and cri_pods"),
        ({"cri_pods": ["a/b/c"]}, "each cri_pods entry is a pod name, NAMESPACE/NAME or a sandbox id"),
        ({"cri_pods": [""]}, "each cri_pods entry is a pod name"),
        ({"cri_pods": ["foo", "kube-system/"]}, "each cri_pods entry is a pod name"),
        ({"cri_pods": ["foo"], "cri_socket": "tcp://10.0.0.1:1234"}, "only unix:// sockets"),
    ],
)
def test_refusals_before_any_read(params, message):
    with pytest.raises(Failed, match=message):
        NsFactsManager(FakeModule(**params)).validate()


@pytest.mark.parametrize(
    ("record", "role", "expected"),
    [(JOIN_HOST, "container", "host"), (JOIN_PRIVATE, "sandbox", "private"), ("/proc/9/ns/net", "container", "container"),
     (CNI_NETNS + "cni-1", "sandbox", "private"), ("/var/run/netns/x", "container", "container")],
)
def test_what_the_runtime_spec_promises(record, role, expected):
    assert cri_expected(record, role) == expected
