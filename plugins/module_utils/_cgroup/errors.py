# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: CgroupError, the one error of the cgroup package. Not a public API."""
from __future__ import annotations


class CgroupError(Exception):
    """A problem the user can act on; the message says what and how."""
