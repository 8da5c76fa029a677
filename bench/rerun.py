# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the main playbook with nothing to change, against Ansible's own floor.

Run from the repository root (root, after scripts/setup.sh, dockerd running):

    .venv/2.19/bin/python bench/rerun.py --n 10

Three playbooks, interleaved (each iteration runs each once, in a rotated order), through
ansible-playbook with the checkout's ansible.cfg and inventory:
  floor    one debug task: what any ansible-playbook run costs here
  modules  three no-op command tasks and a debug: what Ansible charges for three module tasks
           (the main playbook's image check, docker_pod and ns_facts are three)
  rerun    playbooks/docker_pod.yml on a pod that is already as asked (every run must report
           changed=0)
The number that matters is rerun / floor, paired by iteration; the target is <= 2.5. A
callback (bench/callback_plugins/podlab_task_times.py) records where the rerun's time goes,
task by task. The pod is made first if it does not exist, and removed at the end if the
benchmark made it; the run exits non-zero if it leaves a container behind.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, host_facts, min_median_max, rotated, write_results

ANSIBLE_PLAYBOOK = ROOT / ".venv" / "2.19" / "bin" / "ansible-playbook"
TARGET_RATIO = 2.5
FLOOR = """\
- name: Ansible's floor
  hosts: localhost
  gather_facts: false
  tasks:
    - name: One debug task
      ansible.builtin.debug:
        msg: floor
"""
MODULES = """\
- name: Three module tasks
  hosts: localhost
  gather_facts: false
  tasks:
{tasks}
    - name: One debug task
      ansible.builtin.debug:
        msg: floor
""".format(tasks="".join(
    f"    - name: A no-op module task ({n})\n"
    "      ansible.builtin.command:\n"
    "        argv: [/bin/true]\n"
    "      changed_when: false\n" for n in (1, 2, 3)))
RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def run_playbook(playbook: Path, times_file: Path | None = None) -> tuple[float, dict[str, int]]:
    """(wall ms, the recap's counts) of one ansible-playbook run; it must succeed."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if times_file:
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "bench" / "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="podlab_task_times", PODLAB_TASK_TIMES=str(times_file))
    start = time.perf_counter()
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), str(playbook)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    ms = (time.perf_counter() - start) * 1000
    match = RECAP.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise SystemExit(f"rerun bench: {playbook.name} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    counts = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))
    return ms, counts


# Run in a fresh interpreter: _common imports the checkout as a plain package, which keeps
# ansible's collection loader from loading the collection's metadata in this process.
PACKAGING = """
import sys, time
from ansible.executor.module_common import modify_module
from ansible.plugins.loader import init_plugin_loader, module_loader
from ansible.template import Templar
init_plugin_loader([sys.argv[1]])
for name in sys.argv[2:]:
    found = module_loader.find_plugin_with_context(name)
    start = time.perf_counter()
    modify_module(module_name=found.resolved_fqcn, module_path=found.plugin_resolved_path, module_args={},
                  templar=Templar(loader=None), task_vars={"ansible_python_interpreter": sys.executable},
                  module_compression="ZIP_DEFLATED")
    print(f"{(time.perf_counter() - start) * 1000:.0f} {name}")
"""


def packaging_ms(modules: list[str]) -> dict[str, float]:
    """What ansible-core spends packaging each module once (AnsiballZ: finding the module_utils it
    imports, recursively, and zipping them), as every run does for each distinct module it uses."""
    python = ROOT / ".venv" / "2.19" / "bin" / "python"
    out = subprocess.run([str(python), "-c", PACKAGING, str(ROOT / ".collections"), *modules], capture_output=True, text=True,
                         check=True).stdout
    return {name: float(ms) for ms, name in (line.split(" ", 1) for line in out.splitlines())}


def pod_containers(pod: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=podlab.pod={pod}"], capture_output=True, text=True, check=True).stdout
    return out.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="iterations (each runs the three playbooks once)")
    parser.add_argument("--packaging", action="store_true", help="only time ansible-core's packaging of each module the playbooks use")
    args = parser.parse_args()
    if args.packaging:
        for name, ms in packaging_ms(["ansible.builtin.ping", "ansible.builtin.command", "podlab.playground.image_recipe_info",
                                      "podlab.playground.ns_facts", "podlab.playground.docker_pod"]).items():
            print(f"{ms:>6.0f} ms  {name}")
        return 0
    if not ANSIBLE_PLAYBOOK.exists():
        raise SystemExit(f"{ANSIBLE_PLAYBOOK} not found; run scripts/setup.sh first")

    main_playbook = ROOT / "playbooks" / "docker_pod.yml"
    made_pod = not pod_containers("foo")
    print(f"rerun bench: {'making' if made_pod else 'found'} pod foo; one converging run first", flush=True)
    run_playbook(main_playbook)

    samples: dict[str, list[float]] = {"floor": [], "modules": [], "rerun": []}
    task_times: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="podlab-rerun-") as tmp:
            floor, modules, times_file = Path(tmp) / "floor.yml", Path(tmp) / "modules.yml", Path(tmp) / "times.json"
            floor.write_text(FLOOR)
            modules.write_text(MODULES)
            playbooks = {"floor": floor, "modules": modules, "rerun": main_playbook}
            for iteration in range(args.n):
                for name in rotated(list(playbooks), iteration):
                    ms, counts = run_playbook(playbooks[name], times_file if name == "rerun" else None)
                    if name == "rerun":
                        if counts["changed"]:
                            raise SystemExit(f"rerun bench: iteration {iteration}: the main playbook changed {counts['changed']} thing(s); "
                                             "it must converge in one run")
                        for task in json.loads(times_file.read_text())["tasks"]:
                            task_times.setdefault(task["task"], []).append(task["ms"])
                    samples[name].append(ms)
    finally:
        if made_pod:
            subprocess.run([str(ANSIBLE_PLAYBOOK), str(ROOT / "playbooks" / "teardown.yml")], cwd=ROOT, capture_output=True, check=False)

    paired = [r / f for r, f in zip(samples["rerun"], samples["floor"], strict=True)]
    modules_paired = [m / f for m, f in zip(samples["modules"], samples["floor"], strict=True)]
    ratio = statistics.median(paired)
    print(f"\n{'playbook':<10} {'min':>8} {'median':>8} {'max':>8}   (ms, n={args.n})")
    for name, values in samples.items():
        mmm = min_median_max(values)
        print(f"{name:<10} {mmm['min']:>8.0f} {mmm['median']:>8.0f} {mmm['max']:>8.0f}")
    print(f"\nthree module tasks / floor, paired median: {statistics.median(modules_paired):.2f}")
    print(f"rerun / floor, paired median: {ratio:.2f} (target <= {TARGET_RATIO}); rerun faster than 2.5x floor in "
          f"{sum(p <= TARGET_RATIO for p in paired)}/{len(paired)} iterations")
    print("\nwhere the rerun's time goes (median ms per task, slowest first):")
    medians = sorted(((statistics.median(v), k) for k, v in task_times.items()), reverse=True)
    for ms, task in medians[:12]:
        print(f"  {ms:>6.0f}  {task}")
    print(f"  {sum(ms for ms, _task in medians):>6.0f}  all {len(medians)} tasks (the rest is ansible-playbook's start-up)")

    data: dict[str, Any] = {"n": args.n, "host": host_facts(), "samples_ms": samples, "paired_ratio_median": ratio,
                            "task_median_ms": {k: statistics.median(v) for k, v in task_times.items()}}
    print(f"\nresults: {write_results('rerun', data).relative_to(ROOT)}")
    left = pod_containers("foo") if made_pod else []
    if left:
        print(f"rerun bench: left behind: {left}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
