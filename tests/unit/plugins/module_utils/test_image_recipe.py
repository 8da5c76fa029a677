from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._docker import EngineAPIError
from ansible_collections.podlab.playground.plugins.module_utils._image_recipe import (
    ImageRecipeInfo,
    goarch,
    image_view,
    os_name,
    parse_dpkg_query,
    parse_ldd,
    sha256,
)

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
LOADER = "/lib64/ld-linux-x86-64.so.2"
DYNAMIC = f"\tlinux-vdso.so.1 (0x00007ffd3a5f2000)\n\tlibc.so.6 => {LIBC} (0x00007f1c2a000000)\n\t{LOADER} (0x00007f1c2a2c0000)\n"


@pytest.mark.parametrize(
    ("stdout", "files", "libraries", "not_found"),
    [
        pytest.param(DYNAMIC, ["/usr/bin/ipcs"], {"/usr/bin/ipcs": [LIBC, LOADER]}, [], id="one dynamic file, no header"),
        # "not a dynamic executable" goes to stderr: a static file has no lines at all
        pytest.param("", ["/bin/busybox"], {"/bin/busybox": []}, [], id="one static file"),
        pytest.param(
            f"/bin/busybox:\n/usr/bin/ipcs:\n{DYNAMIC}/usr/bin/ipcmk:\n{DYNAMIC}",
            ["/bin/busybox", "/usr/bin/ipcs", "/usr/bin/ipcmk"],
            {"/bin/busybox": [], "/usr/bin/ipcs": [LIBC, LOADER], "/usr/bin/ipcmk": [LIBC, LOADER]},
            [],
            id="several files, a header before each",
        ),
        pytest.param(
            f"\tlibfoo.so.1 => not found\n{DYNAMIC}",
            ["/opt/tool"],
            {"/opt/tool": [LIBC, LOADER]},
            [{"file": "/opt/tool", "library": "libfoo.so.1"}],
            id="one file, a library not found",
        ),
        pytest.param(
            f"/opt/a:\n\tlibfoo.so.1 => not found\n{DYNAMIC}/opt/b:\n\tlibbar.so.2 => not found\n",
            ["/opt/a", "/opt/b"],
            {"/opt/a": [LIBC, LOADER], "/opt/b": []},
            [{"file": "/opt/a", "library": "libfoo.so.1"}, {"file": "/opt/b", "library": "libbar.so.2"}],
            id="several files, libraries not found in each",
        ),
        pytest.param(
            f"\tstatically linked\n{DYNAMIC}\tlibc.so.6 => {LIBC} (0x00007f1c2a000000)\n",
            ["/opt/tool"],
            {"/opt/tool": [LIBC, LOADER]},
            [],
            id="unknown lines ignored, a library listed once",
        ),
    ],
)
def test_ldd_output(stdout: str, files: list[str], libraries: dict[str, list[str]], not_found: list[dict[str, str]]) -> None:
    assert parse_ldd(stdout, files) == (libraries, not_found)


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        pytest.param("busybox-static installed\ntini installed\n", {"busybox-static": True, "tini": True}, id="installed"),
        # an unknown package has no line: dpkg-query says so on stderr and exits 1
        pytest.param("busybox-static installed\n", {"busybox-static": True, "tini": False}, id="unknown to dpkg"),
        pytest.param("busybox-static config-files\ntini not-installed\n", {"busybox-static": False, "tini": False}, id="removed"),
        pytest.param("busybox-static half-installed\ntini unpacked\n", {"busybox-static": False, "tini": False}, id="half-way"),
        pytest.param("tini installed\ntini installed\nbusybox-static installed\n", {"busybox-static": True, "tini": True}, id="two architectures"),
        pytest.param("debootstrap installed\n", {"busybox-static": False, "tini": False}, id="a package not asked for"),
    ],
)
def test_dpkg_query_output(stdout: str, expected: dict[str, bool]) -> None:
    assert parse_dpkg_query(stdout, ["busybox-static", "tini"]) == expected


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "arm"), ("i686", "386"), ("ppc64le", "ppc64le"), ("sparc64", "sparc64"), ("", None), (None, None)],
)
def test_daemon_architecture_as_goarch(machine: str | None, expected: str | None) -> None:
    assert goarch(machine) == expected


def test_sha256_reads_in_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo"])
def test_sha256_of_what_is_not_a_readable_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / kind
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would block
    assert sha256(str(path)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', "Debian GNU/Linux 12 (bookworm)"),
        ("PRETTY_NAME=Alpine\n", "Alpine"),
        ("ID=x\n", None),
    ],
)
def test_os_name(tmp_path: Path, text: str, expected: str | None) -> None:
    path = tmp_path / "os-release"
    path.write_text(text)
    assert os_name(str(path)) == expected
    assert os_name(str(tmp_path / "none")) is None


@pytest.mark.parametrize(
    ("inspected", "expected"),
    [
        (None, None),
        ({"Id": "sha256:1", "Config": {"Labels": None}}, {"id": "sha256:1", "labels": {}}),
        ({"Id": "sha256:2", "Config": {"Labels": {"a": "b"}}}, {"id": "sha256:2", "labels": {"a": "b"}}),
        ({"Id": "sha256:3"}, {"id": "sha256:3", "labels": {}}),
    ],
)
def test_image_view(inspected: dict[str, Any] | None, expected: dict[str, Any] | None) -> None:
    assert image_view(inspected) == expected


