"""What the pod managers say when a step fails: a failed first create's rollback composes its message from the
failure's cause, step and advice (no text replaced), and pull: always without a registry says that the pull failed,
not that the image is missing."""
from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._pod.apply import PodError, PodExecutor
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import CriPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import (
    DockerPodManager,
    PodManager,
    pull_failure,
    rollback_message,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import PodAction
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, build_spec

ADVICE = "Nothing else was changed after this step; the next run repairs the pod from where it stopped"


class RefusingExecutor(PodExecutor):
    """An executor whose runtime refuses every member create, as Docker refuses an unknown user."""

    runtime_errors = (OSError,)

    def _member_create(self, action: PodAction) -> None:
        raise OSError("unable to find user podlab-no-such-user")


def failed_step() -> PodError:
    params = ArgumentSpecValidator(ARGUMENT_SPEC).validate({"name": "foo", "containers": [{"name": "a", "image": "x"}]})
    spec = build_spec(params.validated_parameters)
    action = PodAction("member_create", "foo_a", "missing", data={"member": "a"})
    with pytest.raises(PodError) as caught:
        RefusingExecutor(spec, cgroup_parent=None, sandbox_id="1", cgroups={}).run([action])
    return caught.value


def test_a_failed_step_names_the_step_and_says_what_the_next_run_does():
    error = failed_step()
    assert error.cause == "pod foo: could not create container foo_a (missing): unable to find user podlab-no-such-user"
    assert error.step == "create container foo_a (missing)"
    assert error.advice == ADVICE
    assert str(error) == f"{error.cause}. {ADVICE}"


def test_a_rolled_back_first_create_says_what_it_removed_instead_of_what_the_next_run_repairs():
    message = rollback_message("foo", failed_step(), ["foo_a", "foo_sandbox", "foo_data"], None)
    assert message == ("pod foo: could not create container foo_a (missing): unable to find user podlab-no-such-user. "
                       "This was the pod's first create: the run removed what it had made (foo_a, foo_sandbox, foo_data), "
                       "the host is as before")
    assert "repairs" not in message


def test_a_rollback_that_failed_too_says_what_is_left():
    message = rollback_message("foo", failed_step(), None, OSError("daemon gone"))
    assert message.startswith("pod foo: could not create container foo_a (missing): unable to find user podlab-no-such-user. ")
    assert "Removing what the run had made failed too (daemon gone): it is left" in message
    assert ADVICE not in message


def test_a_failure_before_anything_was_made_keeps_its_own_advice():
    error = failed_step()
    assert rollback_message("foo", error, [], None) == str(error)


def test_a_cgroup_failure_is_named_after_the_pod():
    message = rollback_message("foo", CgroupError("cannot write memory.max"), ["pod-foo"], None)
    assert message.startswith("pod foo: cannot write memory.max. This was the pod's first create")


@pytest.mark.parametrize(("manager", "place"), [
    (DockerPodManager, "present on the Docker host"),
    (CriPodManager, "in containerd's k8s.io namespace"),
])
def test_pull_always_without_a_registry_says_the_pull_failed_and_the_image_is_there(manager, place):
    error = OSError('failed to resolve reference "docker.io/podlab/busybox:1": no such host')
    message = pull_failure("podlab/busybox:1", "sha256:30f50afdc6270123456789", manager.image_place, error)
    assert manager.image_place == place
    assert message == (f"image podlab/busybox:1 is {place} (ID 30f50afdc627), but pull: always could not pull it: {error}. "
                       "The pod was not changed; set pull: missing to run the image the host has, or make its registry reachable")
    assert "not present" not in message and "not in" not in message


def test_the_runtime_has_one_name():
    assert (PodManager.runtime_name, DockerPodManager.runtime_name, CriPodManager.runtime_name) == ("docker", "docker", "cri")
    assert not hasattr(PodManager, "manifest_runtime")
