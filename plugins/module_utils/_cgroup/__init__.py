# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: one logical cgroup on cgroup v1, v2 or a systemd slice. Not a public API.

The flow is: spec.CgroupSpec (the validated, normalised request; names checks the name) -> layout.Layout
(what the kernel mounts) -> a backend (backends) observes what exists, with limits.read_limits -> its plan
returns apply.Actions with reasons -> apply.Applier executes them. Check mode stops after the plan.
Import from the file that defines a name; this file re-exports nothing. Of the collection's own code the
package imports only _units and _mountinfo.
"""
