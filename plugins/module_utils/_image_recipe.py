# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the reader behind the image_recipe_info module. Not a public API.

Everything the playground_images role's recipes depend on, in one module run: one ldd for all
files, one dpkg-query for all packages, one dpkg --print-architecture, and the Docker daemon over
one kept-alive connection. It only reads.
"""
from __future__ import annotations

import hashlib
import os
import pwd
import re
import stat
from collections.abc import Mapping
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._docker import (
    DockerClient,
    DockerException,
    DockerUnavailable,
    docker_host,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "files": {"type": "list", "elements": "path", "default": []},
    "packages": {"type": "list", "elements": "str", "default": []},
    "images": {"type": "list", "elements": "str", "default": []},
    "docker_host": {"type": "str"},
}
DPKG_QUERY_FORMAT = "${Package} ${db:Status-Status}\n"
CHUNK = 1024 * 1024
# The daemon's info reports the kernel's machine name (uname -m); dpkg and the role use GOARCH-like names.
GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv6l": "arm",
    "armv7l": "arm",
    "armv8l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64": "mips64le",
}
# "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
LDD_LIBRARY = re.compile(r"^\s+(?:\S+ => )?(/\S+) \(0x[0-9a-fA-F]+\)$")
LDD_NOT_FOUND = re.compile(r"^\s+(\S+) => not found$")


def goarch(machine: str | None) -> str | None:
    """The GOARCH name of a kernel machine name (x86_64 -> amd64); unknown names as they are."""
    if not machine:
        return None
    return GOARCH.get(machine, machine)


def sha256(path: str) -> str | None:
    """The file's SHA-256, or None when it is not a readable regular file (a FIFO would block)."""
    digest = hashlib.sha256()
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def parse_ldd(stdout: str, files: list[str]) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """(file -> the libraries with a path, in ldd's order; [{file, library}] that ldd cannot find).

    ldd prints a "FILE:" header before each file's lines only when it is given several files;
    a static file has no lines on stdout ("not a dynamic executable" goes to stderr); the vDSO
    has no path and is left out."""
    libraries: dict[str, list[str]] = {path: [] for path in files}
    not_found: list[dict[str, str]] = []
    current: str | None = files[0] if len(files) == 1 else None
    for line in stdout.splitlines():
        if len(files) > 1 and not line[:1].isspace() and line.endswith(":") and line[:-1] in libraries:
            current = line[:-1]
            continue
        if current is None:
            continue
        found = LDD_LIBRARY.match(line)
        if found and found.group(1) not in libraries[current]:
            libraries[current].append(found.group(1))
            continue
        missing = LDD_NOT_FOUND.match(line)
        if missing:
            not_found.append({"file": current, "library": missing.group(1)})
    return libraries, not_found


def parse_dpkg_query(stdout: str, packages: list[str]) -> dict[str, bool]:
    """Package -> installed, from dpkg-query's "${Package} ${db:Status-Status}" lines. A package
    dpkg does not know has no line (dpkg-query says so on stderr): not installed."""
    installed = {package: False for package in packages}
    for line in stdout.splitlines():
        name, _sep, status = line.strip().partition(" ")
        if name in installed and status == "installed":
            installed[name] = True
    return installed


def os_name(path: str = "/etc/os-release") -> str | None:
    """PRETTY_NAME from os-release, or None without one."""
    try:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                key, _sep, value = line.strip().partition("=")
                if key == "PRETTY_NAME":
                    return value.strip("\"'") or None
    except OSError:
        return None
    return None


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def image_view(inspected: dict[str, Any] | None) -> dict[str, Any] | None:
    """{id, labels} of an inspected image (labels {} when it has none), or None when there is no such image."""
    if inspected is None:
        return None
    return {"id": inspected["Id"], "labels": (inspected.get("Config") or {}).get("Labels") or {}}


