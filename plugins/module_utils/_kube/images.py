# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the images: mapping, a manifest's image references run on local images. Not a public API.

A reference matches a key when both name the same image once Docker's defaults are filled in:
the docker.io registry, its library/ namespace for one-word names, and the latest tag when there is
neither tag nor digest. So busybox, busybox:latest, library/busybox and docker.io/library/busybox:latest
are one key; busybox:1.36 and busybox are not.
"""
from __future__ import annotations

from collections.abc import Mapping

DEFAULT_REGISTRY = "docker.io"
_REGISTRY_ALIASES = {"index.docker.io": DEFAULT_REGISTRY}


def full_reference(reference: str) -> str:
    """The reference with Docker's defaults: busybox -> docker.io/library/busybox:latest."""
    name, at, digest = reference.partition("@")
    first, slash, rest = name.partition("/")
    # As Docker reads it, a first component is a registry when it has a dot or a port, or is localhost.
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = _REGISTRY_ALIASES.get(first, first), rest
    else:
        registry, path = DEFAULT_REGISTRY, name
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    if not at and ":" not in path.rsplit("/", 1)[-1]:
        path = f"{path}:latest"
    return f"{registry}/{path}{at}{digest}"


class ImageMap:
    """Which local image runs in place of a manifest's reference; references not in the mapping run as written."""

    def __init__(self, images: Mapping[str, str] | None) -> None:
        self._by_reference: dict[str, str] = {}
        for reference, local in (images or {}).items():
            if not isinstance(reference, str) or not isinstance(local, str) or not local:
                raise ValueError(f"images: {reference!r}: {local!r}: map an image reference to a local image, both strings")
            key = full_reference(reference)
            if self._by_reference.get(key, local) != local:
                raise ValueError(f"images: {reference!r} names the same image as another key ({key}) but maps it to "
                                 f"{local!r}, not {self._by_reference[key]!r}; keep one")
            self._by_reference[key] = local

    def local(self, reference: str) -> str:
        return self._by_reference.get(full_reference(reference), reference)
