# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: README command 1 (scripts/playground.sh) on a fresh machine, first and second run, by phase.

Run from the repository root (root, dockerd running, podlab/debian:bookworm built by playbooks/images.yml):

    .venv/2.19/bin/python bench/fresh_machine.py --n 3

Each repetition does from the outside what molecule/fresh_machine does: a fresh Debian bookworm
container from podlab/debian:bookworm with the Docker-in-Docker flags of
molecule/docker_host/create.yml (read from that file), /proc/sys, /sys and the cgroup hierarchies
remounted read-write as its prepare.yml does, this machine's local CA certificates put in as
molecule/fresh_machine/prepare.yml does, and the checkout copied in as git lists it. Then
`scripts/playground.sh` runs there twice as root, every line of its output timed as it arrives, which
splits a run into apt, dockerd, venv/pip and playbook. Every docker call is an argv list; the
containers are removed whatever happens, and the exit code is 1 if one (or its cgroup) is left.
See docs/bench.md.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, host_facts, min_median_max, write_results  # first: it puts the checkout's .collections on sys.path

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout

IMAGE = "podlab/debian:bookworm"
CHECKOUT = "/srv/playground"
COMMAND = ["scripts/playground.sh"]
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
LABEL = "io.podlab.bench=fresh_machine"
PREFIX = f"podlab-bench-fresh{os.getpid()}"
GOAL_S = 60.0
# A phase starts at the first output line that starts with one of its prefixes (none: at the start) and lasts
# until the next phase that started; the lines are those scripts/setup.sh, ensure-dockerd.sh, apt and
# ansible-playbook print. A run that skips a phase (the second: no apt, no pip) has None there.
PHASES = {
    "apt": (),
    "dockerd": ("ensure-dockerd:",),
    "venv/pip": ("setup: creating", "setup: pip install", "setup: done"),
    "playbook": ("setup: done",),
}
DETAIL = {
    "apt-get update, download": (),
    "dpkg unpack, configure": ("debconf: ", "Selecting previously unselected package", "Preparing to unpack"),
    "dockerd start": ("ensure-dockerd:",),
    "venv": ("setup: creating",),
    "pip install": ("setup: pip install",),
    "ansible-playbook start": ("setup: done",),
    "images pause, busybox": ("TASK [Build the offline images",),
    "pod, facts, summary": ("TASK [Run the pod]",),
}
RECAP = re.compile(r"^localhost\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")


class Failed(Exception):
    """A step of the benchmark failed; the message says which and how."""


# ---------------------------------------------------------------------------
# docker, by argv


