"""The images: mapping: which references name the same image once Docker's defaults are filled in."""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._kube.images import ImageMap, full_reference


@pytest.mark.parametrize(("reference", "full"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("kennethreitz/httpbin", "docker.io/kennethreitz/httpbin:latest"),
    ("docker.io/kennethreitz/httpbin", "docker.io/kennethreitz/httpbin:latest"),
    ("quay.io/org/app:2", "quay.io/org/app:2"),
    ("localhost/app", "localhost/app:latest"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("registry:5000/team/app:1", "registry:5000/team/app:1"),
    ("busybox@sha256:0123", "docker.io/library/busybox@sha256:0123"),
    ("podlab/busybox:1", "docker.io/podlab/busybox:1"),
])
def test_full_reference_fills_in_dockers_defaults(reference, full):
    assert full_reference(reference) == full


def test_matching_with_and_without_the_defaults():
    images = ImageMap({"docker.io/kennethreitz/httpbin": "podlab/busybox:1", "curlimages/curl:8.5.0": "podlab/curl:1"})
    assert images.local("kennethreitz/httpbin") == "podlab/busybox:1"
    assert images.local("kennethreitz/httpbin:latest") == "podlab/busybox:1"
    assert images.local("docker.io/curlimages/curl:8.5.0") == "podlab/curl:1"
    # Another tag, another registry: another image, run as written.
    assert images.local("kennethreitz/httpbin:0.9") == "kennethreitz/httpbin:0.9"
    assert images.local("quay.io/kennethreitz/httpbin") == "quay.io/kennethreitz/httpbin"
    assert ImageMap(None).local("busybox") == "busybox"


def test_the_same_image_twice_is_refused_unless_it_maps_alike():
    assert ImageMap({"busybox": "a", "busybox:latest": "a"}).local("library/busybox") == "a"
    with pytest.raises(ValueError, match="names the same image as another key"):
        ImageMap({"busybox": "a", "busybox:latest": "b"})


@pytest.mark.parametrize("images", [{"busybox": ""}, {"busybox": 1}, {1: "a"}])
def test_entries_must_be_two_strings(images):
    with pytest.raises(ValueError, match="map an image reference to a local image"):
        ImageMap(images)
