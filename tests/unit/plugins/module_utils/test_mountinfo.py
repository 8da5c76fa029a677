"""The mountinfo parser every reader shares: whole lines, escapes undone, and only the file systems asked for."""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._mountinfo import Mount, parse, unescape

TEXT = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory
95 27 0:4 net:[4026532300] /run/netns/my\\040lab rw shared:40 - nsfs nsfs rw
bad line without a separator
96 27 x:4 net:[4026532301] /run/netns/odd rw - nsfs nsfs rw
"""


def test_every_well_formed_line_with_its_escapes_undone():
    assert parse(TEXT) == [
        Mount((8, 1), "/", "/", "ext4", "rw"),
        Mount((0, 26), "/", "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
        Mount((0, 4), "net:[4026532300]", "/run/netns/my lab", "nsfs", "rw"),
    ]


@pytest.mark.parametrize(("fstypes", "points"), [(("nsfs",), ["/run/netns/my lab"]), (("cgroup", "cgroup2"), ["/sys/fs/cgroup/memory"]), ((), [])])
def test_only_the_file_systems_asked_for(fstypes, points):
    assert [m.mount_point for m in parse(TEXT, fstypes)] == points


@pytest.mark.parametrize(("field", "plain"), [("/a\\040b", "/a b"), ("/tab\\011x", "/tab\tx"), ("/back\\134slash", "/back\\slash"), ("/plain", "/plain")])
def test_unescape(field, plain):
    assert unescape(field) == plain
