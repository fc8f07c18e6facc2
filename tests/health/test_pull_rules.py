"""doctor's image-pull rule on a copy of a real 26.03 install: registries the nodes cannot
reach, behind a proxy or in a closed network."""

from __future__ import annotations

from tests.health.conftest import Site

UI_POD = "ml-pipeline-ui-5d8f7c9b4-emu01"


def image_of(site: Site, namespace: str, deployment: str) -> str:
    live = site.cluster.get("apps/v1", "Deployment", deployment, namespace)
    assert live is not None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def cannot_pull(site: Site, workload: str, reason: str, error: str | None = None) -> None:
    """Keep `namespace/name` waiting on its image; `error`: the runtime's words."""
    with site.emulator.lock:
        site.emulator.state.settings.failing[workload] = reason
        if error is not None:
            site.emulator.state.settings.pull_errors[workload] = error


def test_unreachable_registries_are_grouped_by_host_with_the_runtime_words(site: Site) -> None:
    ui = image_of(site, "kubeflow", "ml-pipeline-ui")
    proxy = image_of(site, "oauth2-proxy", "oauth2-proxy")
    repository, _, tag = ui.rpartition(":")
    timeout = (f'failed to pull and unpack image "{ui}": failed to resolve reference "{ui}": '
               f'failed to do request: Head "https://ghcr.io/v2/{repository.split("/", 1)[1]}/'
               f'manifests/{tag}": dial tcp 140.82.121.34:443: i/o timeout')
    proxyconnect = (f'failed to pull and unpack image "{proxy}": failed to resolve reference '
                    f'"{proxy}": failed to do request: Head "https://quay.io/v2/oauth2-proxy/'
                    'oauth2-proxy/manifests/v7.14.3": proxyconnect tcp: dial tcp '
                    "10.0.0.1:3128: connect: connection refused")
    cannot_pull(site, "kubeflow/ml-pipeline-ui", "ImagePullBackOff", timeout)
    cannot_pull(site, "oauth2-proxy/oauth2-proxy", "ErrImagePull", proxyconnect)
    report = site.doctor("image-pull")
    assert report.not_run == []
    ghcr, quay = report.findings
    assert (ghcr.rule, ghcr.severity) == ("image-pull", "warning")
    assert ghcr.summary == ("the nodes cannot reach registry ghcr.io: ErrImagePull / "
                            "ImagePullBackOff (i/o timeout)")
    # ImagePullBackOff's own message is only "Back-off pulling image": the Failed event says why
    assert ghcr.evidence == (f'Pod kubeflow/{UI_POD} (ImagePullBackOff): Failed to pull image '
                             f'"{ui}": {timeout}',)
    assert "spec.airgap.registry" in ghcr.fix
    assert "kfops images mirror --to REGISTRY -f platform.yaml" in ghcr.fix
    assert "HTTP_PROXY, HTTPS_PROXY and NO_PROXY" in ghcr.fix
    assert quay.summary == ("the nodes cannot reach registry quay.io: ErrImagePull / "
                            "ImagePullBackOff (proxyconnect tcp)")
    [line] = quay.evidence
    assert line.startswith("Pod oauth2-proxy/oauth2-proxy-") and line.endswith(
        "(ErrImagePull): " + proxyconnect)


def test_an_untrusted_certificate_names_the_nodes_trust_store(site: Site) -> None:
    ui = image_of(site, "kubeflow", "ml-pipeline-ui")
    cannot_pull(site, "kubeflow/ml-pipeline-ui", "ErrImagePull",
                f'failed to pull and unpack image "{ui}": failed to resolve reference "{ui}": '
                'failed to do request: Head "https://ghcr.io/v2/": tls: failed to verify '
                "certificate: x509: certificate signed by unknown authority")
    [finding] = site.doctor("image-pull").findings
    assert finding.summary.endswith("(x509)")
    assert "/etc/containerd/certs.d/ghcr.io/hosts.toml" in finding.fix


def test_a_missing_image_is_left_to_workload_unavailable(site: Site) -> None:
    cannot_pull(site, "kubeflow/ml-pipeline-ui", "ImagePullBackOff")  # "...: not found"
    report = site.doctor("image-pull", "workload-unavailable")
    assert [f.rule for f in report.findings] == ["workload-unavailable"]
    assert "ImagePullBackOff" in report.findings[0].evidence[0]
