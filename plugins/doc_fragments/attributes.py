# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # The attributes every module of the collection documents; each module fills in its support.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a prediction of changed status without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
"""

    # The support of a module that only reads (facts and info modules): podlab.playground.attributes.read_only
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: It only reads; check mode changes nothing either.
  diff_mode:
    support: none
  idempotent:
    support: full
"""
