"""Values given as flags are checked as the platform file's model checks them."""

from __future__ import annotations

import pytest

from kfops.config import airgap_registry, new_profile
from kfops.errors import InputError


def test_a_registry_flag_is_checked_as_airgap_registry() -> None:
    assert airgap_registry("registry.internal:5000/kubeflow/") == "registry.internal:5000/kubeflow"
    for bad in ("harbor", "https://registry.internal", "harbor/kubeflow"):
        with pytest.raises(InputError, match="registry host") as caught:
            airgap_registry(bad)
        assert not str(caught.value).startswith("registry:")  # the flag names where


def test_a_profile_from_flags_is_checked_as_spec_profiles_is() -> None:
    profile = new_profile("team-a", "alice@example.com", {"cpu": "16", "nvidia.com/gpu": "2"},
                          ["pipelineAccess"])
    assert (profile.name, profile.owner, profile.pod_defaults) == (
        "team-a", "alice@example.com", ["pipelineAccess"])
    assert {k: str(v) for k, v in profile.quota.items()} == {"cpu": "16", "nvidia.com/gpu": "2"}
    assert new_profile("team-a", "alice@example.com").quota == {}


@pytest.mark.parametrize(("name", "owner", "quota", "pod_defaults", "where"), [
    ("Team_A", "alice@example.com", {}, [], "name"),
    ("team-a", "alice", {}, [], "owner"),
    ("team-a", "alice@example.com", {"cpu": "lots"}, [], "quota.cpu"),
    ("team-a", "alice@example.com", {}, ["sudo"], "podDefaults.0"),
])
def test_the_first_problem_is_named_by_its_path(name: str, owner: str, quota: dict[str, str],
                                                pod_defaults: list[str], where: str) -> None:
    with pytest.raises(InputError, match=rf"^{where}: ") as caught:
        new_profile(name, owner, quota, pod_defaults)
    assert caught.value.exit_code == 2
