"""The per-pod lock: a second run waits for the first, times out with the holder's pid, and a killed holder frees it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._pod import lock as lock_module
from ansible_collections.podlab.playground.plugins.module_utils._pod.lock import PodLock, PodLockTimeout

# the directory holding ansible_collections, as this test imported it (.../_pod/lock.py is 6 levels below)
COLLECTIONS = Path(lock_module.__file__).parents[6]


def hold(directory: Path, key: str) -> subprocess.Popen:
    """Another process holding the lock until killed; returns once it holds it."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(COLLECTIONS)!r})
        from pathlib import Path
        from ansible_collections.podlab.playground.plugins.module_utils._pod.lock import PodLock
        with PodLock({key!r}, 5, Path({str(directory)!r})):
            print("held", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_second_run_times_out_naming_the_holder(tmp_path: Path):
    child = hold(tmp_path, "docker_foo")
    try:
        start = time.monotonic()
        with pytest.raises(PodLockTimeout, match=rf"pid {child.pid}\) held .*docker_foo.lock for 0.3 s"):
            PodLock("docker_foo", 0.3, tmp_path).acquire()
        assert time.monotonic() - start >= 0.3
        # another pod's lock is free meanwhile
        with PodLock("docker_bar", 0.3, tmp_path) as other:
            assert other.waited < 0.3
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_frees_the_lock_for_the_waiting_run(tmp_path: Path):
    child = hold(tmp_path, "cri_default_foo")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with PodLock("cri_default_foo", 2, tmp_path) as lock:
        assert lock.waited < 1
        assert (tmp_path / "cri_default_foo.lock").read_text().strip() == str(os.getpid())


def test_the_lock_directory_is_shared_like_run_lock(tmp_path: Path):
    directory = tmp_path / "podlab"
    with PodLock("docker_foo", 1, directory):
        assert oct(directory.stat().st_mode & 0o7777) == oct(0o1777)
