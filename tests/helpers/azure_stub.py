"""Stand-ins for `az`, `kubectl` and `helm` that record each call and remember what they made.

`python azure_stub.py TOOL ARGS...`; the folder in $STUB_STATE holds calls.log
(one JSON argv per line) and state.json (what exists). A `show` of something
missing exits 3, as az does for a 404.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

STATE = Path(os.environ["STUB_STATE"])
NODE_GROUP = "MC_kubeflow_kubeflow_japaneast"
VALUES: dict[str, str] = {
    "oidcIssuerProfile.issuerUrl": "https://japaneast.oic.prod-aks.azure.com/tenant/issuer/",
    "nodeResourceGroup": NODE_GROUP,
    "networkProfile.networkPlugin": "azure",
    "networkProfile.networkPluginMode": "overlay",
    "networkProfile.networkPolicy": "cilium",
    "identityProfile.kubeletidentity.resourceId": "/subscriptions/s/kubelet-identity",
    "principalId": "11111111-1111-1111-1111-111111111111",
    "clientId": "22222222-2222-2222-2222-222222222222",
    "id": f"/subscriptions/s/resourceGroups/{NODE_GROUP}",
    "[0].subnets[0].id": "/subscriptions/s/vnets/aks-vnet/subnets/aks-subnet",
    "[0].resourceGuid": "33333333-3333-3333-3333-333333333333",
}


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1] if name in args else ""


def main() -> int:
    tool, args = sys.argv[1], sys.argv[2:]
    with (STATE / "calls.log").open("a") as log:
        log.write(json.dumps([tool, *args]) + "\n")
    state_file = STATE / "state.json"
    made = set(json.loads(state_file.read_text())) if state_file.exists() else set()
    code, made = {"az": az, "kubectl": kubectl, "helm": helm}[tool](args, made)
    state_file.write_text(json.dumps(sorted(made)))
    return code


def az(args: list[str], made: set[str]) -> tuple[int, set[str]]:
    words = []
    for arg in args:  # the command words come before the first option
        if arg.startswith("-"):
            break
        words.append(arg)
    name = option(args, "--name") or option(args, "--role")
    thing = "/".join(w for w in words if w not in ("show", "create", "exists", "list")) + \
        f":{name}"
    query = option(args, "--query")
    if words[:2] == ["group", "exists"]:
        print("true" if thing in made else "false")
    elif "create" in words:
        made.add(thing)
        if words[:2] == ["aks", "create"]:
            made.add(f"group:{NODE_GROUP}")  # AKS makes the node resource group
    elif "show" in words:
        if thing not in made:
            print(f"ERROR: (ResourceNotFound) {thing} was not found", file=sys.stderr)
            return 3, made
        if query:
            print(VALUES[query])
    elif words[:3] == ["role", "assignment", "list"]:
        print("1" if f"role/assignment:{name}" in made else "0")
    elif words[:3] == ["network", "vnet", "list"]:
        print(VALUES[query])
    return 0, made


def kubectl(args: list[str], made: set[str]) -> tuple[int, set[str]]:
    jsonpath = next((a for a in args if a.startswith("jsonpath=")), "")
    if "config" in args:
        print("https://kubeflow-dns.hcp.japaneast.azmk8s.io:443")
    elif "items[0].metadata.name" in jsonpath:
        print("bootstrap-token-abc123")
    elif "token-id" in jsonpath:
        print("YWJjMTIz")  # abc123
    elif "token-secret" in jsonpath:
        print("c2VjcmV0dG9rZW52YWx1ZQ==")  # secrettokenvalue
    return 0, made


def helm(args: list[str], made: set[str]) -> tuple[int, set[str]]:
    if args[0] == "list":
        # helm prints compact JSON (Go's encoding/json).
        print(json.dumps([{"name": "karpenter", "chart": "karpenter-1.14.2"}],
                         separators=(",", ":"))
              if "helm:karpenter" in made else "[]")
    elif args[0] == "upgrade":
        values = Path(option(args, "--values"))
        mode = stat.S_IMODE(values.stat().st_mode)
        text = values.read_text()
        (STATE / "values.json").write_text(json.dumps({
            "path": str(values), "mode": oct(mode), "token": "abc123.secrettokenvalue" in text,
            "policy": "NETWORK_POLICY, value: \"cilium\"" in text,
            "ssh": "ssh-rsa AAAAB3Nza-public-key azureuser" in text}))
        made.add("helm:karpenter")
    return 0, made


if __name__ == "__main__":
    sys.exit(main())
