"""pod_report_html and pod_report_text on facts the ns_facts module really returned (trimmed).

fixtures/pod_running.json   pod picdev as playbooks/docker_pod.yml makes it: app and sidecar join the sandbox's net and ipc
fixtures/pod_share_pid.json the same pod with share_pid: pid joined too
fixtures/pod_drift.json     after `docker restart picdev_sandbox`: the members sit in the old net and ipc namespaces
fixtures/pod_stopped.json   pod picstop with every container stopped

CRI pods (fixtures/cri_*.json) were not gathered live: they are what ns_facts' own manager
(NsFactsManager) returns when the CRI and /proc answer from the recording in
tests/unit/plugins/module_utils/fixtures/ns_facts_cri.json (real verbose statuses, runtime specs and
namespace identities of cri_pod's pods on containerd). The recording holds no cgroup files, process
names or hostnames: those were filled in after docs/ns_facts.md's schema and the Docker fixtures (a
burstable pod with limits like docs/cri_pod.md's, the best-effort ones unlimited).
fixtures/cri_running.json   pod nsfprobe: app and sidecar join the pause process's net, ipc and uts
fixtures/cri_share_pid.json pod nsfprobepid (share_pid): pid joined too
fixtures/cri_host.json      pod nsfprobehost (host_network, host_ipc, host_pid): in the host's net, ipc, uts, pid
fixtures/cri_drift.json     pod nsfprobe after its pause process was killed: the members drift on net, ipc, uts
fixtures/live_docker_and_cri.json  gathered live, one ns_facts run with pods=[rptdock] cri_pods=[rptcri] on pods made by
                            playbooks/docker_pod.yml and playbooks/cri_pod.yml (containerd of playbooks/cri_node.yml)
"""
from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.podlab.playground.plugins.filter.pod_report import (
    DRIFT_COLOURS,
    FilterModule,
    cgroup_chain,
    human_bytes,
    human_cpus,
    pod_model,
    pod_report_html,
    pod_report_text,
)

FIXTURES = Path(__file__).parent / "fixtures"
SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
VOID = {"meta", "br", "hr", "img", "input", "link"}


def facts(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())["podlab_ns"]


def only_pod(podlab_ns: dict) -> dict:
    return next(iter(podlab_ns["pods"].values()))


def running(pod: dict) -> dict:
    """sandbox and members that have a process: name -> container facts."""
    return {n: c for n, c in {"sandbox": pod["sandbox"], **pod["members"]}.items() if c.get("process")}


