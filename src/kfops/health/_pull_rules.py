"""The rule about registries the nodes cannot reach (a proxy, a closed network)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kfops.cluster import IMAGE_PULL_REASONS, newest_event
from kfops.objects import normalise_image

from ._facts import InstallFacts
from ._findings import Finding
from ._scope import first_few, pod_name, watched_pods
from ._snapshot import Snapshot

#: Words of a pull error that mean the node never got an answer from the registry, as Go's net
#: and crypto/tls packages (through containerd or CRI-O) word them: a firewall or closed
#: network (`dial tcp 140.82.121.34:443: i/o timeout`, `connect: connection refused`,
#: `network is unreachable`), no DNS outside (`dial tcp: lookup ghcr.io ...: no such host`), a
#: proxy the runtime uses or should use (`proxyconnect tcp: ...`), or a TLS-intercepting proxy
#: or private CA (`x509: certificate signed by unknown authority`). The kubelet reports them in
#: the container's waiting message (ErrImagePull; since Kubernetes 1.32 ImagePullBackOff's too,
#: kubernetes/kubernetes#127918) and in the pod's `Failed` event
#: (https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff). A `not found`
#: manifest is no network problem: the workload-unavailable rule names it.
NETWORK_SIGNATURES = ("i/o timeout", "proxyconnect tcp", "no such host", "connection refused",
                      "x509", "dial tcp", "tls handshake timeout", "network is unreachable")
_FAILED_PULL = "Failed to pull image"


def registry_unreachable(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Pods that cannot pull because the registry cannot be reached, grouped by registry."""
    by_host: dict[str, list[str]] = defaultdict(list)
    said: dict[str, str] = {}
    for pod in watched_pods(snapshot, facts):
        for image, reason, message in _pull_failures(snapshot, pod):
            host = normalise_image(image).split("/", 1)[0]
            by_host[host].append(f"Pod {pod_name(pod)} ({reason}): {message}")
            said.setdefault(host, message)
    findings = []
    for host, lines in sorted(by_host.items()):
        evidence = first_few(lines, "pod(s)")
        findings.append(Finding(
            "image-pull", "warning",
            f"the nodes cannot reach registry {host}: ErrImagePull / ImagePullBackOff "
            f"({_signature(said[host])})", tuple(evidence), _fix(host, said[host])))
    return findings


def _pull_failures(snapshot: Snapshot, pod: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(image, reason, the runtime's words) of the pod's containers that cannot reach their
    registry."""
    status = pod.get("status") or {}
    found = []
    for container in [*(status.get("initContainerStatuses") or []),
                      *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") not in IMAGE_PULL_REASONS:
            continue
        image = str(container.get("image") or "")
        message = str(waiting.get("message") or "")
        if _signature(message) is None:
            # Before Kubernetes 1.32 the back-off message is only `Back-off pulling image`:
            # the runtime's words are in the pod's last Failed event about that image.
            message = _failed_event(snapshot, pod, image) or message
        if image and _signature(message) is not None:
            found.append((image, str(waiting["reason"]), message))
    return found


def _failed_event(snapshot: Snapshot, pod: dict[str, Any], image: str) -> str | None:
    metadata = pod["metadata"]
    pulls = [e for e in snapshot.in_namespace("v1", "Event", metadata["namespace"])
             if str(e.get("message") or "").startswith(f'{_FAILED_PULL} "{image}"')]
    newest = newest_event(pulls, {metadata["name"]})
    return str(newest["message"]) if newest else None


def _signature(message: str) -> str | None:
    lowered = message.lower()
    return next((s for s in NETWORK_SIGNATURES if s in lowered), None)


def _fix(host: str, message: str) -> str:
    if "x509" in message.lower():
        return (f"the nodes do not trust the certificate {host} shows (a TLS-intercepting "
                "proxy or a private CA): add the CA to the nodes' trust store or to the "
                f"container runtime (containerd: /etc/containerd/certs.d/{host}/hosts.toml), "
                "then delete the waiting pods")
    return (f"the nodes cannot reach {host}. Behind a proxy: give the container runtime "
            "HTTP_PROXY, HTTPS_PROXY and NO_PROXY (containerd: a systemd drop-in, then "
            "systemctl restart containerd). In a closed network: set spec.airgap.registry to "
            "your registry, copy the images there (kfops images mirror --to REGISTRY -f "
            "platform.yaml, or kfops bundle create / kfops images load without a path between "
            "the networks), and kfops apply -f platform.yaml")
