"""`kfops apply --bundle` and `kfops plan --bundle`: a reviewed bundle (the real 26.03 render of
the local platform) applied as it is, on one emulated cluster shared by the module.

The tests run in file order: those refused before the cluster is asked first, then the apply
that installs the bundle, then what runs against that install.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kfops import __version__
from kfops.cli import main
from kfops.cluster import Cluster
from kfops.objects import ApplySet, secret_value, set_secret_value
from tests.conftest import MANIFESTS, REMOTE_CACHE, UPSTREAM
from tests.emulator import FaultPlan, RunningEmulator, Settings


@dataclass(frozen=True)
class Site:
    """The platform file, its rendered bundle and state directory, and the cluster."""

    folder: Path
    platform: Path
    bundle: Path
    state: Path
    kubeconfig: Path
    emulator: RunningEmulator

    def where(self) -> tuple[str, ...]:
        return ("--kubeconfig", str(self.kubeconfig))

    def requests(self) -> int:
        with self.emulator.lock:
            return len(self.emulator.state.requests)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[Site]:
    """`kfops render --out bundle` of the local 26.03 platform, and an emulated cluster."""
    folder = tmp_path_factory.mktemp("site")
    platform = folder / "platform.yaml"
    platform.write_text("apiVersion: kfops.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lab\n"
                        "spec:\n  target: local\n  release:\n    version: \"26.03\"\n"
                        f"    source: {MANIFESTS / '26.03'}\n    remoteCache: {REMOTE_CACHE}\n")
    settings = Settings(crd_delay=0.05, workload_delay=0.1, profile_controller=True,
                        profile_delay=0.1)
    with pytest.MonkeyPatch.context() as patch, RunningEmulator(settings, FaultPlan()) as running:
        patch.setenv("KFOPS_ALLOWED_PATHS", str(UPSTREAM))
        patch.setenv("KFOPS_CACHE_DIR", str(shared_cache))
        patch.delenv("KFOPS_STATE_DIR", raising=False)
        assert main(["render", "-f", str(platform), "--out", str(folder / "bundle"),
                     "--offline", "-o", "json"]) == 0
        yield Site(folder, platform, folder / "bundle", folder / ".kfops",
                   running.write_kubeconfig(folder / "kubeconfig"), running)


def _copy(site: Site, to: Path, secrets: bool = True) -> Path:
    shutil.copytree(site.bundle, to, ignore=None if secrets else shutil.ignore_patterns("secrets"))
    return to


def _with_state_dir(monkeypatch: pytest.MonkeyPatch, site: Site) -> None:
    monkeypatch.setenv("KFOPS_STATE_DIR", str(site.state))


def test_render_records_where_generated_values_went_and_keeps_a_copy_of_the_secrets(
        site: Site) -> None:
    lock = yaml.safe_load((site.bundle / "kfops.lock").read_text())
    generated = lock["generated"]
    assert {"oauth2-proxy-cookie-secret", "oidc-client-secret"} <= {
        g["stateName"] for g in generated}
    lock_text = (site.bundle / "kfops.lock").read_text()
    for entry in generated:
        assert set(entry) == {"stateName", "kind", "namespace", "name", "key", "rotatable"}
    secrets = [doc for file in sorted((site.bundle / "secrets").rglob("*.yaml"))
               for doc in yaml.safe_load_all(file.read_text()) if doc]
    found = {(s["metadata"].get("namespace", ""), s["metadata"]["name"]): s for s in secrets}
    for entry in generated:
        value = secret_value(found[(entry["namespace"], entry["name"])], entry["key"])
        assert value and value not in lock_text  # where it went, never the value
    copy = site.state / "bundle-secrets"
    assert copy.stat().st_mode & 0o777 == 0o700
    kept = sorted(p.relative_to(copy) for p in copy.rglob("*.yaml"))
    assert kept == sorted(p.relative_to(site.bundle / "secrets")
                          for p in (site.bundle / "secrets").rglob("*.yaml"))
    assert {p.stat().st_mode & 0o777 for p in copy.rglob("*.yaml")} == {0o600}


def test_an_edited_bundle_is_refused_before_the_cluster_is_asked(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(site, tmp_path / "bundle")
    changed = bundle / "30-platform" / "pipelines.yaml"
    changed.write_text(changed.read_text().replace("replicas: 1", "replicas: 2", 1))
    removed = bundle / "30-platform" / "katib.yaml"
    removed.unlink()
    added = bundle / "30-platform" / "mine.yaml"
    added.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n"
                     "  namespace: kubeflow\ndata: {a: b}\n")
    before = site.requests()

    for command in ("apply", "plan"):
        code, out, err = run(capsys, command, "--bundle", str(bundle), *site.where())
        assert (code, out) == (2, "")
        assert f"{bundle} differs from its lock (edited by hand?); nothing was applied" in err
        assert f"{changed}: changed" in err
        assert f"{removed}: missing" in err
        assert f"{added}: added" in err
        assert "--allow-edited" in err and "Traceback" not in err
    assert site.requests() == before  # not a word to the cluster


def test_an_invalid_edit_is_refused_even_with_allow_edited(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(site, tmp_path / "bundle")
    edited = bundle / "30-platform" / "pipelines.yaml"
    edited.write_text(edited.read_text().replace("replicas: 1", "replicas: one", 1))
    before = site.requests()

    code, out, err = run(capsys, "apply", "--bundle", str(bundle), "--allow-edited",
                         *site.where())

    assert (code, out) == (2, "")
    assert "replicas" in err and "Traceback" not in err
    assert site.requests() == before


def test_a_bundle_of_another_kfops_version_is_refused(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(site, tmp_path / "bundle")
    lock = bundle / "kfops.lock"
    lock.write_text(lock.read_text().replace(f"kfopsVersion: {__version__}",
                                             "kfopsVersion: 0.0.1"))
    before = site.requests()

    code, _, err = run(capsys, "apply", "--bundle", str(bundle), "--allow-edited",
                       *site.where())

    assert code == 2
    assert (f"the bundle was written by kfops 0.0.1, this is kfops {__version__}; render it "
            "again") in err
    assert site.requests() == before


def test_secrets_in_neither_the_bundle_nor_the_state_directory(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KFOPS_STATE_DIR", raising=False)
    bundle = _copy(site, tmp_path / "checkout" / "bundle", secrets=False)

    code, _, err = run(capsys, "plan", "--bundle", str(bundle), *site.where())

    assert code == 2
    assert (f"the bundle's Secrets are in neither {bundle / 'secrets'} nor "
            f"{tmp_path / 'checkout' / '.kfops' / 'bundle-secrets'}") in err


def test_flags_that_need_a_render_are_refused_with_a_bundle(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "apply", "--allow-edited", *site.where())
    assert code == 2 and "--allow-edited goes with --bundle DIR" in err
    code, _, err = run(capsys, "apply", "--bundle", str(site.bundle), "-f", str(site.platform),
                       *site.where())
    assert code == 2 and "-f and --bundle name the install twice" in err
    code, _, err = run(capsys, "plan", "--bundle", str(site.bundle), "--rotate-secrets",
                       *site.where())
    assert code == 2 and "--rotate-secrets: not with --bundle" in err


def test_apply_bundle_installs_what_apply_f_would(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(capsys, "plan", "--bundle", str(site.bundle), *site.where(), "-o", "json")
    assert code == 3
    plan = json.loads(out)
    assert set(plan) == {"changes", "keptValues", "edited", "missing", "objects"}
    assert (plan["keptValues"], plan["edited"], plan["missing"]) == ([], [], [])
    assert plan["changes"] == 672
    assert {o["action"] for o in plan["objects"]} == {"create"}

    code, out, err = run(capsys, "apply", "--bundle", str(site.bundle), *site.where(),
                         "-o", "json")
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert len(summary["created"]) == 672
    assert (summary["keptValues"], summary["edited"]) == ([], [])

    # The platform file's own plan finds nothing to do: the same objects, the same values.
    code, out, _ = run(capsys, "plan", "-f", str(site.platform), "--offline", *site.where())
    assert code == 0, out

    # The bundle checked out of git (no secrets/): the state directory's copy has them, and
    # applying it again writes nothing.
    _with_state_dir(monkeypatch, site)
    checkout = _copy(site, tmp_path / "checkout", secrets=False)
    before = len(site.emulator.writes())
    code, out, _ = run(capsys, "apply", "--bundle", str(checkout), *site.where())
    assert code == 0
    assert "applied 0 created, 0 updated, 672 unchanged, 0 pruned" in out
    assert site.emulator.writes()[before:] == []


def test_a_copy_of_the_secrets_from_another_render_is_refused(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _with_state_dir(monkeypatch, site)
    bundle = _copy(site, tmp_path / "checkout", secrets=False)
    before = site.requests()
    other = sorted((site.state / "bundle-secrets").rglob("*.yaml"))[0]
    kept = other.read_text()
    try:
        other.write_text(kept + "# from another render\n")
        code, _, err = run(capsys, "plan", "--bundle", str(bundle), *site.where())
        assert code == 2 and f"{other}: changed" in err
    finally:
        other.write_text(kept)
    assert site.requests() == before


def test_a_bundle_of_another_release_is_refused_as_an_upgrade(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(site, tmp_path / "bundle")
    lock = bundle / "kfops.lock"
    lock.write_text(lock.read_text().replace("  version: '26.03'", "  version: '26.09'"))
    before = len(site.emulator.writes())

    code, _, err = run(capsys, "apply", "--bundle", str(bundle), *site.where())

    assert code == 2
    assert ("this bundle changes the release of lab from 26.03 to 26.09; nothing was changed: "
            "run `kfops apply -f` for an upgrade") in err
    assert site.emulator.writes()[before:] == []


def test_a_prerequisite_the_cluster_lacks_stops_the_apply_before_any_write(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(site, tmp_path / "bundle")
    with (bundle / "kfops.lock").open("a") as lock:  # as a render with Karpenter records it
        lock.write("requires:\n- {crd: nodepools.karpenter.sh, why: spec.gpu.provisioner is "
                   "karpenter, fix: install Karpenter first}\n")
    before = len(site.emulator.writes(leases=True))

    code, _, err = run(capsys, "apply", "--bundle", str(bundle), *site.where())

    assert code == 1
    assert ("nothing was applied; the cluster lacks what others install:\n    CRD "
            "nodepools.karpenter.sh (needed because spec.gpu.provisioner is karpenter); "
            "install Karpenter first") in err
    assert site.emulator.writes(leases=True)[before:] == []


def _generated(site: Site, state_name: str) -> dict[str, str]:
    lock = yaml.safe_load((site.bundle / "kfops.lock").read_text())
    return next(g for g in lock["generated"] if g["stateName"] == state_name)


def test_a_generated_value_the_cluster_holds_is_kept(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    entry = _generated(site, "oauth2-proxy-cookie-secret")
    with Cluster.connect(site.kubeconfig) as cluster:
        live = cluster.get("v1", "Secret", entry["name"], entry["namespace"])
        assert live is not None
        live["metadata"].pop("managedFields", None)
        set_secret_value(live, entry["key"], "another-install-made-this-value!")
        cluster.apply(live)
    named = (f"oauth2-proxy-cookie-secret (Secret {entry['namespace']}/{entry['name']}, key "
             f"{entry['key']})")

    code, out, _ = run(capsys, "plan", "--bundle", str(site.bundle), *site.where())
    assert f"keep     the cluster's value of {named}" in out
    assert code == 0, out  # the Secret is left as the cluster holds it
    code, out, _ = run(capsys, "apply", "--bundle", str(site.bundle), *site.where())

    assert code == 0
    assert f"kept the cluster's value of {named}" in out
    assert "render again with `kfops render -f` to adopt it" in out
    assert "another-install-made-this-value!" not in out
    with Cluster.connect(site.kubeconfig) as cluster:
        live = cluster.get("v1", "Secret", entry["name"], entry["namespace"])
        assert live is not None
        assert secret_value(live, entry["key"]) == "another-install-made-this-value!"


def test_allow_edited_applies_an_edited_bundle(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _copy(site, tmp_path / "bundle")
    added = bundle / "30-platform" / "mine.yaml"
    added.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n"
                     "  namespace: kubeflow\ndata: {a: b}\n")

    code, out, err = run(capsys, "apply", "--bundle", str(bundle), "--allow-edited",
                         *site.where(), "-o", "json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["created"] == ["ConfigMap kubeflow/mine"]
    assert summary["edited"] == [f"{added}: added"]
    assert summary["unchanged"] and not summary["updated"]
    with Cluster.connect(site.kubeconfig) as cluster:  # labelled as the render labels: pruned
        mine = cluster.get("v1", "ConfigMap", "mine", "kubeflow")  # once it leaves the bundle
        assert mine is not None
        assert mine["metadata"]["labels"] == ApplySet("lab").member_labels()