class StrictTags(HTMLParser):
    """What a browser's HTML parser sees: every element closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <rect/>, <meta/>: opened and closed at once

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_html(page: str) -> tuple[ET.Element, str]:
    """The page as XML (it is well-formed XHTML) and its text as a browser reads it."""
    root = ET.fromstring(page)
    strict = StrictTags()
    strict.feed(page)
    strict.close()
    assert strict.errors == []
    assert strict.stack == []
    return root, "".join(strict.text)


CRI = ["cri_running", "cri_share_pid", "cri_host", "cri_drift"]
ALL = ["pod_running", "pod_share_pid", "pod_drift", "pod_stopped", *CRI]


@pytest.mark.parametrize("fixture", ALL)
def test_page_is_well_formed_and_self_contained(fixture):
    page = pod_report_html(facts(fixture))
    root = parse_html(page)[0]
    assert page.startswith("<!DOCTYPE html>\n")
    assert root.tag == f"{XHTML}html"
    assert root.find(f"{XHTML}head/{XHTML}meta").get("charset") == "utf-8"
    svgs = list(root.iter(f"{SVG}svg"))
    assert svgs, "no inline SVG"
    for svg in svgs:
        # each picture stands alone as an SVG document too
        alone = ET.fromstring(ET.tostring(svg))
        assert alone.tag == f"{SVG}svg"
        assert float(alone.get("width")) > 0 and float(alone.get("height")) > 0
    # nothing to fetch, nothing to run
    assert root.find(f".//{XHTML}script") is None
    for element in root.iter():
        for attr in ("src", "href", "{http://www.w3.org/1999/xlink}href"):
            assert element.get(attr) is None, (element.tag, attr)
    assert "url(" not in page and "@import" not in page


@pytest.mark.parametrize("fixture", ["pod_running", "pod_share_pid", "pod_drift", "cri_running", "cri_share_pid", "cri_host"])
def test_page_holds_the_facts_values(fixture):
    podlab_ns = facts(fixture)
    pod = only_pod(podlab_ns)
    root, text = parse_html(pod_report_html(podlab_ns, pod["name"]))
    title = f"{pod['namespace']}/{pod['name']}" if pod.get("namespace") else pod["name"]  # a CRI pod as kubectl names it
    assert f"pod {title} ·" in root.find(f"{XHTML}head/{XHTML}title").text
    assert f"runtime {'Docker' if pod.get('runtime', 'docker') == 'docker' else 'the CRI (cri)'}" in text
    for name, container in running(pod).items():
        assert name in text
        assert container["name"] in text
        assert f"pid {container['pid']}" in text
        assert f"hostname {container['process']['hostname']}" in text
        for ns_type, link in container["process"]["namespaces"].items():
            if not ns_type.endswith("_for_children"):
                assert f"{ns_type}:[{link['inode']}]" in text, (name, ns_type)
    for ns_type, link in podlab_ns["host"]["namespaces"].items():
        if not ns_type.endswith("_for_children"):
            assert f"{ns_type}:[{link['inode']}]" in text
    cgroup = pod["cgroup"]
    assert f"pod cgroup {cgroup['parent']}" in text
    assert f"memory {human_bytes(cgroup['limits']['memory'])}" in text
    assert f"cpus {human_cpus(cgroup['limits']['cpus'])}" in text
    for name, child in cgroup["children"].items():
        assert name in text
        assert f"memory {human_bytes(child['limits']['memory'])}" in text
        assert f"mem+swap {human_bytes(child['limits']['memory_swap'])}" in text
    for path in cgroup["paths"].values():
        assert path in text
    for pair, types in pod["pairs"].items():
        assert pair in text and ", ".join(types) in text


def test_real_limits_in_human_units():
    text = pod_report_text(facts("pod_running"))
    assert "cgroup v1 /pod-picdev: memory 512 MiB, mem+swap max, cpus 1, pids max, shares 1024" in text
    assert "├─ app      memory 256 MiB, mem+swap 512 MiB, cpus max" in text
    assert "└─ sidecar  memory 128 MiB, mem+swap 256 MiB, cpus max" in text
    page = parse_html(pod_report_html(facts("pod_running")))[1]
    assert "50% of the pod's 512 MiB" in page and "25% of the pod's 512 MiB" in page
    assert "bounded by the pod's 512 MiB" in page  # the sandbox has no limit of its own


def grid_cells(page: str) -> dict[str, list[dict[str, str]]]:
    """Bars of the namespace grid: inode text -> the bars' fill, label and tooltip."""
    root = ET.fromstring(page)
    grid = next(s for s in root.iter(f"{SVG}svg") if s.get("class") == "grid")
    bars: dict[str, list[dict[str, str]]] = {}
    for group in grid.iter(f"{SVG}g"):
        texts = [t.text for t in group.findall(f"{SVG}text")]
        rect = group.find(f"{SVG}rect")
        bars.setdefault(texts[-1], []).append({"fill": rect.get("fill"), "label": texts[0], "title": group.find(f"{SVG}title").text,
                                               "width": rect.get("width")})
    return bars