class Failed(Exception):
    pass


class FakeModule:
    """Stands in for AnsibleModule: records run_command calls and answers from a table."""

    def __init__(
        self,
        answers: dict[str, tuple[int, str, str]],
        params: dict[str, Any] | None = None,
        binaries: tuple[str, ...] = ("ldd", "dpkg", "dpkg-query"),
    ) -> None:
        self.answers = answers
        self.params = {"files": [], "packages": [], "images": [], "docker_host": None, **(params or {})}
        self.binaries = binaries
        self.calls: list[list[str]] = []

    def get_bin_path(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.binaries else None

    def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        return self.answers[Path(argv[0]).name]

    def fail_json(self, msg: str, **_kwargs: Any) -> None:
        raise Failed(msg)


def test_files_one_ldd_for_the_readable_ones_and_libraries_hashed(tmp_path: Path) -> None:
    tool, static, lib = tmp_path / "tool", tmp_path / "static", tmp_path / "libx.so"
    for path in (tool, static, lib):
        path.write_bytes(path.name.encode())
    missing = str(tmp_path / "missing")
    stdout = f"{tool}:\n\tlibx.so => {lib} (0x00007f0000000000)\n\tlibfoo.so.1 => not found\n{static}:\n"
    module = FakeModule({"ldd": (1, stdout, f"\tnot a dynamic executable\nldd: {missing}: No such file")})
    libraries, checksums, missing_files, not_found = ImageRecipeInfo(module).read_files([str(tool), missing, str(static)])
    assert module.calls == [["/usr/bin/ldd", str(tool), str(static)]]
    assert libraries == {str(tool): [str(lib)], missing: [], str(static): []}
    assert checksums == {str(p): hashlib.sha256(p.name.encode()).hexdigest() for p in (tool, static, lib)} | {missing: None}
    assert missing_files == [missing]
    assert not_found == [{"file": str(tool), "library": "libfoo.so.1"}]


def test_files_no_ldd_when_none_is_readable(tmp_path: Path) -> None:
    module = FakeModule({})
    assert ImageRecipeInfo(module).read_files([str(tmp_path / "x")]) == ({str(tmp_path / "x"): []}, {str(tmp_path / "x"): None}, [str(tmp_path / "x")], [])
    assert module.calls == []


@pytest.mark.parametrize(
    ("answers", "binaries", "message"),
    [
        ({"ldd": (2, "", "ldd: cannot run")}, ("ldd",), "ldd .* failed \\(rc 2\\): ldd: cannot run"),
        ({}, (), "ldd is not on the PATH .*install libc-bin"),
    ],
)
def test_files_ldd_failures_say_what_to_do(tmp_path: Path, answers: dict[str, tuple[int, str, str]], binaries: tuple[str, ...], message: str) -> None:
    (tmp_path / "tool").write_bytes(b"x")
    with pytest.raises(Failed, match=message):
        ImageRecipeInfo(FakeModule(answers, binaries=binaries)).read_files([str(tmp_path / "tool")])


def test_packages_one_dpkg_query() -> None:
    module = FakeModule({"dpkg-query": (1, "tini installed\n", "dpkg-query: no packages found matching nosuch\n")})
    assert ImageRecipeInfo(module).read_packages(["tini", "nosuch"]) == {"tini": True, "nosuch": False}
    assert module.calls == [["/usr/bin/dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\n", "tini", "nosuch"]]


def test_packages_unknown_without_dpkg_query() -> None:
    assert ImageRecipeInfo(FakeModule({}, binaries=())).read_packages(["tini"]) == {"tini": None}


def test_packages_dpkg_query_failure() -> None:
    with pytest.raises(Failed, match="dpkg-query --show tini failed \\(rc 2\\): locked; check"):
        ImageRecipeInfo(FakeModule({"dpkg-query": (2, "", "locked")})).read_packages(["tini"])


def test_host_without_dpkg() -> None:
    host = ImageRecipeInfo(FakeModule({}, binaries=())).read_host()
    assert host["dpkg_arch"] is None
    assert host["uid"] == os.geteuid()
    assert host["docker_cli"] is None


def test_daemon_that_does_not_answer_is_reported_not_failed(tmp_path: Path) -> None:
    module = FakeModule({}, params={"docker_host": f"unix://{tmp_path}/docker.sock"})
    daemon, images = ImageRecipeInfo(module).read_docker(["podlab/pause:1"])
    assert daemon["error"] and "cannot reach the Docker daemon" in daemon["error"]
    assert daemon["host"] == f"unix://{tmp_path}/docker.sock"
    assert (daemon["os"], daemon["arch"], daemon["version"]) == (None, None, None)
    assert images == {"podlab/pause:1": None}


class RefusingClient:
    def image(self, name: str) -> None:
        raise EngineAPIError(f"GET /images/{name}/json: 400 invalid reference format")


def test_image_the_daemon_refuses_to_read_fails_with_the_name() -> None:
    with pytest.raises(Failed, match=r"cannot read the image Bad:Name from the Docker daemon at unix:///d\.sock: .*400.*check the image's name"):
        ImageRecipeInfo(FakeModule({})).read_image(RefusingClient(), "unix:///d.sock", "Bad:Name")  # type: ignore[arg-type]
