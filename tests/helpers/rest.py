"""Raw requests to an API server (the emulator's or a real one) by object, for tests that must
see exactly what the server answers: status codes, reasons and bodies."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True)
class Resource:
    """Where a kind is served."""

    plural: str
    namespaced: bool


@dataclass
class Rest:
    """An HTTP client of one API server that finds each object's URL through discovery."""

    client: httpx.Client
    _resources: dict[tuple[str, str], Resource] = field(default_factory=dict)

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Rest:
        """A client with the current context's server and credentials (certificates by path)."""
        config = yaml.safe_load(path.read_text())
        context = next(c["context"] for c in config["contexts"]
                       if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user: dict[str, Any] = next((u["user"] for u in config.get("users", [])
                     if u["name"] == context.get("user")), {})
        verify: ssl.SSLContext | bool = True
        if cluster["server"].startswith("https:"):
            # httpx 0.28 ignores `cert=` beside a CA path: the context carries both
            verify = ssl.create_default_context(cafile=cluster.get("certificate-authority"))
            if "client-certificate" in user:
                verify.load_cert_chain(user["client-certificate"], user["client-key"])
        return cls(httpx.Client(base_url=cluster["server"], verify=verify, timeout=60))

    def close(self) -> None:
        self.client.close()

    def resource(self, api_version: str, kind: str) -> Resource:
        """The kind's plural and scope; discovery is asked again for a kind not seen yet."""
        key = (api_version, kind)
        if key not in self._resources:
            self._discover(api_version)
        if key not in self._resources:
            raise KeyError(f"{kind} {api_version} is not served")
        return self._resources[key]

    def path(self, obj: dict[str, Any], *, named: bool = True) -> str:
        """The URL path of the object (or of its collection)."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        resource = self.resource(api_version, kind)
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        namespace = obj["metadata"].get("namespace") or "default"
        where = f"{base}/namespaces/{namespace}" if resource.namespaced else base
        url = f"{where}/{resource.plural}"
        return f"{url}/{obj['metadata']['name']}" if named else url

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, manager: str = "kfops-test",
              strict: bool = True, force: bool = True) -> httpx.Response:
        """Server-side apply; `strict` asks for strict field validation."""
        params = {"fieldManager": manager, "force": "true" if force else "false"}
        if strict:
            params["fieldValidation"] = "Strict"
        if dry_run:
            params["dryRun"] = "All"
        return self.client.patch(self.path(obj), params=params, content=json.dumps(obj),
                                 headers={"Content-Type": APPLY})

    def create(self, obj: dict[str, Any], *, manager: str | None = None) -> httpx.Response:
        params = {"fieldManager": manager} if manager else {}
        return self.client.post(self.path(obj, named=False), params=params, json=obj)

    def get(self, obj: dict[str, Any]) -> httpx.Response:
        return self.client.get(self.path(obj))

    def delete(self, obj: dict[str, Any], **params: str) -> httpx.Response:
        return self.client.delete(self.path(obj), params=params)

    def _discover(self, api_version: str) -> None:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        answer = self.client.get(base)
        if answer.status_code != 200:
            return
        for item in answer.json().get("resources", []):
            if "/" not in item["name"]:
                self._resources[(api_version, item["kind"])] = Resource(item["name"],
                                                                        item["namespaced"])