def test_members_in_the_sandbox_namespace_share_one_bar():
    podlab_ns = facts("pod_running")
    pod = only_pod(podlab_ns)
    bars = grid_cells(pod_report_html(podlab_ns))
    net = pod["sandbox"]["process"]["namespaces"]["net"]["inode"]
    (box,) = bars[f"net:[{net}]"]
    assert box["label"] == "pod · shared by 3"
    assert box["title"] == f"net:[{net}] pod: sandbox, app, sidecar"
    uts = pod["members"]["app"]["process"]["namespaces"]["uts"]["inode"]
    (box,) = bars[f"uts:[{uts}]"]
    assert box["label"] == "private"
    user = podlab_ns["host"]["namespaces"]["user"]["inode"]
    (box,) = bars[f"user:[{user}]"]
    assert box["label"] == "host · shared by 4"


def test_share_pid_joins_the_pid_band():
    podlab_ns = facts("pod_share_pid")
    pod = only_pod(podlab_ns)
    pid = pod["sandbox"]["process"]["namespaces"]["pid"]["inode"]
    (box,) = grid_cells(pod_report_html(podlab_ns))[f"pid:[{pid}]"]
    assert box["label"] == "pod · shared by 3"
    (row,) = [line for line in pod_report_text(podlab_ns).splitlines() if line.startswith("pid ")]
    assert row.count(f"pod {pid}") == 3


def test_drift_is_red_in_the_grid_the_heads_and_a_table():
    podlab_ns = facts("pod_drift")
    pod = only_pod(podlab_ns)
    page = pod_report_html(podlab_ns)
    root, text = parse_html(page)
    assert "drift: 4" in text
    stale_net = pod["members"]["app"]["process"]["namespaces"]["net"]["inode"]
    (box,) = grid_cells(page)[f"net:[{stale_net}]"]
    assert box["fill"] == DRIFT_COLOURS[0]
    assert box["label"] == "⚠ drift: private · shared by 2"
    rows = [r for r in root.iter(f"{XHTML}tr") if r.get("class") == "drift"]
    assert len(rows) == 4
    for drifts in pod["drift"].values():
        for drift in drifts:
            assert drift["detail"] in text
    matrix = pod_report_text(podlab_ns)
    assert f"private! {stale_net}" in matrix
    assert "DRIFT (4):" in matrix
    assert "app net: Docker says container:17e0761e04c1, the kernel shows private" in matrix


def test_no_drift_says_so():
    text = pod_report_text(facts("pod_running"))
    assert "drift: none" in text
    assert not any("!" in row for row in text.splitlines()[3:11])
    assert '<span class="badge ok">no drift</span>' in pod_report_html(facts("pod_running"))


def test_a_stopped_pod_is_drawn_greyed_out_without_cgroups():
    podlab_ns = facts("pod_stopped")
    page = pod_report_html(podlab_ns)
    root, text = parse_html(page)
    assert "not running: sandbox, app, sidecar" in text
    assert text.count("not running") >= 3 * 8
    assert [s.get("class") for s in root.iter(f"{SVG}svg")] == ["grid"]
    assert "Not read: the sandbox is not running." in text
    matrix = pod_report_text(podlab_ns).splitlines()
    net = next(line for line in matrix if line.startswith("net "))
    assert net.split()[-3:] == ["-", "-", "-"]


def test_the_matrix_has_one_row_per_namespace_type_and_one_column_per_process():
    lines = pod_report_text(facts("pod_running")).splitlines()
    assert lines[2].split() == ["namespace", "host", "sandbox", "app", "sidecar"]
    assert [line.split()[0] for line in lines[3:11]] == ["net", "ipc", "uts", "pid", "mnt", "cgroup", "user", "time"]
    assert lines[3].split()[3:] == ["pod", "4026532265"] * 3


HOSTILE = "<img src=x onerror=alert(1)>&\"'"


