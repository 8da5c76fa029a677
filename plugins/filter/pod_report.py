# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters pod_report_html and pod_report_text: a picture of a pod from ansible_facts.podlab_ns.

Their documentation is in pod_report_html.yml and pod_report_text.yml beside this file.
Both renderers read one model (pod_model) built from the facts; nothing here reads the host.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

# Rows in the order a reader asks about a pod: what members share first, then what they keep.
NS_ORDER = ("net", "ipc", "uts", "pid", "mnt", "cgroup", "user", "time")
NS_MEANING = {
    "net": "interfaces, IPs, ports",
    "ipc": "SysV IPC, /dev/shm",
    "uts": "hostname",
    "pid": "process IDs",
    "mnt": "mounts, root filesystem",
    "cgroup": "the cgroup tree it sees",
    "user": "UIDs and GIDs",
    "time": "boot and monotonic clocks",
}
RELATIONS = ("pod", "host", "private")
RELATION_MEANING = {
    "pod": "the sandbox's",
    "host": "the host's, not isolated",
    "private": "its own",
    "absent": "no process to read",
}
# The word the legend uses for a relation.
RELATION_WORD = {"pod": "pod", "host": "host", "private": "private", "absent": "stopped"}
# fill, stroke, text per relation; drift is red whatever the relation.
COLOURS = {
    "pod": ("#d6e6ff", "#2f6fdf", "#143c85"),
    "host": ("#ffe6c2", "#d9891a", "#7a4300"),
    "private": ("#d8f3dc", "#2f9e5a", "#145c31"),
    "absent": ("#f1f3f5", "#adb5bd", "#6c757d"),
}
DRIFT = "#d62839"
DRIFT_COLOURS = ("#fde2e5", DRIFT, "#9b1020")
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Liberation Mono, monospace"


# -- values in human units --------------------------------------------------------------------

def human_bytes(value: Any) -> str:
    """536870912 -> '512 MiB'; 'max' -> 'max'; None -> 'unknown'."""
    if value is None:
        return "unknown"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            text = f"{size:.0f}" if size == int(size) else f"{size:.1f}"
            return f"{text} {unit}"
        size /= 1024
    return str(value)  # pragma: no cover - the loop always returns


def human_cpus(value: Any) -> str:
    """1.0 -> "1"; 0.5 -> "0.5"; "max" -> "max"."""
    if value is None:
        return "unknown"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:g}"


def human_count(value: Any) -> str:
    return "unknown" if value is None else str(value)


def short(text: Any, width: int) -> str:
    """Cut text to width characters with an ellipsis; the full text goes into a tooltip."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def short_mode(mode: Any) -> str:
    """Docker's 'container:<64 hex>' reads better as 'container:<12 hex>'."""
    mode = str(mode)
    if mode.startswith("container:") and len(mode) > 22:
        return mode[:22]
    return mode or "default"


# -- the model both renderers draw ----------------------------------------------------------

def _select_pod(podlab_ns: Any, pod: str | None, filter_name: str) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(podlab_ns, Mapping) or not isinstance(podlab_ns.get("pods"), Mapping):
        raise AnsibleFilterError(f"{filter_name}: expected ansible_facts.podlab_ns (with a 'pods' key) from podlab.playground.ns_facts, "
                                 f"got {type(podlab_ns).__name__}")
    pods = podlab_ns["pods"]
    if pod is None:
        if len(pods) != 1:
            raise AnsibleFilterError(f"{filter_name}: the facts hold {len(pods)} pods ({', '.join(sorted(pods)) or 'none'}); name one, "
                                     f"e.g. podlab_ns | podlab.playground.{filter_name}('foo')")
        pod = next(iter(pods))
    if pod not in pods:
        raise AnsibleFilterError(f"{filter_name}: no pod {pod!r} in the facts (they hold: {', '.join(sorted(pods)) or 'none'}); "
                                 f"gather it with podlab.playground.ns_facts and pods: [{pod}]")
    facts = pods[pod]
    if isinstance(facts, Mapping) and facts.get("runtime") == "cri" and not facts.get("found"):
        raise AnsibleFilterError(f"{filter_name}: CRI pod {pod!r} was not found on the runtime (no sandbox of that name in namespace "
                                 f"{facts.get('namespace') or 'default'}, or the runtime did not answer: see the facts' warnings); "
                                 "create it with podlab.playground.cri_pod (docs/cri_pod.md)")
    if not isinstance(facts, Mapping) or not facts.get("found"):
        raise AnsibleFilterError(f"{filter_name}: pod {pod!r} was not found on the host (no container carries the label podlab.pod={pod}); "
                                 f"create it with podlab.playground.docker_pod (playbooks/docker_pod.yml -e podlab_pod_name={pod})")
    return str(pod), facts