class ImageRecipeInfo:
    """Reads the files, the packages, the host and the Docker daemon; never changes anything."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params

    def run(self) -> dict[str, Any]:
        libraries, checksums, missing, not_found = self.read_files(list(dict.fromkeys(self.params["files"])))
        daemon, images = self.read_docker(list(dict.fromkeys(self.params["images"])))
        return {
            "changed": False,
            "host": self.read_host(),
            "daemon": daemon,
            "libraries": libraries,
            "checksums": checksums,
            "missing_files": missing,
            "libraries_not_found": not_found,
            "packages": self.read_packages(list(dict.fromkeys(self.params["packages"]))),
            "images": images,
        }

    # -- files ---------------------------------------------------------------

    def ldd(self, files: list[str]) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
        if not files:
            return {}, []
        ldd = self.module.get_bin_path("ldd")
        if ldd is None:
            self.module.fail_json(
                msg=f"ldd is not on the PATH of the managed host, and it is needed to find the libraries of {', '.join(files)}: "
                "install libc-bin (Debian, Ubuntu), or leave the dynamically linked files out of files"
            )
        rc, stdout, stderr = self.module.run_command([ldd, *files])
        # 1: some file is static ("not a dynamic executable"), which is not an error here
        if rc not in (0, 1):
            self.module.fail_json(msg=f"ldd {' '.join(files)} failed (rc {rc}): {stderr.strip()}", rc=rc, stdout=stdout, stderr=stderr)
        return parse_ldd(stdout, files)

    def read_files(self, files: list[str]) -> tuple[dict[str, list[str]], dict[str, str | None], list[str], list[dict[str, str]]]:
        """(file -> libraries, path -> SHA-256 or None for every file and library, unreadable paths, libraries not found)."""
        checksums = {path: sha256(path) for path in files}
        readable = [path for path in files if checksums[path] is not None]
        found, not_found = self.ldd(readable)
        libraries = {path: found.get(path, []) for path in files}
        for library in dict.fromkeys(lib for libs in libraries.values() for lib in libs):
            if library not in checksums:
                checksums[library] = sha256(library)
        missing = [path for path, digest in checksums.items() if digest is None]
        return libraries, checksums, missing, not_found

    # -- packages and host ---------------------------------------------------

    def read_packages(self, packages: list[str]) -> Mapping[str, bool | None]:
        """Package -> installed; None for every package without dpkg-query (not a Debian-family host)."""
        if not packages:
            return {}
        dpkg_query = self.module.get_bin_path("dpkg-query")
        if dpkg_query is None:
            return dict.fromkeys(packages)
        rc, stdout, stderr = self.module.run_command([dpkg_query, "--show", f"--showformat={DPKG_QUERY_FORMAT}", *packages])
        # 1: some package is unknown to dpkg, which means not installed
        if rc not in (0, 1):
            self.module.fail_json(
                msg=f"dpkg-query --show {' '.join(packages)} failed (rc {rc}): {stderr.strip()}; check that dpkg's database "
                "is not locked or damaged (dpkg --audit)",
                rc=rc,
                stderr=stderr,
            )
        return parse_dpkg_query(stdout, packages)

    def dpkg_architecture(self) -> str | None:
        dpkg = self.module.get_bin_path("dpkg")
        if dpkg is None:
            return None
        rc, stdout, stderr = self.module.run_command([dpkg, "--print-architecture"])
        if rc != 0:
            self.module.fail_json(msg=f"dpkg --print-architecture failed (rc {rc}): {stderr.strip()}; check the dpkg installation", rc=rc)
        return stdout.strip() or None

    def read_host(self) -> dict[str, Any]:
        uid = os.geteuid()
        return {
            "debian": os.path.exists("/etc/debian_version"),
            "os": os_name(),
            "dpkg_arch": self.dpkg_architecture(),
            "uid": uid,
            "user": user_name(uid),
            "docker_cli": self.module.get_bin_path("docker"),
        }

    # -- Docker --------------------------------------------------------------

    def read_docker(self, names: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any] | None]]:
        """(the daemon's version and platform, or the error it gave; image name -> {id, labels} or None)."""
        try:
            base_url = docker_host(self.params.get("docker_host"))
        except DockerUnavailable as exc:
            self.module.fail_json(msg=str(exc))
        daemon: dict[str, Any] = {"host": base_url, "version": None, "os": None, "arch": None, "architecture": None, "error": None}
        images: dict[str, dict[str, Any] | None] = dict.fromkeys(names)
        client = DockerClient(base_url)
        try:
            info = client.info()
            daemon.update(
                version=info.get("ServerVersion"),
                os=info.get("OSType"),
                architecture=info.get("Architecture"),
                arch=goarch(info.get("Architecture")),
            )
            images.update((name, self.read_image(client, base_url, name)) for name in names)
        except (DockerUnavailable, DockerException) as exc:
            # not a failure here: the caller says what to do (the role's preflight check)
            daemon["error"] = str(exc)
        finally:
            client.close()
        return daemon, images

    def read_image(self, client: DockerClient, base_url: str, name: str) -> dict[str, Any] | None:
        """The image's {id, labels}, or None when there is none. An error other than "no such image" (the
        daemon going away is the caller's) fails: the name is likely wrong."""
        try:
            return image_view(client.image(name))
        except DockerException as exc:
            self.module.fail_json(msg=f"cannot read the image {name} from the Docker daemon at {base_url}: {exc}; check the image's name")
        return None  # not reached: fail_json exits