def test_every_name_is_escaped():
    podlab_ns = copy.deepcopy(facts("pod_drift"))
    pod = only_pod(podlab_ns)
    for section in ("members", "share", "hostnames"):
        pod[section][HOSTILE] = pod[section].pop("app")
    pod["drift"][HOSTILE] = pod["drift"].pop("app")
    pod["cgroup"]["children"][HOSTILE] = pod["cgroup"]["children"].pop("app")
    pod["members"][HOSTILE]["name"] = f"picdev_{HOSTILE}"
    pod["members"][HOSTILE]["process"]["hostname"] = "<script>alert(2)</script>"
    pod["cgroup"]["parent"] = "/pod-</svg><b>"
    podlab_ns["warnings"].append("</p><script>alert(3)</script>")
    page = pod_report_html(podlab_ns)
    root, text = parse_html(page)
    assert "<img" not in page and "<script" not in page and "</svg><b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#x27;" in page
    assert HOSTILE in text  # shown as text, as given
    assert root.find(f".//{XHTML}script") is None and root.find(f".//{XHTML}img") is None


def test_the_page_does_not_change_with_the_pid_of_the_stand_in_reference():
    """When PID 1 is out of reach the module's own process is the reference: a new PID every run."""
    one = facts("pod_running")
    two = copy.deepcopy(one)
    assert two["host"]["source"] == "self"
    two["host"]["pid"] += 1000
    two["host"]["nspid"] = [two["host"]["pid"]]
    two["host"]["ppid"] += 1000
    assert pod_report_html(one) == pod_report_html(two)
    assert pod_report_text(one) == pod_report_text(two)


def test_members_are_drawn_in_name_order_whatever_docker_listed_first():
    one = facts("pod_running")
    two = copy.deepcopy(one)
    pod = only_pod(two)
    pod["members"] = dict(reversed(list(pod["members"].items())))
    pod["cgroup"]["children"] = dict(reversed(list(pod["cgroup"]["children"].items())))
    assert pod_report_html(one) == pod_report_html(two)


def test_host_pid_1_is_named_when_it_is_the_reference():
    podlab_ns = copy.deepcopy(facts("pod_running"))
    podlab_ns["host"].update(source="pid 1", pid=1, comm="systemd")
    text = parse_html(pod_report_html(podlab_ns))[1]
    assert "PID 1 (systemd)" in text
    assert pod_model(podlab_ns)["columns"][0]["state"] == "PID 1"


@pytest.mark.parametrize(
    ("podlab_ns", "pod", "message"),
    [
        ("not facts", "foo", "expected ansible_facts.podlab_ns"),
        ({"schema": 1}, "foo", "expected ansible_facts.podlab_ns"),
        ({"pods": {}}, "foo", "no pod 'foo' in the facts (they hold: none); gather it with podlab.playground.ns_facts"),
        ({"pods": {"a": {"found": True}, "b": {"found": True}}}, None, "the facts hold 2 pods (a, b); name one"),
        ({"pods": {"foo": {"name": "foo", "found": False}}}, "foo", "(no container carries the label podlab.pod=foo); create it with"),
    ],
)
def test_errors_say_what_to_do(podlab_ns, pod, message):
    for render in (pod_report_html, pod_report_text):
        with pytest.raises(AnsibleFilterError, match=r"^pod_report_") as error:
            render(podlab_ns, pod)
        assert message in str(error.value)


def test_one_pod_needs_no_name():
    podlab_ns = facts("pod_running")
    assert pod_report_html(podlab_ns) == pod_report_html(podlab_ns, "picdev")


@pytest.mark.parametrize(
    ("value", "text"),
    [(536870912, "512 MiB"), (268435456, "256 MiB"), (1536, "1.5 KiB"), (0, "0 B"), (1 << 40, "1 TiB"), (3 << 50, "3072 TiB"),
     ("max", "max"), (None, "unknown")],
)
def test_human_bytes(value, text):
    assert human_bytes(value) == text


@pytest.mark.parametrize(("value", "text"), [(1.0, "1"), (0.5, "0.5"), (2, "2"), (1.25, "1.25"), ("max", "max"), (None, "unknown")])
def test_human_cpus(value, text):
    assert human_cpus(value) == text


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"pod_report_html", "pod_report_text"}


# -- CRI pods, and pods side by side -------------------------------------------------------------