def _pod_names(pods: Any, filter_name: str) -> list[str | None]:
    """One name, None (the only pod) or a list of names: the pods a page draws, in that order."""
    if pods is None or isinstance(pods, str):
        return [pods]
    if not isinstance(pods, list | tuple) or not all(isinstance(p, str) for p in pods):
        raise AnsibleFilterError(f"{filter_name}: expected a pod name or a list of pod names, got {pods!r}")
    names = list(pods)
    if not names:
        raise AnsibleFilterError(f"{filter_name}: the list of pods is empty; name one or more, e.g. ['foo', 'foocri']")
    if len(set(names)) != len(names):
        raise AnsibleFilterError(f"{filter_name}: a pod is named twice in {names!r}")
    return names


def cgroup_chain(parent: str) -> list[str]:
    """A cgroup parent as its levels: '/kubepods/burstable/pod<uid>' and the systemd
    'kubepods-burstable-pod<uid_>.slice' both -> ['kubepods', 'burstable', 'pod<uid>']."""
    parent = parent.strip("/")
    if not parent:
        return []
    if "/" not in parent and parent.endswith(".slice"):
        # systemd nests a-b.slice in a.slice; the pod's uid has '_' where the path has '-'.
        levels = parent.removesuffix(".slice").split("-")
        return [level.replace("_", "-") if level.startswith("pod") else level for level in levels]
    return parent.split("/")


def _ns_inode(process: Mapping[str, Any] | None, ns_type: str) -> int | None:
    if not process:
        return None
    link = (process.get("namespaces") or {}).get(ns_type)
    return link.get("inode") if isinstance(link, Mapping) else None


def _ns_types(processes: list[Mapping[str, Any] | None]) -> list[str]:
    seen = {t for p in processes if p for t in (p.get("namespaces") or {}) if not t.endswith("_for_children")}
    return [t for t in NS_ORDER if t in seen] + sorted(seen - set(NS_ORDER))


def _column(key: str, title: str, container: Mapping[str, Any] | None, process: Mapping[str, Any] | None) -> dict[str, Any]:
    container = container or {}
    process = process or {}
    return {
        "key": key,
        "title": title,
        "container": container.get("name") or "",
        "id": str(container.get("id") or "")[:12],
        "state": container.get("state") or ("running" if process else "unknown"),
        "pid": process.get("pid"),
        "comm": process.get("comm") or "",
        "hostname": process.get("hostname") or "",
        "process": process or None,
        "drift": list(container.get("drift") or []),
        "cells": {},
    }


def _notes(columns: list[dict[str, Any]]) -> list[str]:
    """What a plain share matrix hides: *_for_children links that differ, threads elsewhere."""
    notes = []
    for col in columns:
        process = col["process"] or {}
        namespaces = process.get("namespaces") or {}
        for link, value in sorted(namespaces.items()):
            base = link.removesuffix("_for_children")
            if link != base and value != namespaces.get(base):
                notes.append(f"{col['title']}: {link} is [{(value or {}).get('inode')}], not its {base} [{(namespaces.get(base) or {}).get('inode')}]: "
                             "its children will start elsewhere")
        for thread in process.get("threads_differing") or []:
            types = ", ".join(sorted(thread.get("namespaces") or {}))
            notes.append(f"{col['title']}: thread {thread.get('tid')} is in other namespaces ({types})")
    return notes


