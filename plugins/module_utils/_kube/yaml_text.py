# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: YAML text in and out through Ansible's own YAML helpers. Not a public API.

PyYAML comes with Ansible on the controller but may be missing on a managed host, so it is never
imported at load time: a manifest given as a mapping needs none.
"""
from __future__ import annotations

import importlib
from typing import Any

from ansible.module_utils.common.yaml import HAS_YAML, yaml_dump, yaml_load_all

MISSING = "YAML text needs PyYAML on the managed host (Debian's python3-yaml); or give the manifest as a mapping (from_yaml on the controller)"


class YamlUnavailable(Exception):
    """PyYAML is not installed where this runs."""


def load_documents(text: str) -> list[Any]:
    """Every document of the text, as safe_load reads it; ValueError when it is not YAML."""
    if not HAS_YAML:
        raise YamlUnavailable(MISSING)
    yaml = importlib.import_module("yaml")
    try:
        return list(yaml_load_all(text))
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML ({exc})") from None


def dump_block(data: Any) -> str:
    """Block style, keys sorted, no line folding; Ansible's dumper also writes Ansible's own tagged strings as plain ones."""
    if not HAS_YAML:
        raise YamlUnavailable(MISSING)
    return yaml_dump(data, default_flow_style=False, sort_keys=True, width=1 << 16)
