# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host tier's session: the checkout importable as the collection, the host checked and cleaned before the first
example, everything the tier made removed after the last one (also after a failure or Ctrl-C), and a count of what the
examples did."""
from __future__ import annotations

import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[2] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

import podlab_host as host  # noqa: E402  (needs the collection on sys.path)
from podlab_host import Tier  # noqa: E402

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout  # noqa: E402
from ansible_collections.podlab.playground.plugins.modules import docker_pod  # noqa: E402

TIER: list[Tier] = []


def _absent_removes_lock() -> bool:
    """Whether state absent removes the pod's lock file (then lock files are compared like the rest)."""
    name = f"{host.PREFIX}lockprobe"
    outcome = host.run_module(docker_pod.main, {"name": name, "state": "absent"})
    assert not outcome.failed, f"docker_pod state absent of a pod that does not exist failed: {outcome.result or outcome.error}"
    return not any(name in entry for entry in os.listdir(host.LOCK_DIR)) if host.LOCK_DIR.is_dir() else True


def _make_own_cgroup() -> None:
    for hierarchy in Layout.detect().hierarchies():
        (hierarchy / host.OWN_CGROUP.lstrip("/")).mkdir(exist_ok=True)


@pytest.fixture(scope="session", autouse=True)
def tier() -> Iterator[Tier]:
    if os.geteuid() != 0:
        pytest.fail("the host tier runs the modules for real: run it as root")
    earlier = host.clean()  # what an interrupted earlier run left
    if earlier:
        warnings.warn(f"removed what an earlier run of the host tier left: {earlier}", stacklevel=1)
    host.SCRATCH.mkdir(parents=True, exist_ok=True)
    (host.SCRATCH / "sub").mkdir(exist_ok=True)
    _make_own_cgroup()
    try:
        compare_locks = _absent_removes_lock()
        if not compare_locks:
            warnings.warn(f"state absent leaves the pod's lock file in {host.LOCK_DIR}: lock files are not compared", stacklevel=1)
        TIER.append(Tier(compare_locks))
        yield TIER[0]
    finally:
        # runs after a failure and after Ctrl-C too (pytest tears session fixtures down when the session finishes)
        host.clean()
        shutil.rmtree(host.SCRATCH, ignore_errors=True)
        left = host.leftovers()
        if left:
            pytest.fail(f"the host tier left these on the host after removing everything it made: {left}")


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest, tier: Tier) -> Iterator[None]:
    start = time.monotonic()
    yield
    tier.seconds[request.node.name] = time.monotonic() - start


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIER:
        return
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    terminalreporter.section(f"host tier examples (HYPOTHESIS_PROFILE={profile})")
    for module, counts in sorted(TIER[0].counts.items()):
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"{module}: {sum(counts.values())} examples run ({detail})")
    for test, seconds in TIER[0].seconds.items():
        terminalreporter.write_line(f"{test}: {seconds:.1f} s")