def pod_model(podlab_ns: Any, pod: str | None = None, filter_name: str = "pod_report_html") -> dict[str, Any]:
    """Columns (host, sandbox, members), one cell per namespace type, the cgroup tree, drift and notes."""
    name, facts = _select_pod(podlab_ns, pod, filter_name)
    host = podlab_ns.get("host") or {}
    sandbox = facts.get("sandbox") or {}
    # Docker lists containers newest first: sort by name so that a recreated member moves nothing.
    members: dict[str, Any] = dict(sorted((facts.get("members") or {}).items()))
    share: Mapping[str, Any] = facts.get("share") or {}

    host_col = _column("host", "host", None, host)
    host_col["state"] = "PID 1" if host.get("source", "pid 1") == "pid 1" else "reference: own process"
    columns = [host_col, _column("sandbox", "sandbox", sandbox, sandbox.get("process"))]
    columns += [_column(m, m, f, (f or {}).get("process")) for m, f in members.items()]
    types = _ns_types([c["process"] for c in columns])
    sandbox_proc = sandbox.get("process")

    for col in columns:
        drift_types = {d.get("type") for d in col["drift"]}
        for ns_type in types:
            inode = _ns_inode(col["process"], ns_type)
            if inode is None:
                relation = "absent"
            elif col["key"] == "host" or inode == _ns_inode(host, ns_type):
                relation = "host"
            elif col["key"] == "sandbox":
                relation = "pod"
            else:
                relation = (share.get(col["key"]) or {}).get(ns_type) or ("pod" if inode == _ns_inode(sandbox_proc, ns_type) else "private")
            col["cells"][ns_type] = {"inode": inode, "relation": relation, "drift": ns_type in drift_types}

    # ns_facts names the runtime's record `recorded`; facts gathered before CRI pods only have `docker`.
    drift = [{"member": col["title"], **d, "recorded": d.get("recorded", d.get("docker"))} for col in columns[1:] for d in col["drift"]]
    runtime = str(facts.get("runtime") or "docker")
    cgroup = facts.get("cgroup") or {}
    order = ["sandbox", *members]
    children = cgroup.get("children") or {}
    ids = {col["key"]: col["id"] for col in columns[1:]}
    names = [n for n in order if n in children] + [n for n in children if n not in order]
    child_list = [{"name": n, "id": ids.get(n, ""), "limits": dict(children[n].get("limits") or {})} for n in names]
    return {
        "name": name,
        "runtime": runtime,
        # Who made the record drift is judged against, and what repairs the pod.
        "recorder": "the runtime spec" if runtime == "cri" else "Docker",
        "maker": "podlab.playground.cri_pod" if runtime == "cri" else "podlab.playground.docker_pod",
        "pod_name": str(facts.get("name") or name),
        "namespace": str(facts.get("namespace") or ""),
        "uid": str(facts.get("uid") or ""),
        "host": host.get("hostname") or "",
        "host_source": host.get("source", "pid 1"),
        "cgroup_version": podlab_ns.get("cgroup_version"),
        "schema": podlab_ns.get("schema"),
        "columns": columns,
        "types": types,
        "pairs": {k: list(v) for k, v in sorted((facts.get("pairs") or {}).items()) if v},
        "drift": drift,
        "cgroup": {
            "version": cgroup.get("version"),
            "parent": cgroup.get("parent") or "",
            # kubepods/<qos>/pod<uid>: the levels kubelet's QoS classes nest a CRI pod in.
            "chain": cgroup_chain(str(cgroup.get("parent") or "")) if runtime == "cri" else [],
            "paths": dict(cgroup.get("paths") or {}),
            "limits": dict(cgroup.get("limits") or {}),
            "children": child_list,
        } if cgroup else {},
        "init_containers": [{"name": n, "state": (f or {}).get("state") or "unknown"} for n, f in sorted((facts.get("init_containers") or {}).items())],
        "warnings": list(podlab_ns.get("warnings") or []),
        "notes": _notes(columns),
    }


# -- text --------------------------------------------------------------------------------------

def _limits_text(limits: Mapping[str, Any], version: Any) -> str:
    if not limits:
        return "no cgroup read"
    cpu_share = f"weight {human_count(limits.get('cpu_weight'))}" if version == 2 else f"shares {human_count(limits.get('cpu_shares'))}"
    return (f"memory {human_bytes(limits.get('memory'))}, mem+swap {human_bytes(limits.get('memory_swap'))}, "
            f"cpus {human_cpus(limits.get('cpus'))}, pids {human_count(limits.get('pids_max'))}, {cpu_share}")


def pod_title(model: Mapping[str, Any]) -> str:
    """foo for a Docker pod; NAMESPACE/NAME for a CRI pod, as kubectl names it."""
    return f"{model['namespace']}/{model['pod_name']}" if model["namespace"] else model["name"]


def render_text(model: Mapping[str, Any]) -> str:
    cols = model["columns"]
    header = ["namespace", *(c["title"] for c in cols)]
    rows = [header]
    for ns_type in model["types"]:
        row = [ns_type]
        for col in cols:
            cell = col["cells"][ns_type]
            if cell["relation"] == "absent":
                row.append("-")
            else:
                mark = "!" if cell["drift"] else ""
                row.append(f"{cell['relation']}{mark} {cell['inode']}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"pod {pod_title(model)} ({model['runtime']}) on {model['host'] or 'the host'}: cgroup v{model['cgroup_version']}, "
             f"{len(cols) - 2} member(s); host = PID 1's namespace, pod = the sandbox's, private = its own, ! = drift"]
    states = "  ".join(f"{c['title']}={c['state']}" + (f" pid {c['pid']}" if c["pid"] else "") for c in cols[1:])
    lines.append(f"containers: {states}")
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    for pair, types in model["pairs"].items():
        lines.append(f"shared between {pair}: {', '.join(types)}")
    cgroup = model["cgroup"]
    if cgroup:
        lines.append(f"cgroup v{cgroup['version']} {cgroup['parent'] or '(default parent)'}: {_limits_text(cgroup['limits'], cgroup['version'])}")
        if cgroup["chain"]:
            lines.append(f"  tree: {' › '.join(cgroup['chain'])}")
        width = max((len(c["name"]) for c in cgroup["children"]), default=0)
        for i, child in enumerate(cgroup["children"]):
            branch = "└─" if i == len(cgroup["children"]) - 1 else "├─"
            lines.append(f"  {branch} {child['name'].ljust(width)}  {_limits_text(child['limits'], cgroup['version'])}")
    else:
        lines.append("cgroup: not read (the sandbox is not running)")
    if model["drift"]:
        lines.append(f"DRIFT ({len(model['drift'])}):")
        lines.extend(f"  {d['member']} {d.get('type')}: {model['recorder']} says {short_mode(d.get('recorded'))}, the kernel shows {d.get('kernel')}; "
                     f"{d.get('detail')}" for d in model["drift"])
    else:
        lines.append(f"drift: none (every member is in the namespaces {model['recorder']} recorded)")
    lines.extend(f"note: {n}" for n in model["notes"])
    lines.extend(f"warning: {w}" for w in model["warnings"])
    return "\n".join(lines) + "\n"