def test_a_cri_pod_is_drawn_as_a_docker_pod_with_uts_shared_too():
    podlab_ns = facts("cri_running")
    pod = only_pod(podlab_ns)
    bars = grid_cells(pod_report_html(podlab_ns))
    for ns_type in ("net", "ipc", "uts"):  # a Docker pod's members keep their own uts
        inode = pod["sandbox"]["process"]["namespaces"][ns_type]["inode"]
        (box,) = bars[f"{ns_type}:[{inode}]"]
        assert (box["label"], box["title"]) == ("pod · shared by 3", f"{ns_type}:[{inode}] pod: sandbox, app, sidecar")
    for member in ("app", "sidecar"):
        (box,) = bars[f"pid:[{pod['members'][member]['process']['namespaces']['pid']['inode']}]"]
        assert box["label"] == "private"
    text = pod_report_text(podlab_ns)
    assert text.startswith("pod default/nsfprobe (cri) on vm: cgroup v1, 2 member(s)")
    assert "shared between app/sidecar: ipc, net, uts" in text
    assert "drift: none (every member is in the namespaces the runtime spec recorded)" in text


def test_the_runtime_is_named_in_the_page_and_the_matrix():
    cri, docker = facts("cri_running"), facts("pod_running")
    uid = only_pod(cri)["uid"]
    cri_text = parse_html(pod_report_html(cri))[1]
    assert f"runtime the CRI (cri) · uid {uid}" in cri_text
    assert '<span class="badge rt">cri</span>' in pod_report_html(cri)
    assert '<span class="badge rt">docker</span>' in pod_report_html(docker)  # facts from before runtime: docker all the same
    assert pod_report_text(docker).startswith("pod picdev (docker) on vm:")


@pytest.mark.parametrize(("fixture", "chain"), [
    ("cri_running", "kubepods › burstable › pod"),
    ("cri_share_pid", "kubepods › besteffort › pod"),
])
def test_a_cri_pods_cgroup_tree_is_kubepods_qos_pod_uid(fixture, chain):
    podlab_ns = facts(fixture)
    pod = only_pod(podlab_ns)
    tree = f"{chain}{pod['uid']}"
    assert pod["cgroup"]["parent"] == "/" + tree.replace(" › ", "/")
    text = parse_html(pod_report_html(podlab_ns))[1]
    assert f"tree {tree}" in text
    assert f"  tree: {tree}" in pod_report_text(podlab_ns).splitlines()
    for name, child in pod["cgroup"]["children"].items():
        assert f"memory {human_bytes(child['limits']['memory'])}" in text and name in text
    # a Docker pod's parent is one level: no tree line
    assert "tree:" not in pod_report_text(facts("pod_running"))


@pytest.mark.parametrize(("parent", "chain"), [
    ("/kubepods/burstable/pod12-ab", ["kubepods", "burstable", "pod12-ab"]),
    ("/kubepods/pod12-ab", ["kubepods", "pod12-ab"]),  # Guaranteed: no QoS level
    ("kubepods-besteffort-pod12_ab.slice", ["kubepods", "besteffort", "pod12-ab"]),  # systemd: '_' for the uid's '-'
    ("", []),
])
def test_cgroup_chain(parent, chain):
    assert cgroup_chain(parent) == chain


def test_host_namespaces_of_a_cri_pod_are_orange_bars_from_the_host():
    podlab_ns = facts("cri_host")
    bars = grid_cells(pod_report_html(podlab_ns))
    for ns_type in ("net", "ipc", "uts", "pid"):
        (box,) = bars[f"{ns_type}:[{podlab_ns['host']['namespaces'][ns_type]['inode']}]"]
        assert box["label"] == "host · shared by 3"
    (row,) = [line for line in pod_report_text(facts("cri_share_pid")).splitlines() if line.startswith("pid ")]
    assert row.count("pod ") == 2  # share_pid: sandbox and member in one


