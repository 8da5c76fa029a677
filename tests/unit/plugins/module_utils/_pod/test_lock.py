"""The per-pod lock: a second run waits for the first, times out with the holder's pid, and a killed holder frees it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
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


def test_a_run_that_leaves_the_pod_absent_removes_the_lock_file(tmp_path: Path):
    lock = PodLock("docker_foo", 1, tmp_path).acquire()
    lock.release(remove=True)
    assert not (tmp_path / "docker_foo.lock").exists()
    # the default keeps it (the pod still exists), and a second release does nothing
    lock = PodLock("docker_foo", 1, tmp_path).acquire()
    lock.release()
    lock.release(remove=True)
    assert (tmp_path / "docker_foo.lock").exists()


def fds_on(path: Path) -> int:
    """How many descriptors of this process have path open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            continue
    return count


def test_a_waiter_that_locks_the_unlinked_file_locks_the_path_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(lock_module, "_POLL", 0.01)
    path = tmp_path / "docker_foo.lock"
    first = PodLock("docker_foo", 1, tmp_path).acquire()
    waiter = PodLock("docker_foo", 5, tmp_path)
    thread = threading.Thread(target=waiter.acquire)
    thread.start()
    deadline = time.monotonic() + 5
    while fds_on(path) < 2 and time.monotonic() < deadline:  # the waiter has the old file open and waits for its flock
        time.sleep(0.01)
    assert fds_on(path) == 2
    first.release(remove=True)  # unlinked while held: the waiter's flock then succeeds on a file no path names
    thread.join(5)
    assert waiter.fd is not None
    held, on_path = os.fstat(waiter.fd), os.stat(path)
    assert (held.st_dev, held.st_ino) == (on_path.st_dev, on_path.st_ino)
    # and it excludes every later run, which opens the path
    with pytest.raises(PodLockTimeout):
        PodLock("docker_foo", 0.1, tmp_path).acquire()
    waiter.release(remove=True)


def test_runs_that_remove_the_lock_file_each_time_never_overlap(tmp_path: Path):
    """Processes that each take the lock, mark a critical section no one else may be in, and remove the lock file on
    every release: without the inode check two of them soon hold locks on different inodes at once."""
    marker, log = tmp_path / "inside", tmp_path / "log"
    code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(COLLECTIONS)!r})
        from pathlib import Path
        from ansible_collections.podlab.playground.plugins.module_utils._pod import lock
        lock._POLL = 0.0005
        for _ in range(150):
            held = lock.PodLock("docker_foo", 30, Path({str(tmp_path / "locks")!r})).acquire()
            try:
                os.close(os.open({str(marker)!r}, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                sys.exit("two runs held the lock at once")
            time.sleep(0.0002)
            os.unlink({str(marker)!r})
            with open({str(log)!r}, "a") as out:
                out.write("x")
            held.release(remove=True)
    """)
    children = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _child in range(4)]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0, 0], errors
    assert log.read_text() == "x" * 600
    assert not (tmp_path / "locks" / "docker_foo.lock").exists()