# -- HTML and SVG ------------------------------------------------------------------------------

def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _text(x: float, y: float, content: Any, *, size: int = 12, weight: str = "normal", fill: str = "#212529", anchor: str = "start",
          mono: bool = False, title: Any = None) -> str:
    tip = f"<title>{esc(title)}</title>" if title is not None else ""
    family = MONO if mono else FONT
    return (f'<text x="{x:g}" y="{y:g}" font-family="{family}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="{anchor}">{tip}{esc(content)}</text>')


def _rect(x: float, y: float, w: float, h: float, *, fill: str, stroke: str = "none", width: float = 1, radius: float = 6, dash: str = "") -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="{radius:g}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width:g}"{dashed}/>')


def _runs(col_cells: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Spans [start, end) of neighbouring columns in the same namespace (same inode, relation and drift)."""
    def key(cell: Mapping[str, Any]) -> tuple[Any, ...]:
        return (cell["inode"], cell["relation"], cell["drift"])

    spans: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(col_cells) + 1):
        if i == len(col_cells) or col_cells[i]["relation"] == "absent" or key(col_cells[i]) != key(col_cells[start]):
            spans.append((start, i))
            start = i
    return spans


# Geometry of the grid, in px.
LABEL_W = 190
COL_W = 190
GAP = 12
HEAD_H = 96
ROW_H = 46
ROW_GAP = 8
PAD = 16
LEGEND_H = 26


def _legend(cols: list[dict[str, Any]], width: int, recorder: str) -> tuple[list[str], int]:
    """pod, host, private, not running (if any cell is), drift: as many lines as the width needs; (parts, height)."""
    present = {cell["relation"] for col in cols for cell in col["cells"].values()}
    items = [(RELATION_WORD[r], COLOURS[r], RELATION_MEANING[r], "") for r in (*RELATIONS, "absent") if r in RELATIONS or r in present]
    items.append(("drift", DRIFT_COLOURS, f"not what {recorder} recorded", "4 2"))
    parts = []
    x, y = PAD, PAD
    for word, (fill, stroke, ink), meaning, dash in items:
        slot = 30 + round(6.4 * (len(word) + 1 + len(meaning))) + 28  # 12 px DejaVu Sans: about 6 px a character
        if x > PAD and x + slot > width - PAD:
            x, y = PAD, y + LEGEND_H
        parts.append(_rect(x, y, 22, 16, fill=fill, stroke=stroke, width=1.5, radius=4, dash=dash))
        parts.append(f'<text x="{x + 30:g}" y="{y + 13:g}" font-family="{FONT}" font-size="12" fill="#343a40">'
                     f'<tspan font-weight="bold" fill="{ink}">{esc(word)}</tspan> {esc(meaning)}</text>')
        x += slot
    return parts, y + LEGEND_H - PAD


def _col_x(i: int) -> float:
    return PAD + LABEL_W + i * (COL_W + GAP)


def _head(i: int, col: Mapping[str, Any], y: float, host_source: str) -> list[str]:
    """A column's head: name, container, process, hostname; red with a warning sign when it drifted."""
    x = _col_x(i)
    is_host = col["key"] == "host"
    if is_host:
        fill, stroke = "#fff4e0", COLOURS["host"][1]
    else:
        fill, stroke = ("#e7f0ff", COLOURS["pod"][1]) if col["key"] == "sandbox" else ("#f8f9fa", "#495057")
    drifted = bool(col["drift"])
    parts = [_rect(x, y, COL_W, HEAD_H - 10, fill=fill, stroke=DRIFT if drifted else stroke, width=2.5 if drifted else 1.5, radius=10),
             _text(x + COL_W / 2, y + 22, short(col["title"], 20), size=15, weight="bold", anchor="middle", title=col["title"])]
    if is_host:
        # The stand-in reference is the module's own process: its PID changes every run, so it is not drawn.
        sub1 = col["hostname"] or "host"
        sub2 = f"PID 1 ({col['comm']})" if host_source == "pid 1" else "ref: ns_facts' process"
    else:
        sub1 = short(col["container"] or "-", 26)
        sub2 = f"{col['comm']} · pid {col['pid']}" if col["pid"] else col["state"]
    parts.append(_text(x + COL_W / 2, y + 41, sub1, size=11, anchor="middle", fill="#495057", title=col["container"] or None))
    parts.append(_text(x + COL_W / 2, y + 57, short(sub2, 28), size=11, anchor="middle", fill="#495057"))
    if col["hostname"] and not is_host:
        parts.append(_text(x + COL_W / 2, y + 73, short(f"hostname {col['hostname']}", 28), size=11, anchor="middle", fill="#495057"))
    if drifted:
        parts.append(_text(x + COL_W - 10, y + 20, "⚠", size=15, anchor="end", fill=DRIFT, weight="bold", title="drift"))
    return parts


def _band(r: int, ns_type: str, cols: list[dict[str, Any]], y: float, width: int) -> list[str]:
    """One namespace type across the columns; neighbours in the same namespace share one bar."""
    parts = [_rect(PAD, y - 3, width - 2 * PAD, ROW_H + 6, fill="#f8f9fa" if r % 2 == 0 else "#ffffff", radius=8),
             _text(PAD + 10, y + 20, ns_type, size=15, weight="bold", mono=True),
             _text(PAD + 10, y + 37, NS_MEANING.get(ns_type, ""), size=11, fill="#6c757d")]
    cells = [col["cells"][ns_type] for col in cols]
    for start, end in _runs(cells):
        cell = cells[start]
        fill, stroke, ink = DRIFT_COLOURS if cell["drift"] else COLOURS[cell["relation"]]
        x0, x1 = _col_x(start), _col_x(end - 1) + COL_W
        names = ", ".join(c["title"] for c in cols[start:end])
        tip = f"{ns_type}:[{cell['inode']}] {cell['relation']}: {names}" if cell["inode"] is not None else f"{ns_type}: not running"
        dash = "4 3" if cell["relation"] == "absent" else ("6 3" if cell["drift"] else "")
        parts.append(f"<g><title>{esc(tip)}</title>")
        parts.append(_rect(x0, y, x1 - x0, ROW_H, fill=fill, stroke=stroke, width=2.5 if cell["drift"] else 1.5, radius=8, dash=dash))
        mid = (x0 + x1) / 2
        if cell["inode"] is None:
            parts.append(_text(mid, y + 28, "not running", size=12, anchor="middle", fill=ink))
        else:
            label = cell["relation"] if end - start == 1 else f"{cell['relation']} · shared by {end - start}"
            if cell["drift"]:
                label = f"⚠ drift: {label}"
            parts.append(_text(mid, y + 19, label, size=12, weight="bold", anchor="middle", fill=ink))
            parts.append(_text(mid, y + 36, f"{ns_type}:[{cell['inode']}]", size=12, anchor="middle", fill=ink, mono=True))
        parts.append("</g>")
    return parts


def _svg_grid(model: Mapping[str, Any]) -> str:
    """The legend, one head per column (host, sandbox, members), one band per namespace type."""
    cols = model["columns"]
    types = model["types"]
    width = grid_width(model)
    legend, legend_h = _legend(cols, width, model["recorder"])
    grid_y = PAD + legend_h + 14
    height = grid_y + HEAD_H + len(types) * (ROW_H + ROW_GAP) + PAD
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="grid" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{esc("namespaces of pod " + pod_title(model))}">', *legend]
    for i, col in enumerate(cols):
        parts.extend(_head(i, col, grid_y, model["host_source"]))
    for r, ns_type in enumerate(types):
        parts.extend(_band(r, ns_type, cols, grid_y + HEAD_H + r * (ROW_H + ROW_GAP), width))
    parts.append("</svg>")
    return "".join(parts)


def grid_width(model: Mapping[str, Any]) -> int:
    cols = len(model["columns"])
    return PAD * 2 + LABEL_W + cols * COL_W + (cols - 1) * GAP


def _svg_cgroup(model: Mapping[str, Any]) -> str:
    cgroup = model["cgroup"]
    children = cgroup["children"]
    version = cgroup["version"]
    box_w, box_h, gap = 230, 132, 18
    width = max(PAD * 2 + len(children) * box_w + max(len(children) - 1, 0) * gap, grid_width(model))
    # A CRI pod's parent, /kubepods/<qos>/pod<uid>, needs more room than /pod-foo.
    top_w, top_h = (min(640, width - 2 * PAD), 112) if cgroup["chain"] else (470, 112)
    child_y = PAD + top_h + 50
    height = child_y + box_h + PAD
    pod_limits = cgroup["limits"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="tree" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{esc("cgroup tree of pod " + pod_title(model))}">']
    top_x = (width - top_w) / 2
    parts.append(_rect(top_x, PAD, top_w, top_h, fill="#e7f0ff", stroke=COLOURS["pod"][1], width=2, radius=10))
    default_parent = "(the runtime's default parent)" if model["runtime"] == "cri" else "(Docker default parent)"
    big = not cgroup["chain"]
    parts.append(_text(top_x + 14, PAD + 24, short(f"pod cgroup {cgroup['parent'] or default_parent}", 50 if big else 76), size=15 if big else 13,
                       weight="bold",
                       title="; ".join(f"{k}: {v}" for k, v in sorted(cgroup["paths"].items()))))
    sub = f"cgroup v{version} · {len(children)} {'child' if len(children) == 1 else 'children'}"
    if cgroup["chain"]:
        sub += " · tree " + " › ".join(cgroup["chain"])
    parts.append(_text(top_x + 14, PAD + 44, short(sub, 80), size=11, fill="#495057", title=" › ".join(cgroup["chain"]) or None))
    parts.extend(_limit_lines(top_x + 14, PAD + 66, pod_limits, version=version))

    bus_y = PAD + top_h + 25
    start_x = (width - (len(children) * box_w + max(len(children) - 1, 0) * gap)) / 2
    centres = [start_x + i * (box_w + gap) + box_w / 2 for i in range(len(children))]
    if centres:
        parts.append(f'<path d="M{width / 2:g} {PAD + top_h:g} V{bus_y:g} M{centres[0]:g} {bus_y:g} H{centres[-1]:g}" stroke="#868e96" '
                     'stroke-width="2" fill="none"/>')
    for i, child in enumerate(children):
        x = start_x + i * (box_w + gap)
        parts.append(f'<path d="M{centres[i]:g} {bus_y:g} V{child_y:g}" stroke="#868e96" stroke-width="2" fill="none"/>')
        is_sandbox = child["name"] == "sandbox"
        parts.append(_rect(x, child_y, box_w, box_h, fill="#f3f7ff" if is_sandbox else "#ffffff", stroke="#495057", width=1.5, radius=10))
        parts.append(_text(x + 12, child_y + 22, short(child["name"], 24), size=14, weight="bold", title=child["name"]))
        if child["id"]:
            parts.append(_text(x + box_w - 12, child_y + 22, child["id"], size=10, anchor="end", fill="#868e96", mono=True, title="container id"))
        parts.extend(_limit_lines(x + 12, child_y + 44, child["limits"], version=version, pod_memory=pod_limits.get("memory"), bar_w=box_w - 24))
    parts.append("</svg>")
    return "".join(parts)


def _limit_lines(x: float, y: float, limits: Mapping[str, Any], *, version: Any, pod_memory: Any = None, bar_w: float = 0) -> list[str]:
    """memory (with a bar against the pod's memory), mem+swap, cpus, pids, cpu shares or weight."""
    if not limits:
        return [_text(x, y, "no cgroup read", size=12, fill="#6c757d")]
    memory = limits.get("memory")
    cpu_share = f"weight {human_count(limits.get('cpu_weight'))}" if version == 2 else f"shares {human_count(limits.get('cpu_shares'))}"
    parts = [
        _text(x, y, f"memory {human_bytes(memory)}", size=13, weight="bold", title=f"{memory} bytes" if isinstance(memory, int) else memory),
        _text(x, y + 18, f"mem+swap {human_bytes(limits.get('memory_swap'))}", size=11, fill="#495057"),
        _text(x, y + 36, f"cpus {human_cpus(limits.get('cpus'))} · pids {human_count(limits.get('pids_max'))} · {cpu_share}", size=11, fill="#495057"),
    ]
    if bar_w and isinstance(pod_memory, int) and pod_memory > 0:
        bar_y = y + 50
        # A member without a limit of its own (or above the pod's) is bounded by the pod's.
        share = memory / pod_memory if isinstance(memory, int) and memory < pod_memory else 1.0
        capped = share == 1.0
        parts.append(_rect(x, bar_y, bar_w, 10, fill="#e9ecef", radius=5))
        parts.append(_rect(x, bar_y, max(bar_w * share, 10), 10, fill="#adb5bd" if capped else COLOURS["pod"][1], radius=5))
        caption = f"bounded by the pod's {human_bytes(pod_memory)}" if capped else f"{share * 100:.0f}% of the pod's {human_bytes(pod_memory)}"
        parts.append(_text(x, bar_y + 24, caption, size=11, fill="#6c757d"))
    return parts


STYLE = f"""
body {{ font-family: {FONT}; color: #212529; background: #ffffff; margin: 24px 32px; }}
h1 {{ font-size: 24px; margin: 0 0 4px 0; }}
h2 {{ font-size: 17px; margin: 26px 0 8px 0; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }}
p, li {{ font-size: 13px; line-height: 1.45; }}
.sub {{ color: #495057; margin: 0; }}
.badge {{ display: inline-block; border-radius: 12px; padding: 2px 12px; font-size: 13px; font-weight: bold; margin-left: 10px;
  vertical-align: middle; }}
.ok {{ background: #d8f3dc; color: #145c31; }}
.bad {{ background: {DRIFT}; color: #ffffff; }}
.off {{ background: #e9ecef; color: #495057; }}
.rt {{ background: #343a40; color: #ffffff; }}
.side {{ display: flex; gap: 28px; align-items: flex-start; }}
.side .pod {{ flex: 1 1 0; min-width: 0; }}
h3 {{ font-size: 15px; margin: 18px 0 6px 0; }}
svg {{ max-width: 100%; height: auto; display: block; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #dee2e6; padding: 4px 8px; text-align: left; }}
th {{ background: #f1f3f5; }}
.drift td {{ color: #7d0f1b; background: #fdecee; }}
.warn {{ background: #fff4e0; border-left: 4px solid #d9891a; padding: 6px 10px; }}
pre {{ font-family: {MONO}; font-size: 12px; background: #f8f9fa; border: 1px solid #dee2e6; padding: 10px; overflow-x: auto; }}
code {{ font-family: {MONO}; }}
footer {{ color: #868e96; font-size: 12px; margin-top: 24px; }}
"""


def _badges(model: Mapping[str, Any]) -> str:
    drift = model["drift"]
    badge = (f'<span class="badge bad">drift: {len(drift)}</span>' if drift else '<span class="badge ok">no drift</span>')
    stopped = [c["title"] for c in model["columns"][1:] if c["state"] != "running"]
    if stopped:
        badge += f'<span class="badge off">not running: {esc(", ".join(stopped))}</span>'
    # last, so that the heading still reads "pod NAME no drift" first
    return badge + f'<span class="badge rt">{esc(model["runtime"])}</span>'


def _pod_section(model: Mapping[str, Any], heading: str) -> list[str]:
    """Everything one pod shows, under headings of the given level (h1 alone on its page, h2 beside another)."""
    sub = "h2" if heading == "h1" else "h3"
    members = [c["title"] for c in model["columns"][2:]]
    drift = model["drift"]
    recorder = model["recorder"]
    runtime = "Docker" if model["runtime"] == "docker" else f"the CRI ({model['runtime']})"
    ident = f" · uid {model['uid']}" if model["uid"] else ""
    out = [
        f"<{heading}>pod {esc(pod_title(model))}{_badges(model)}</{heading}>",
        f'<p class="sub">on {esc(model["host"] or "the host")} · runtime {esc(runtime)}{esc(ident)} · cgroup v{esc(model["cgroup_version"])} · '
        f'sandbox and {len(members)} member(s): {esc(", ".join(members) or "none")}</p>',
    ]
    out.append(f"<{sub}>Namespaces: who shares what</{sub}>")
    out.append("<p>One band per namespace type, one column per process: the host, the sandbox, each member. Neighbours in the same "
               "namespace (same inode of <code>/proc/PID/ns/TYPE</code>) share one bar.</p>")
    out.append(_svg_grid(model))
    if model["pairs"]:
        out.append("<p>Members that share namespaces other than the host's: "
                   + "; ".join(f"<b>{esc(p)}</b>: {esc(', '.join(t))}" for p, t in model["pairs"].items()) + "</p>")
    if model["init_containers"]:
        out.append("<p>Init containers: " + ", ".join(f"{esc(i['name'])} ({esc(i['state'])})" for i in model["init_containers"]) + "</p>")
    out.extend(f'<p class="warn">{esc(n)}</p>' for n in model["notes"])

    out.append(f"<{sub}>cgroup tree and limits (read from the kernel)</{sub}>")
    if model["cgroup"]:
        paths = ", ".join(f"{k} {v}" for k, v in sorted(model["cgroup"]["paths"].items()))
        tree = f" (tree {esc(' › '.join(model['cgroup']['chain']))})" if model["cgroup"]["chain"] else ""
        out.append(f"<p>Pod parent <code>{esc(model['cgroup']['parent'] or '-')}</code>{tree} at {esc(paths or '-')}; one child per container.</p>")
        out.append(_svg_cgroup(model))
    else:
        out.append("<p>Not read: the sandbox is not running.</p>")

    out.append(f"<{sub}>Drift</{sub}>")
    if drift:
        out.append(f"<table><tr><th>member</th><th>namespace</th><th>{esc(recorder)} recorded</th><th>expected</th><th>kernel shows</th>"
                   "<th>detail</th></tr>")
        out.extend(f'<tr class="drift"><td>{esc(d["member"])}</td><td>{esc(d.get("type"))}</td><td><code>{esc(short_mode(d.get("recorded")))}</code></td>'
                   f'<td>{esc(d.get("expected"))}</td><td>{esc(d.get("kernel"))}</td><td>{esc(d.get("detail"))}</td></tr>' for d in drift)
        out.append("</table>")
        out.append(f"<p>Run {esc(model['maker'])} for this pod again: it repairs members left in a stale namespace.</p>")
    else:
        out.append(f"<p>None: every member is in the namespaces {esc(recorder)} recorded for it.</p>")

    out.append(f"<{sub}>Terminal matrix</{sub}>")
    out.append(f"<pre>{esc(render_text(model))}</pre>")
    return out


def _page(title: str, body: list[str], models: Sequence[Mapping[str, Any]]) -> str:
    warnings = list(dict.fromkeys(w for m in models for w in m["warnings"]))
    schema = models[0]["schema"]
    out = [
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">',
        f'<head><meta charset="utf-8"/><title>{esc(title)} · podlab.playground</title><style>{STYLE}</style></head>',
        "<body>",
    ]
    # The facts' warnings concern the whole read: said once, under the first heading.
    out.extend(body[:2])
    out.extend(f'<p class="warn">{esc(w)}</p>' for w in warnings)
    out.extend(body[2:])
    out.append(f"<footer>Drawn by podlab.playground.pod_report_html from ansible_facts.podlab_ns (schema {esc(schema)}).</footer>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_html(model: Mapping[str, Any]) -> str:
    """One pod, one page."""
    return _page(f"pod {pod_title(model)}", _pod_section(model, "h1"), [model])


def _share_summary(model: Mapping[str, Any], ns_type: str) -> str:
    """What a namespace type is across the pod's containers: 'pod: sandbox, app, sidecar · private: ...'."""
    groups: dict[str, list[str]] = {}
    for col in model["columns"][1:]:
        cell = col["cells"].get(ns_type) or {"relation": "absent", "drift": False}
        word = RELATION_WORD[cell["relation"]] + ("!" if cell["drift"] else "")
        groups.setdefault(word, []).append(col["title"])
    return " · ".join(f"{word}: {', '.join(names)}" for word, names in groups.items())


def render_side_by_side(models: Sequence[Mapping[str, Any]]) -> str:
    """Several pods on one page: a table of what each namespace type is in each pod, then the pods in columns."""
    titles = [f"{pod_title(m)} ({m['runtime']})" for m in models]
    types = [t for t in NS_ORDER if any(t in m["types"] for m in models)]
    types += sorted({t for m in models for t in m["types"]} - set(types))
    body = [f"<h1>pods {esc(', '.join(titles))}</h1>",
            f'<p class="sub">on {esc(models[0]["host"] or "the host")} · {len(models)} pods side by side · '
            f'host = PID 1\'s namespace, pod = the sandbox\'s, private = its own, ! = drift</p>',
            "<h2>Which namespaces each pod's containers share</h2>",
            "<table><tr><th>namespace</th>" + "".join(f"<th>{esc(t)}</th>" for t in titles) + "</tr>"]
    for ns_type in types:
        body.append(f"<tr><td><code>{esc(ns_type)}</code></td>"
                    + "".join(f"<td>{esc(_share_summary(m, ns_type)) if ns_type in m['types'] else '-'}</td>" for m in models) + "</tr>")
    body.append("<tr><td>cgroup parent</td>"
                + "".join(f"<td><code>{esc((m['cgroup'] or {}).get('parent') or '-')}</code></td>" for m in models) + "</tr>")
    body.append("</table>")
    body.append('<div class="side">')
    for model in models:
        body.append('<div class="pod">')
        body.extend(_pod_section(model, "h2"))
        body.append("</div>")
    body.append("</div>")
    return _page("pods " + ", ".join(titles), body, models)


# -- the filters -------------------------------------------------------------------------------

def _models(podlab_ns: Any, pod: Any, filter_name: str) -> list[dict[str, Any]]:
    return [pod_model(podlab_ns, name, filter_name) for name in _pod_names(pod, filter_name)]


def pod_report_html(podlab_ns: Any, pod: str | list[str] | None = None) -> str:
    """One pod's page; given a list of two or more pods, one page with them side by side."""
    models = _models(podlab_ns, pod, "pod_report_html")
    return render_html(models[0]) if len(models) == 1 else render_side_by_side(models)


def pod_report_text(podlab_ns: Any, pod: str | list[str] | None = None) -> str:
    """One pod's matrix; given a list, each pod's matrix in that order, a blank line between."""
    return "\n".join(render_text(m) for m in _models(podlab_ns, pod, "pod_report_text"))


class FilterModule:
    """Pictures of podlab.playground pods from ansible_facts.podlab_ns."""

    def filters(self) -> dict[str, Any]:
        return {"pod_report_html": pod_report_html, "pod_report_text": pod_report_text}