def test_cri_drift_reads_the_recorded_key():
    podlab_ns = facts("cri_drift")
    pod = only_pod(podlab_ns)
    assert all("docker" not in d and d["recorded"] for drifts in pod["drift"].values() for d in drifts)
    page = pod_report_html(podlab_ns)
    root, text = parse_html(page)
    assert "drift: 6" in text and "the runtime spec recorded" in text
    rows = [r for r in root.iter(f"{XHTML}tr") if r.get("class") == "drift"]
    assert len(rows) == 6
    pause_net = pod["drift"]["app"][1]["recorded"]
    assert pause_net.startswith("/proc/") and pause_net.endswith("/ns/net")
    assert f"<td><code>{pause_net}</code></td>" in page
    assert "Run podlab.playground.cri_pod for this pod again" in text
    stale_net = pod["members"]["app"]["process"]["namespaces"]["net"]["inode"]
    (box,) = grid_cells(page)[f"net:[{stale_net}]"]
    assert (box["fill"], box["label"]) == (DRIFT_COLOURS[0], "⚠ drift: private · shared by 2")
    matrix = pod_report_text(podlab_ns)
    assert f"app net: the runtime spec says {pause_net}, the kernel shows private" in matrix
    assert "cgroup: not read (the sandbox is not running)" in matrix


def test_drift_with_recorded_and_docker_keys_reads_recorded():
    podlab_ns = copy.deepcopy(facts("pod_drift"))
    drift = only_pod(podlab_ns)["members"]["app"]["drift"][0]
    drift["recorded"], drift["docker"] = "container:recorded0000", "container:docker000000"
    assert "Docker says container:recorded0000" in pod_report_text(podlab_ns)


def both() -> dict:
    """One read of a Docker pod and a CRI pod, as ns_facts pods=[picdev] cri_pods=[nsfprobe] returns it."""
    podlab_ns = copy.deepcopy(facts("pod_running"))
    podlab_ns["pods"].update(facts("cri_running")["pods"])
    return podlab_ns


def test_two_pods_side_by_side_on_one_page():
    podlab_ns = both()
    page = pod_report_html(podlab_ns, ["picdev", "nsfprobe"])
    root, text = parse_html(page)
    assert root.find(f"{XHTML}head/{XHTML}title").text == "pods picdev (docker), default/nsfprobe (cri) · podlab.playground"
    side = [d for d in root.iter(f"{XHTML}div") if d.get("class") == "side"]
    assert len(side) == 1
    pods = [d for d in side[0] if d.get("class") == "pod"]
    assert [d.find(f"{XHTML}h2").text for d in pods] == ["pod picdev", "pod default/nsfprobe"]
    # each pod's grid and cgroup tree, in its own column
    for column in pods:
        assert sorted(s.get("class") for s in column.iter(f"{SVG}svg")) == ["grid", "tree"]
    # the page holds everything each pod's own page does
    for name in ("picdev", "nsfprobe"):
        alone = parse_html(pod_report_html(podlab_ns, name))[1]
        for line in pod_report_text(podlab_ns, name).splitlines():
            assert line in text, line
        assert "Namespaces: who shares what" in alone
    # the comparison table: uts is the pod's in the CRI pod, each member's own in the Docker pod
    table = next(root.iter(f"{XHTML}table"))
    rows = {r[0].findtext(f"{XHTML}code"): ["".join(td.itertext()) for td in r[1:]] for r in table.findall(f"{XHTML}tr")[1:-1]}
    assert rows["uts"] == ["pod: sandbox · private: app, sidecar", "pod: sandbox, app, sidecar"]
    assert rows["net"] == ["pod: sandbox, app, sidecar"] * 2
    assert rows["cgroup"] == ["host: sandbox, app, sidecar"] * 2
    assert list(rows)[:5] == ["net", "ipc", "uts", "pid", "mnt"]
    assert "/pod-picdev" in text and only_pod(facts("cri_running"))["cgroup"]["parent"] in text


