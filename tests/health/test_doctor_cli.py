"""`kfops doctor` as an administrator runs it: with the platform file or without, text and
JSON, rule choice, exit codes, and no cluster at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kfops.health import RULES
from tests.health.conftest import Site
from tests.helpers.cli import kfops
from tests.helpers.oci import free_port


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without a platform.yaml (doctor asks the cluster which install)."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_healthy_install_exits_0_with_the_platform_file(site: Site) -> None:
    code, out, _ = kfops("doctor", "-f", str(site.platform), "--offline",
                         "--kubeconfig", str(site.kubeconfig))

    assert code == 0, out
    assert out.strip().splitlines()[-1] == (f"{len(RULES)} of {len(RULES)} rules ran: "
                                            "0 failure(s), 0 warning(s)")
    assert site.emulator.non_reads() == []


def test_without_the_file_the_install_is_found_on_the_cluster_and_json_lists_findings(
        site: Site, elsewhere: Path) -> None:
    site.emulator.state.settings.failing["auth/dex"] = "CrashLoopBackOff"

    code, out, _ = kfops("doctor", "--kubeconfig", str(site.kubeconfig), "-o", "json",
                         "--only", "workload-unavailable,crds")

    assert code == 1
    report = json.loads(out)
    assert report["failed"] is True
    assert [r["name"] for r in report["rules"]] == ["crds", "workload-unavailable"]
    finding = report["findings"][0]
    assert finding["rule"] == "workload-unavailable"
    assert finding["severity"] == "failure"
    assert finding["summary"] == "Deployment auth/dex is not available"
    assert finding["fix"].startswith("see why it crashes: kubectl logs -n auth dex-")
    assert report["unreadable"] == []


def test_text_gives_what_is_wrong_the_evidence_and_the_fix(site: Site, elsewhere: Path) -> None:
    site.emulator.state.settings.failing["auth/dex"] = "ErrImagePull"

    code, out, _ = kfops("doctor", "--kubeconfig", str(site.kubeconfig), "--only",
                         "workload-unavailable")

    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "failure workload-unavailable: Deployment auth/dex is not available"
    assert lines[1].startswith("    Deployment auth/dex (dex): pod dex-")
    assert "ErrImagePull" in lines[1]
    assert lines[3].startswith("  fix: check the image reference and that the nodes can pull it")
    assert lines[-1] == "1 of 1 rules ran: 1 failure(s), 0 warning(s)"


def test_skip_leaves_a_rule_out(site: Site, elsewhere: Path) -> None:
    site.emulator.state.settings.failing["auth/dex"] = "ErrImagePull"

    code, out, _ = kfops("doctor", "--kubeconfig", str(site.kubeconfig),
                         "--skip", "workload-unavailable", "--skip", "warning-events")

    assert code == 0, out
    assert out.splitlines()[-1].startswith(f"{len(RULES) - 2} of {len(RULES) - 2} rules ran")


def test_an_unknown_rule_is_bad_input_and_nothing_is_asked(site: Site, elsewhere: Path) -> None:
    code, _, err = kfops("doctor", "--kubeconfig", str(site.kubeconfig), "--only", "dns")

    assert code == 2
    assert "unknown doctor rule(s): dns (the rules: crds, " in err
    assert site.emulator.state.requests == []


def test_only_list_prints_every_rule_with_its_symptom() -> None:
    code, out, _ = kfops("doctor", "--only", "list", "-o", "json")

    assert code == 0
    assert [r["name"] for r in json.loads(out)] == [r.name for r in RULES]


def test_no_cluster_reports_every_rule_as_not_run(tmp_path: Path, elsewhere: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        f"clusters: [{{name: lab, cluster: {{server: 'http://127.0.0.1:{free_port()}'}}}}]\n"
        "users: [{name: lab, user: {token: t}}]\n"
        "contexts: [{name: lab, context: {cluster: lab, user: lab}}]\n")

    code, out, _ = kfops("doctor", "--kubeconfig", str(kubeconfig))

    assert code == 1
    not_run = [line for line in out.splitlines() if line.startswith("not run ")]
    assert len(not_run) == len(RULES)
    assert all("cannot reach the API server" in line for line in not_run)
    assert "not read the cluster: cannot reach the API server http://127.0.0.1:" in out
    assert out.splitlines()[-1] == (f"0 of {len(RULES)} rules ran: 0 failure(s), 0 warning(s), "
                                    f"{len(RULES)} rule(s) could not run")


def test_a_written_bundle_tells_what_to_expect(site: Site) -> None:
    site.cluster.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                        "notebooks.kubeflow.org")

    code, out, _ = kfops("doctor", "--bundle", str(site.bundle),
                         "--kubeconfig", str(site.kubeconfig), "--only", "crds")

    assert code == 1
    assert out.splitlines()[0] == "failure crds: CRD notebooks.kubeflow.org is missing"
