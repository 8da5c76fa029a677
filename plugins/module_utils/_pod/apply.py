# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: carrying out a pod plan, the part every runtime shares. Not a public API.

The executor runs exactly the plan's actions, in order, each group's actions concurrently. A
runtime's executor adds one method per action kind (_sandbox_create, _member_create, ...);
the steps every runtime shares (the pod's cgroup) are here. Everything an action needs is
in the action or in the executor's own state: no callbacks from the planner.

One step may go on in the background (in_background): Docker's sandbox start, the longest call
of a create, while the members are created, which needs only the sandbox's ID. Every later
action waits for it (settled) before it begins, except the kinds in overlaps_background, which
wait themselves at the point they need it (a member's start).
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import groupby
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import CgroupParentManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import PodAction
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import PodSpec


class PodError(Exception):
    """A step failed. str() is the whole message, made of two parts kept apart so that a caller (a failed first create's
    rollback) can say something else of what follows:

    cause: what failed and why; it names the pod, the member, the runtime's reason and how to fix that.
    step: the plan's action that failed, as actions shows it, or None when the failure is not one step's.
    advice: what the failure left and what the next run does ("Nothing was changed", "the next run repairs ..."),
    a sentence of its own, or "".
    keep: what failed is kept on purpose (an init container that exited non-zero, for its logs), so a
    failed first create is not rolled back."""

    def __init__(self, cause: str, *, step: str | None = None, advice: str = "", keep: bool = False) -> None:
        super().__init__(f"{cause}. {advice}" if advice else cause)
        self.cause = cause
        self.step = step
        self.advice = advice
        self.keep = keep


class PodExecutor:
    """Runs a plan. Subclasses name the runtime's error types (turned into PodError) and implement the steps."""

    runtime_errors: tuple[type[Exception], ...] = ()
    # Action kinds that may begin while a background step goes on (they call settled() where they depend on it).
    overlaps_background: frozenset[str] = frozenset()

    def __init__(self, spec: PodSpec, *, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroups: dict[str, CgroupParentManager]) -> None:
        self.spec = spec
        self.cgroup_parent = cgroup_parent
        self.sandbox_id = sandbox_id
        self.cgroups = cgroups  # the pod's cgroups by name: its own, and old ones to remove
        self.members = {m.name: m for m in spec.members + spec.inits}
        self._background: tuple[PodAction, Future] | None = None

    def run(self, actions: list[PodAction]) -> None:
        # Consecutive actions of one group run concurrently; the rest one after another.
        try:
            for group, batch in groupby(actions, key=lambda a: a.group):
                batch_list = list(batch)
                if group and len(batch_list) > 1:
                    with ThreadPoolExecutor(max_workers=min(8, len(batch_list))) as pool:
                        futures = [pool.submit(self._do, a) for a in batch_list]
                    errors = [f.exception() for f in futures if f.exception()]
                    if errors:
                        raise errors[0]  # type: ignore[misc]
                else:
                    for action in batch_list:
                        self._do(action)
            self.settled()
        finally:
            if self._background is not None:
                self._background[1].exception()  # a failure already raised: the step still ends before the run does

    def _do(self, action: PodAction) -> None:
        if action.kind not in self.overlaps_background:
            self.settled()
        try:
            getattr(self, "_" + action.kind)(action)
        except self.runtime_errors as exc:
            raise self.step_failed(action, exc) from None

    def step_failed(self, action: PodAction, exc: Exception) -> PodError:
        return PodError(f"pod {self.spec.name}: could not {action.describe()}: {exc}", step=action.describe(),
                        advice="Nothing else was changed after this step; the next run repairs the pod from where it stopped")

    def in_background(self, action: PodAction, call: Callable[..., Any], *args: Any) -> None:
        """Begin the rest of action's step (call(*args)) in a thread of its own; the run goes on with the next actions."""
        pool = ThreadPoolExecutor(max_workers=1)
        self._background = (action, pool.submit(call, *args))
        pool.shutdown(wait=False)

    def settled(self) -> None:
        """Wait for the background step, if one goes on; its failure fails the run as its action's."""
        if self._background is None:
            return
        action, future = self._background
        exc = future.exception()
        if exc is None:
            return
        if isinstance(exc, self.runtime_errors):
            raise self.step_failed(action, exc)
        raise exc

    # -- the steps every runtime shares ----------------------------------------

    def _cgroup(self, action: PodAction) -> None:
        plan = action.data.get("plan")
        # The whole cgroup plan at once; the plan's later cgroup actions find it applied.
        if plan is not None and plan.actions and not plan.applied:
            self.cgroups[action.target].execute(plan)

    def _cgroup_remove(self, action: PodAction) -> None:
        # Planned now, not with the pod: until the containers were removed they populated it.
        manager = self.cgroups.get(action.target)
        if manager:
            removal = manager.prepare()
            if removal.actions:
                manager.execute(removal)
