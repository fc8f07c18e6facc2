"""The image-reference grammar: what is a reference, its normal form, its parts, and
references inside free text."""

from __future__ import annotations

from kfops.objects import (
    is_image_reference,
    is_reference,
    normalise_image,
    references_in,
    replace_reference,
    split_reference,
)

DIGEST = "sha256:" + "a" * 64


def test_words_are_not_images_and_references_are_normalised() -> None:
    for word in ("disabled", "Always", "IfNotPresent", "true", "a b:c"):
        assert not is_image_reference(word)
    assert normalise_image("busybox:1.28") == "docker.io/library/busybox:1.28"
    assert normalise_image("kserve/agent") == "docker.io/kserve/agent:latest"
    assert normalise_image("ghcr.io/x/y@sha256:" + "a" * 64) == "ghcr.io/x/y@sha256:" + "a" * 64


def test_a_single_word_is_a_reference_but_not_an_image() -> None:
    assert is_reference("alibi") and not is_image_reference("alibi")
    assert not is_reference("Alibi")
    assert is_image_reference(f"localhost:5000/x/y:1.0@{DIGEST}")


def test_split_reference_keeps_tag_and_digest_as_written() -> None:
    assert split_reference("localhost:5000/x/y") == ("localhost:5000/x/y", "")
    assert split_reference("ghcr.io/x/y:1.0") == ("ghcr.io/x/y", ":1.0")
    assert split_reference(f"ghcr.io/x/y:1.0@{DIGEST}") == ("ghcr.io/x/y", f":1.0@{DIGEST}")
    assert split_reference(f"ghcr.io/x/y@{DIGEST}") == ("ghcr.io/x/y", f"@{DIGEST}")


def test_references_in_text_need_a_host_and_a_tag_and_end_where_the_prose_does() -> None:
    text = ("image ghcr.io/x/y:1.0. Also docker.io/a/b@" + DIGEST + ", not busybox:1.28, "
            "not ghcr.io/x/untagged, not https://ghcr.io/x/y:2.0/path.")

    assert references_in(text) == ["ghcr.io/x/y:1.0", f"docker.io/a/b@{DIGEST}"]


def test_replace_reference_only_where_it_stands_whole() -> None:
    text = "ghcr.io/x/y:1.0 ghcr.io/x/y:1.0-rc ghcr.io/x/y:1.0."

    assert replace_reference(text, "ghcr.io/x/y:1.0", "reg/x/y:1.0") == \
        "reg/x/y:1.0 ghcr.io/x/y:1.0-rc reg/x/y:1.0."
