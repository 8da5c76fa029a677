"""Verify what molecule/minikube installs in its container.

The binaries are the scenario's STAND-INS (prepare.yml): these tests prove the
air-gapped install path (files, modes, digests) and the container runtime, not
a Kubernetes node; minikube start is not run here.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

BIN_DIR = "/usr/local/bin"
ARCH = "amd64"


@pytest.fixture(scope="module")
def variables(host: Any) -> dict[str, Any]:
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def stand_ins() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "stand-in-binaries"


def published_digest(stand_ins: Path, name: str) -> str:
    return (stand_ins / f"{name}.sha256").read_text().split()[0]


@pytest.mark.parametrize(("tool", "release_file"), [("kubectl", "kubectl"), ("minikube", f"minikube-linux-{ARCH}")])
def test_binary_installed_with_published_digest(host: Any, stand_ins: Path, tool: str, release_file: str) -> None:
    installed = host.file(f"{BIN_DIR}/{tool}")
    assert installed.is_file
    assert installed.user == "root" and installed.group == "root"
    assert installed.mode == 0o755
    assert installed.sha256sum == published_digest(stand_ins, release_file)


def test_crictl_unpacked_from_tarball_with_published_digest(host: Any, stand_ins: Path) -> None:
    tarball_name = f"crictl-v1.31.1-linux-{ARCH}.tar.gz"
    kept = host.file(f"/var/cache/minikube-node/{tarball_name}")
    assert kept.sha256sum == published_digest(stand_ins, tarball_name)
    with tarfile.open(stand_ins / tarball_name) as archive:
        member = archive.extractfile("crictl")
        assert member is not None
        expected = hashlib.sha256(member.read()).hexdigest()
    crictl = host.file(f"{BIN_DIR}/crictl")
    assert crictl.mode == 0o755
    assert crictl.sha256sum == expected


@pytest.mark.parametrize("tool", ["kubectl", "minikube", "crictl"])
def test_installed_stand_in_runs_from_path(host: Any, tool: str) -> None:
    out = host.check_output(f"{tool} version")
    assert f"{tool} stand-in v" in out and "test fixture" in out


def test_crictl_config_points_at_containerd_socket(host: Any) -> None:
    config = host.file("/etc/crictl.yaml")
    assert config.mode == 0o644
    lines = config.content_string.splitlines()
    assert "runtime-endpoint: unix:///run/containerd/containerd.sock" in lines
    assert "image-endpoint: unix:///run/containerd/containerd.sock" in lines


def test_containerd_config_enables_cri(host: Any) -> None:
    content = host.file("/etc/containerd/config.toml").content_string
    assert "disabled_plugins = []" in content
    assert '[plugins."io.containerd.grpc.v1.cri"]' in content


def test_containerd_package_from_debian(host: Any) -> None:
    assert host.package("containerd").is_installed


def test_containerd_runs_with_cri_plugin_loaded(host: Any) -> None:
    # what the daemon reports, not what the file says
    plugins = host.check_output("ctr --address /run/containerd/containerd.sock plugins ls")
    cri = [line.split() for line in plugins.splitlines() if line.split()[:2] == ["io.containerd.grpc.v1", "cri"]]
    assert cri and cri[0][-1] == "ok", plugins
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening


def test_minikube_was_not_started(host: Any, variables: dict[str, Any]) -> None:
    assert variables["minikube_node_start"] is False
    assert not host.file("/root/.kube/minikube-node.yaml").exists
