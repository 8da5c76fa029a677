# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: a manifest's options under the module's own. Not a public API.

The manifest is the base; an option the task sets wins. An option counts as set when its value
is not its default (so a task cannot set an option back to its default over a manifest: edit the
manifest). labels are merged key by key. containers and init_containers are merged by name: a
member the task names overrides the options it sets of the manifest's member of that name
(env key by key), and a member of a new name is added after the manifest's. Every other list
(ports, volumes, mounts, command...) and dns is replaced whole.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_MEMBER_LISTS = ("containers", "init_containers")
_KEYED = ("labels",)


def argspec_defaults(argument_spec: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Each option's default as AnsibleModule fills it in (None when it has none)."""
    return {name: option.get("default") for name, option in argument_spec.items()}


def _member(base: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: copy.deepcopy(v) for k, v in given.items() if v is not None}}
    if base.get("env") and given.get("env"):
        merged["env"] = {**base["env"], **given["env"]}
    return merged


def _members(base: list[dict[str, Any]], given: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    merged = [dict(m) for m in base]
    index = {m["name"]: i for i, m in enumerate(merged)}
    for member in given:
        if member.get("name") in index:
            position = index[member["name"]]
            merged[position] = _member(merged[position], member)
        else:
            merged.append({k: copy.deepcopy(v) for k, v in member.items()})
    return merged


def merge_params(manifest_params: Mapping[str, Any], module_params: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The options to run: module_params (all of them, as AnsibleModule filled them) over manifest_params, by the rules above.
    defaults: each option's default (argspec_defaults); an option of module_params not in it always wins."""
    merged = copy.deepcopy(dict(module_params))
    for name, value in manifest_params.items():
        given = module_params.get(name)
        if name not in module_params or (name in defaults and given == defaults[name]):
            merged[name] = copy.deepcopy(value)
        elif name in _KEYED:
            merged[name] = {**value, **(given or {})}
        elif name in _MEMBER_LISTS:
            merged[name] = _members(copy.deepcopy(value), given or [])
    return merged
