"""The install identity: one ApplySet per platform name, its parent and its labels."""

from __future__ import annotations

import base64
import hashlib

from kfops.objects import MANAGED_BY, PART_OF, PLATFORM_LABEL, ApplySet


def test_id_is_kep_3659_hash_of_the_parent_secret() -> None:
    # KEP-3659: base64url(sha256("<name>.<namespace>.<kind>.<group>")), unpadded; core group "".
    digest = hashlib.sha256(b"kfops-lab.kube-system.Secret.").digest()
    expected = f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"

    assert ApplySet("lab").parent_name == "kfops-lab"
    assert ApplySet("lab").id == expected
    assert ApplySet("lab2").id != expected


def test_an_install_read_from_the_cluster_keeps_the_id_its_parent_records() -> None:
    recorded = ApplySet("lab", "applyset-recorded-v1")

    assert recorded.id == "applyset-recorded-v1"
    assert recorded != ApplySet("lab")
    assert sorted([ApplySet("b"), recorded, ApplySet("a")])[0] == ApplySet("a")


def test_member_labels_name_the_install_and_its_id() -> None:
    applyset = ApplySet("lab")

    assert applyset.member_labels() == {MANAGED_BY: "kfops", PLATFORM_LABEL: "lab",
                                        PART_OF: applyset.id}