def test_side_by_side_keeps_the_order_given_and_says_each_warning_once():
    podlab_ns = both()
    podlab_ns["warnings"] = ["a partial view"]
    page = pod_report_html(podlab_ns, ["nsfprobe", "picdev"])
    root = parse_html(page)[0]
    assert [h.text for h in root.iter(f"{XHTML}h2") if (h.text or "").startswith("pod ")] == ["pod default/nsfprobe", "pod picdev"]
    assert page.count('<p class="warn">a partial view</p>') == 1


def test_a_list_of_one_pod_is_its_own_page_and_the_text_of_a_list_is_each_matrix():
    podlab_ns = both()
    assert pod_report_html(podlab_ns, ["picdev"]) == pod_report_html(podlab_ns, "picdev")
    assert pod_report_text(podlab_ns, ["picdev", "nsfprobe"]) == pod_report_text(podlab_ns, "picdev") + "\n" + pod_report_text(podlab_ns, "nsfprobe")


@pytest.mark.parametrize(("pod", "message"), [
    ([], "the list of pods is empty"),
    (["picdev", "picdev"], "a pod is named twice"),
    (["picdev", 3], "expected a pod name or a list of pod names"),
    ({"picdev": 1}, "expected a pod name or a list of pod names"),
    (3, "expected a pod name or a list of pod names"),
    (["picdev", "nope"], "no pod 'nope' in the facts"),
])
def test_lists_of_pods_that_cannot_be_drawn(pod, message):
    with pytest.raises(AnsibleFilterError, match=message):
        pod_report_html(both(), pod)


def test_a_missing_cri_pod_says_to_make_it_with_cri_pod():
    podlab_ns = both()
    podlab_ns["pods"]["gone"] = {"name": "gone", "found": False, "runtime": "cri", "namespace": "default"}
    with pytest.raises(AnsibleFilterError, match=r"CRI pod 'gone' was not found on the runtime .* podlab.playground.cri_pod"):
        pod_report_text(podlab_ns, "gone")


def test_a_cri_pods_namespace_and_uid_are_escaped():
    podlab_ns = both()
    hostile = '<img src=x onerror=alert(1)>&"\''
    podlab_ns["pods"]["nsfprobe"].update(namespace=hostile, uid=hostile)
    for page in (pod_report_html(podlab_ns, "nsfprobe"), pod_report_html(podlab_ns, ["picdev", "nsfprobe"])):
        root, text = parse_html(page)
        assert root.find(f".//{XHTML}img") is None
        assert f"pod {hostile}/nsfprobe" in text and f"uid {hostile}" in text


def test_live_facts_of_a_docker_pod_and_a_cri_pod_side_by_side():
    podlab_ns = facts("live_docker_and_cri")
    docker, cri = podlab_ns["pods"]["rptdock"], podlab_ns["pods"]["rptcri"]
    assert (docker["runtime"], cri["runtime"]) == ("docker", "cri")
    page = pod_report_html(podlab_ns, ["rptdock", "rptcri"])
    root, text = parse_html(page)
    for pod in (docker, cri):
        for name, container in running(pod).items():
            assert container["name"] in text and f"pid {container['pid']}" in text, name
            for ns_type, link in container["process"]["namespaces"].items():
                if not ns_type.endswith("_for_children"):
                    assert f"{ns_type}:[{link['inode']}]" in text, (name, ns_type)
        assert pod["cgroup"]["parent"] in text
    table = next(root.iter(f"{XHTML}table"))
    rows = {r[0].findtext(f"{XHTML}code"): ["".join(td.itertext()) for td in r[1:]] for r in table.findall(f"{XHTML}tr")[1:-1]}
    assert rows["uts"] == ["pod: sandbox · private: app, sidecar", "pod: sandbox, app, sidecar"]
    assert f"tree kubepods › burstable › pod{cri['uid']}" in text
    assert "drift: none (every member is in the namespaces the runtime spec recorded)" in pod_report_text(podlab_ns, "rptcri").splitlines()
