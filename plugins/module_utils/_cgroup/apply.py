# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: a cgroup plan's steps (Action) and what executes them (Applier). Not a public API."""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import populated_pids

if TYPE_CHECKING:
    from ansible_collections.podlab.playground.plugins.module_utils._cgroup.backends import Backend


@dataclass(frozen=True)
class Action:
    """One step of a plan. `describe()` is what check mode prints."""

    op: str  # mkdir | write | enable | rmdir | kill | unit_file | unit_remove | systemctl
    target: str
    value: str = ""
    reason: str = ""

    def describe(self) -> str:
        text = {
            "mkdir": f"create cgroup {self.target}",
            "write": f"write {self.value!r} to {self.target}",
            "enable": f"enable controllers {self.value} in {self.target}",
            "rmdir": f"remove cgroup {self.target}",
            "kill": f"stop processes in {self.target}: {self.value}",
            "unit_file": f"write unit file {self.target}",
            "unit_remove": f"remove unit file {self.target}",
            "systemctl": f"systemctl {self.value} {self.target}".replace("  ", " "),
        }[self.op]
        return f"{text} ({self.reason})" if self.reason else text


Runner = Callable[[list[str]], tuple[int, str, str]]


class Applier:
    """Executes Actions. `run` runs an argv; `write_file(path, text)` writes a regular file atomically."""

    def __init__(self, run: Runner, write_file: Callable[[Path, str], None], systemctl: str | None) -> None:
        self.run = run
        self.write_file = write_file
        self.systemctl = systemctl
        self.stopped: list[dict[str, object]] = []

    def apply(self, actions: list[Action], backend: Backend) -> None:
        for action in actions:
            getattr(self, "_" + action.op)(action, backend)

    def _mkdir(self, action: Action, backend: Backend) -> None:
        os.makedirs(action.target, exist_ok=True)

    def _write(self, action: Action, backend: Backend) -> None:
        try:
            with open(action.target, "w") as handle:
                handle.write(action.value)
        except OSError as exc:
            hint = ""
            if exc.errno == 16:  # EBUSY
                hint = "; the cgroup uses more than the new limit: stop some of its processes first"
            elif exc.errno == 22:  # EINVAL
                hint = "; the kernel refused the value (on v1 memory must not exceed memory_swap)"
            raise CgroupError(f"cannot write {action.value!r} to {action.target}: {exc.strerror}{hint}") from None

    def _enable(self, action: Action, backend: Backend) -> None:
        for token in action.value.split():
            self._write(Action("write", action.target, token), backend)

    def _rmdir(self, action: Action, backend: Backend) -> None:
        try:
            os.rmdir(action.target)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CgroupError(f"cannot remove {action.target}: {exc.strerror}; a process may have joined it since the plan was made") from None

    def _kill(self, action: Action, backend: Backend) -> None:
        deadline = time.monotonic() + 10
        while True:
            pids = populated_pids(backend.all_dirs())
            if not pids:
                return
            for pid, comm in pids.items():
                if all(s["pid"] != pid for s in self.stopped):
                    self.stopped.append({"pid": pid, "comm": comm})
                with contextlib.suppress(ProcessLookupError):  # it exited by itself meanwhile
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise CgroupError(f"processes {sorted(pids)} in {backend.spec.name} did not exit within 10 s of SIGKILL")
            time.sleep(0.1)

    def _unit_file(self, action: Action, backend: Backend) -> None:
        self.write_file(Path(action.target), action.value)

    def _unit_remove(self, action: Action, backend: Backend) -> None:
        Path(action.target).unlink(missing_ok=True)

    def _systemctl(self, action: Action, backend: Backend) -> None:
        if not self.systemctl:
            raise CgroupError("the systemd driver needs systemctl, which is not on PATH")
        if action.value == "stop":  # systemd stops what is in the slice: say what that was
            self.stopped += [{"pid": pid, "comm": comm} for pid, comm in populated_pids(backend.all_dirs()).items()]
        argv = [self.systemctl, action.value] + ([action.target] if action.target else [])
        rc, out, err = self.run(argv)
        if rc != 0:
            raise CgroupError(f"{' '.join(argv)} failed (rc={rc}): {(err or out).strip()}")
