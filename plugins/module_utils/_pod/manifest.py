# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: a Kubernetes Pod manifest in and out of the pod modules. Not a public API.

In: the options manifest and images become the module's own options (_kube.pod_in, merged under
what the task sets by _kube.merge) and are validated by the same argument spec, before the run
reads anything. Out: the runtime's KubePod of the observed pod, written as a manifest (_kube.pod_out).
"""
from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podlab.playground.plugins.module_utils._kube.merge import argspec_defaults, merge_params
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_in import ManifestError, params_from_manifest

# the argument spec's own entries for them: ARGUMENT_SPEC in _pod/spec.py
MANIFEST_OPTIONS = ("manifest", "images")


def _unset_dropped(value: Any) -> Any:
    """AnsibleModule's None for an option not given, dropped at every level, so that validating again fills the defaults
    (a None that stayed would fail a choices check)."""
    if isinstance(value, dict):
        return {k: _unset_dropped(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_unset_dropped(v) for v in value]
    return value


def resolve_params(module: Any, argument_spec: dict[str, Any], runtime: str) -> dict[str, Any]:
    """The options to run: the task's, over the manifest's when one is given; fail_json on any problem."""
    params = dict(module.params)
    manifest, images = params.get("manifest"), params.get("images") or {}
    if manifest is None:
        if images:
            module.fail_json(msg="images maps the image references of a manifest; give manifest too, or name the images "
                                 "in containers")
        return params
    try:
        from_manifest = params_from_manifest(manifest, runtime, images)
    except ManifestError as exc:
        module.fail_json(msg=f"{exc}. Nothing was changed", problems=exc.problems)
        raise  # fail_json exits
    own_spec = {k: v for k, v in argument_spec.items() if k not in MANIFEST_OPTIONS}
    task = {k: v for k, v in params.items() if k in own_spec}
    merged = merge_params(from_manifest, task, argspec_defaults(own_spec))
    result = ArgumentSpecValidator(own_spec).validate(_unset_dropped(merged))
    if result.error_messages:
        module.fail_json(msg="the manifest with the task's own options gives options the module refuses: "
                             f"{'; '.join(result.error_messages)}. Nothing was changed")
    return {**result.validated_parameters, "manifest": manifest, "images": images}
