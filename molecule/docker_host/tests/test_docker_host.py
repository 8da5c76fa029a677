"""Verify the Docker host the docker_host role made of a fresh Debian container.

Read from the container itself: the supervised dockerd's pid file and /proc,
daemon.json (the role's defaults, with the log options side_effect.yml changed),
the system Python's Docker SDK, and the seed's pod that docker_pod ran on the
inner daemon, its namespaces compared in /proc.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

POD = "foo"
MEMBERS = ("app", "sidecar")
NAMESPACES = ("net", "ipc", "uts", "mnt")


def docker_ok(host: Any, *args: str) -> str:
    """Run the inner docker CLI with each argument quoted; fail with its stderr."""
    result = host.run(" ".join(["docker"] + ["%s"] * len(args)), *args)
    assert result.rc == 0, f"docker {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def ns_inodes(host: Any, container: str) -> dict[str, str]:
    """The container's namespaces as the kernel names them (/proc/PID/ns links)."""
    pid = docker_ok(host, "inspect", "--format", "{{.State.Pid}}", container).strip()
    assert int(pid) > 0, f"{container} is not running"
    return {ns: host.check_output("readlink /proc/%s/ns/%s", pid, ns) for ns in NAMESPACES}


def has_systemd(host: Any) -> bool:
    """systemd's own test: /run/systemd/system exists only when it is PID 1."""
    return bool(host.file("/run/systemd/system").is_directory)


def test_platform_runs_the_service_manager_it_claims(host: Any) -> None:
    comm = host.file("/proc/1/comm").content_string.strip()
    assert (comm == "systemd") == has_systemd(host), f"PID 1 is {comm}"
    assert host.backend.get_hostname().endswith("-systemd") == has_systemd(host)


def test_docker_service_is_enabled_and_runs_the_daemon_under_systemd(host: Any) -> None:
    if not has_systemd(host):
        pytest.skip("no systemd: the supervised path")
    service = host.service("docker")
    assert service.is_enabled
    assert service.is_running
    main_pid = host.check_output("systemctl show --property MainPID --value docker.service")
    assert main_pid == host.file("/run/docker.pid").content_string.strip()
    assert not host.file("/var/log/dockerd.log").exists, "the role started a dockerd of its own beside docker.service"


def test_dockerd_answers_with_cgroupfs_on_cgroup_v1(host: Any) -> None:
    info = json.loads(docker_ok(host, "info", "--format", "{{json .}}"))
    assert info["CgroupDriver"] == "cgroupfs"
    assert info["CgroupVersion"] == "1"
    assert info["ServerVersion"].startswith("20.10"), info["ServerVersion"]


def test_supervised_dockerd_runs_from_its_pid_file_with_its_log(host: Any) -> None:
    if has_systemd(host):
        pytest.skip("systemd: docker.service")
    pid = host.file("/run/docker.pid").content_string.strip()
    assert host.file(f"/proc/{pid}/comm").content_string.strip() == "dockerd"
    cmdline = host.file(f"/proc/{pid}/cmdline").content_string.split("\0")
    assert cmdline[:1] == ["/usr/sbin/dockerd"], cmdline
    assert "--config-file" in cmdline
    log = host.file("/var/log/dockerd.log")
    assert log.is_file
    assert "API listen on /var/run/docker.sock" in log.content_string


def test_daemon_json_holds_the_role_defaults_and_the_side_effects_log_opts(host: Any) -> None:
    daemon = host.file("/etc/docker/daemon.json")
    assert daemon.mode == 0o644
    assert json.loads(daemon.content_string) == {
        "default-ipc-mode": "private",
        "exec-opts": ["native.cgroupdriver=cgroupfs"],
        "log-driver": "json-file",
        "log-opts": {"max-file": "5", "max-size": "10m"},
    }


def test_dockerd_runs_with_the_side_effects_log_opts(host: Any) -> None:
    config = json.loads(docker_ok(host, "info", "--format", "{{json .}}"))
    assert config["LoggingDriver"] == "json-file"
    probe = docker_ok(host, "create", "podlab/busybox:1", "true").strip()
    try:
        log_config = json.loads(docker_ok(host, "inspect", "--format", "{{json .HostConfig.LogConfig}}", probe))
    finally:
        docker_ok(host, "rm", probe)
    assert log_config == {"Type": "json-file", "Config": {"max-file": "5", "max-size": "10m"}}


def test_system_python_imports_debians_docker_sdk(host: Any) -> None:
    version = host.check_output("/usr/bin/python3 -c %s", "import docker; print(docker.__version__)")
    assert version == "5.0.3"


@pytest.mark.parametrize("command", ["cgcreate", "cgget", "lsns", "nsenter", "docker", "containerd", "runc"])
def test_tools_are_installed(host: Any, command: str) -> None:
    assert host.exists(command)


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("ns", ["net", "ipc"])
def test_pod_member_shares_net_and_ipc_with_the_sandbox(host: Any, member: str, ns: str) -> None:
    sandbox, joined = ns_inodes(host, f"{POD}_sandbox"), ns_inodes(host, f"{POD}_{member}")
    assert joined[ns] == sandbox[ns]


@pytest.mark.parametrize("ns", ["uts", "mnt"])
def test_pod_members_keep_their_own_uts_and_mnt(host: Any, ns: str) -> None:
    seen = [ns_inodes(host, f"{POD}_{role}")[ns] for role in ("sandbox", *MEMBERS)]
    assert len(set(seen)) == len(seen), seen


def test_pod_is_not_in_the_hosts_net_namespace(host: Any) -> None:
    assert ns_inodes(host, f"{POD}_sandbox")["net"] != host.check_output("readlink /proc/self/ns/net")


def test_pod_app_answers_the_sidecar_over_localhost(host: Any) -> None:
    page = docker_ok(host, "exec", f"{POD}_sidecar", "wget", "-qO-", "http://127.0.0.1/").strip()
    assert page == f"hello from pod {POD}"