def docker(*args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(["docker", *args], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise Failed(f"docker {' '.join(args[:3])} ... exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def dind_flags() -> list[str]:
    """The docker run flags of molecule/docker_host/create.yml for a platform without systemd: one recipe for both."""
    create = ROOT / "molecule" / "docker_host" / "create.yml"
    play_vars = yaml.safe_load(create.read_text())[0]["vars"]
    try:
        return [*play_vars["_dind_flags"], *play_vars["_plain_flags"]]
    except KeyError as missing:
        raise SystemExit(f"{create} has no {missing} in its play vars any more; update dind_flags() in {__file__}") from None


# ---------------------------------------------------------------------------
# The fresh machine


def start(name: str, flags: list[str]) -> None:
    """docker run the fresh container."""
    docker("run", "--detach", "--name", name, "--hostname", name, "--label", LABEL, "--label", f"io.podlab.bench.run={PREFIX}", *flags, IMAGE)


def remount_read_write(name: str) -> None:
    """What --privileged would give (molecule/docker_host/prepare.yml): /proc/sys, /sys and each cgroup hierarchy read-write."""
    for mount in ("/proc/sys", "/sys"):
        if docker("exec", name, "findmnt", "-rn", "-o", "VFS-OPTIONS", mount).startswith("ro"):
            docker("exec", name, "mount", "-o", "remount,rw", mount)
    listing = docker("exec", name, "findmnt", "-rn", "-t", "cgroup,cgroup2", "-o", "TARGET,FSTYPE,VFS-OPTIONS,FS-OPTIONS")
    for line in listing.splitlines():
        target, fstype, vfs, fs = line.split()
        if vfs.startswith("ro"):
            options = ",".join(o for o in fs.split(",") if o not in ("rw", "ro")) or "rw"
            docker("exec", name, "umount", target)
            docker("exec", name, "mount", "-t", fstype, "-o", options, fstype, target)


def tar_of(files: Iterable[tuple[Path, str]]) -> bytes:
    """A tar stream of (source, path in the container) owned by root, for `docker cp - NAME:/`."""
    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for source, target in files:
            archive.add(source, arcname=target.lstrip("/"), recursive=False, filter=as_root)
    return buffer.getvalue()


def local_cas() -> list[Path]:
    """This machine's local CA certificates (an intercepting proxy's, say), which a fresh machine on its network needs too."""
    return sorted(LOCAL_CAS.rglob("*.crt")) if LOCAL_CAS.is_dir() else []


def checkout_files() -> list[str]:
    """The files git lists: tracked and still present, and untracked ones it does not ignore (no .venv, .collections, tests/output)."""
    def git(*args: str) -> set[str]:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", *args], capture_output=True, check=True).stdout.decode()
        return {name for name in out.split("\0") if name}

    return sorted(git("--cached", "--others", "--exclude-standard") - git("--deleted"))


def prepare(name: str) -> None:
    remount_read_write(name)
    cas = local_cas()
    if cas:
        docker("cp", "-", f"{name}:/", stdin=tar_of((path, str(path)) for path in cas))


def copy_checkout(name: str, files: list[str]) -> None:
    docker("exec", name, "mkdir", "-p", CHECKOUT)
    docker("cp", "-", f"{name}:/", stdin=tar_of((ROOT / f, f"{CHECKOUT}/{f}") for f in files))


# ---------------------------------------------------------------------------
# One run of README command 1, line by line


@dataclass
class Run:
    """One run of the command: exit code, wall seconds and each output line with the second it arrived."""

    rc: int
    seconds: float
    lines: list[tuple[float, str]]

    def first(self, *prefixes: str) -> float | None:
        """When the first line starting with one of the prefixes arrived."""
        return next((t for t, line in self.lines if line.startswith(prefixes)), None)

    def phases(self, markers: dict[str, tuple[str, ...]] | None = None) -> dict[str, float | None]:
        """Seconds of each phase (PHASES unless other markers are given), None for a phase whose line never came."""
        markers = PHASES if markers is None else markers
        starts = [(name, 0.0 if not prefixes else self.first(*prefixes)) for name, prefixes in markers.items()]
        seconds: dict[str, float | None] = {}
        for i, (name, start) in enumerate(starts):
            end = next((later for _name, later in starts[i + 1:] if later is not None), self.seconds)
            seconds[name] = None if start is None else round(end - start, 1)
        return seconds

    def recap(self) -> dict[str, int] | None:
        """The inner ansible-playbook's PLAY RECAP line for localhost."""
        found = [m for _t, line in self.lines if (m := RECAP.match(line))]
        return {k: int(v) for k, v in found[-1].groupdict().items()} if found else None

    def tail(self, n: int = 30) -> str:
        return "\n".join(f"  +{t:6.1f}s {line}" for t, line in self.lines[-n:])


def run_command(name: str, verbose: bool) -> Run:
    """README command 1 as root in the checkout (docker exec -w), stdout and stderr as one stream of lines."""
    start_at = time.monotonic()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(["docker", "exec", "--workdir", CHECKOUT, name, *COMMAND], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as proc:
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            lines.append((time.monotonic() - start_at, line.rstrip("\n")))
            if verbose:
                print(f"  +{lines[-1][0]:6.1f}s {lines[-1][1]}", flush=True)
    return Run(proc.returncode, time.monotonic() - start_at, lines)


# ---------------------------------------------------------------------------
# A repetition


@dataclass
class Repetition:
    """What one fresh machine measured."""

    name: str
    machine_s: dict[str, float] = field(default_factory=dict)  # start, prepare, copy: the bench's own steps, not the command
    first: Run | None = None
    second: Run | None = None

    def row(self) -> dict[str, Any]:
        assert self.first and self.second
        return {
            "name": self.name, "machine_s": self.machine_s,
            "first_s": round(self.first.seconds, 1), "first_phases_s": self.first.phases(), "first_recap": self.first.recap(),
            "first_detail_s": self.first.phases(DETAIL),
            "second_s": round(self.second.seconds, 1), "second_phases_s": self.second.phases(), "second_recap": self.second.recap(),
            "first_output": self.first.lines, "second_output": self.second.lines,
        }


def timed_step(rep: Repetition, step: str, action: Any, *args: Any) -> None:
    started = time.monotonic()
    action(*args)
    rep.machine_s[step] = round(time.monotonic() - started, 1)


def checked(run: Run, which: str) -> Run:
    if run.rc != 0:
        raise Failed(f"scripts/playground.sh, {which}, exited {run.rc} after {run.seconds:.1f} s; its last lines:\n{run.tail()}")
    return run


def repetition(name: str, flags: list[str], files: list[str], verbose: bool) -> Repetition:
    rep = Repetition(name)
    timed_step(rep, "start", start, name, flags)
    timed_step(rep, "prepare", prepare, name)
    timed_step(rep, "copy", copy_checkout, name, files)
    rep.first = checked(run_command(name, verbose), "first run")
    rep.second = checked(run_command(name, verbose), "second run")
    return rep


# ---------------------------------------------------------------------------
# Leftovers


def remove(names: list[str]) -> list[str]:
    """docker rm the containers that exist of these names; their ids, to look for their cgroups afterwards."""
    ids = []
    for name in names:
        found = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            ids.append(found.stdout.strip())
            subprocess.run(["docker", "rm", "--force", "--volumes", name], capture_output=True, check=False)
    return ids


def leftovers(ids: list[str]) -> list[str]:
    """Containers of this run still there, and cgroups of its containers (with the inner pods' below them) still in a hierarchy."""
    left = docker("ps", "--all", "--format", "{{.Names}}", "--filter", f"label=io.podlab.bench.run={PREFIX}").split()
    layout = Layout.detect()
    return left + [str(path) for i in ids for path in layout.everywhere(f"docker/{i}") if path.exists()]


# ---------------------------------------------------------------------------
# Report


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def recap_text(recap: dict[str, int] | None) -> str:
    return "no recap" if recap is None else f"changed={recap['changed']} failed={recap['failed']}"


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| rep | machine: start + prepare + copy s | first run s | apt | dockerd | venv/pip | playbook | first run recap "
          "| second run s | second run recap |\n|---|---|---|---|---|---|---|---|---|---|")
    for i, row in enumerate(rows, 1):
        m, p = row["machine_s"], row["first_phases_s"]
        print(f"| {i} | {m['start']:.1f} + {m['prepare']:.1f} + {m['copy']:.1f} | {row['first_s']:.1f} | "
              + " | ".join(fmt(p[phase]) for phase in PHASES)
              + f" | {recap_text(row['first_recap'])} | {row['second_s']:.1f} | {recap_text(row['second_recap'])} |")


def medians(rows: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    """The median seconds of each phase of rows[*][key] over the repetitions that had it."""
    def median(phase: str) -> float | None:
        values = [r[key][phase] for r in rows if r[key][phase] is not None]
        return round(statistics.median(values), 1) if values else None

    return {phase: median(phase) for phase in rows[0][key]}


def print_detail(rows: list[dict[str, Any]]) -> None:
    detail, total = medians(rows, "first_detail_s"), statistics.median(r["first_s"] for r in rows)
    print(f"\nfirst run in detail, median of {len(rows)}:\n\n| phase | s | share |\n|---|---|---|")
    for phase, seconds in detail.items():
        print(f"| {phase} | {fmt(seconds)} | {'-' if seconds is None else f'{100 * seconds / total:.0f}%'} |")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:

    unchanged = sum(1 for r in rows if r["second_recap"] and r["second_recap"]["changed"] == 0 and r["second_recap"]["failed"] == 0)
    first = min_median_max([r["first_s"] for r in rows])
    return {
        "first_s": first, "second_s": min_median_max([r["second_s"] for r in rows]),
        "first_phases_median_s": medians(rows, "first_phases_s"), "first_detail_median_s": medians(rows, "first_detail_s"),
        "second_run_unchanged": unchanged, "of": len(rows), "goal_s": GOAL_S, "goal_met": first["median"] <= GOAL_S,
    }


def print_summary(s: dict[str, Any]) -> None:
    phases = ", ".join(f"{phase} {fmt(v)} s" for phase, v in s["first_phases_median_s"].items())
    first, second = s["first_s"], s["second_s"]
    print(f"\nREADME command 1 on a fresh machine: first run {first['median']:.1f} s median (min {first['min']:.1f}, max {first['max']:.1f}; "
          f"goal <= {s['goal_s']:.0f} s: {'MET' if s['goal_met'] else 'NOT MET'}), phases {phases}; second run {second['median']:.1f} s, "
          f"changed=0 failed=0 in {s['second_run_unchanged']}/{s['of']}")


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=1, help="repetitions, each on a new fresh machine (default 1)")
    parser.add_argument("--verbose", action="store_true", help="print every line of the command's output with its time")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        docker("image", "inspect", "--format", "{{.Id}}", IMAGE)
    except Failed:
        raise SystemExit(f"image {IMAGE} is missing; build it with: .venv/2.19/bin/ansible-playbook playbooks/images.yml") from None
    flags, files, facts = dind_flags(), checkout_files(), host_facts()
    print(f"fresh_machine: n={args.n}, {IMAGE}, {len(files)} files of the checkout, {len(local_cas())} local CA certificate(s), "
          f"{facts['cpus']} CPUs, load {facts['loadavg'][0]:.2f}; containers {PREFIX}-*")
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    ids: list[str] = []
    error = None
    try:
        for i in range(1, args.n + 1):
            names.append(f"{PREFIX}-{i}")
            rows.append(repetition(names[-1], flags, files, args.verbose).row())
            ids += remove(names[-1:])
            r = rows[-1]
            print(f"rep {i}: machine {sum(r['machine_s'].values()):.1f} s, first run {r['first_s']:.1f} s "
                  f"({', '.join(f'{k} {fmt(v)}' for k, v in r['first_phases_s'].items())}; {recap_text(r['first_recap'])}), "
                  f"second run {r['second_s']:.1f} s ({recap_text(r['second_recap'])})", flush=True)
    except Failed as failed:
        error = str(failed)
        print(f"FAILED: {error}", file=sys.stderr)
    finally:
        ids += remove(names)
        left = leftovers(ids)
        print("leftovers: " + (", ".join(left) if left else "none (no container of this run, nor its cgroup, is left)"))
    if rows:
        print_table(rows)
        print_detail(rows)
        s = summary(rows)
        print_summary(s)
        path = write_results("fresh_machine", {"n": args.n, "image": IMAGE, "flags": flags, "files": len(files),
                                               "host": {**facts, "loadavg_after": os.getloadavg()}, "summary": s, "repetitions": rows,
                                               "error": error, "leftovers": left})
        print(f"results: {path}")
    return 1 if left or error else 0


if __name__ == "__main__":
    sys.exit(main())
