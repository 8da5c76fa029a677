# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A callback for bench/rerun.py: the wall time of every task of a run, written as JSON.

Enabled only by the benchmark (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=podlab_task_times, PODLAB_TASK_TIMES=FILE). A task's time runs from
its start to the next task's start (or the end of the play), so the times add up to the run.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: podlab_task_times
type: aggregate
short_description: Writes each task's wall time to the file named by PODLAB_TASK_TIMES
description: Used by bench/rerun.py to say where the main playbook's time goes.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "podlab_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = time.monotonic()
        self.current: tuple[str, float] | None = None
        self.tasks: list[dict[str, Any]] = []

    def _close_current(self, now: float) -> None:
        if self.current:
            name, start = self.current
            self.tasks.append({"task": name, "ms": round((now - start) * 1000, 1)})

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        now = time.monotonic()
        self._close_current(now)
        self.current = (task.get_name(), now)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        now = time.monotonic()
        self._close_current(now)
        self.current = None
        path = os.environ.get("PODLAB_TASK_TIMES")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"since_callback_loaded_ms": round((now - self.started) * 1000, 1), "tasks": self.tasks}, handle)
