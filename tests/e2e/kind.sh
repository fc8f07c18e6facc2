#!/usr/bin/env bash
# A real-cluster check for users with Docker (not run by CI: no Docker engine there).
#
#   tests/e2e/kind.sh            # from the repository root, after scripts/check or pip install -e .
#
# Creates a kind cluster, applies the local 26.03 platform with kfops, checks
# `kfops status`, re-applies and checks that nothing was written, then
# uninstalls (data kept) and deletes the cluster. Needs docker, kind, kubectl,
# about 16 GiB of memory for Docker and a network that reaches GitHub and the
# image registries (set KFOPS_E2E_SOURCE to a kubeflow/manifests checkout to
# avoid downloading the release archive).
#
# Environment: KFOPS_E2E_PLATFORM (your own local platform file instead of the
# starter; its metadata.name must be lab), KFOPS_E2E_CLUSTER (kind cluster name, default kfops-e2e),
# KFOPS_E2E_KEEP=1 (keep the cluster), KFOPS_E2E_NODE_IMAGE (kindest/node image).
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster=${KFOPS_E2E_CLUSTER:-kfops-e2e}
node_image=${KFOPS_E2E_NODE_IMAGE:-kindest/node:v1.33.1}
kfops=${KFOPS:-.venv/bin/kfops}
for tool in docker kind kubectl "$kfops"; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is needed" >&2; exit 2; }
done

work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
cleanup() {
  if [ "${KFOPS_E2E_KEEP:-0}" != 1 ]; then kind delete cluster --name "$cluster" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "kind cluster $cluster ($node_image)"
kind create cluster --name "$cluster" --image "$node_image" --wait 180s

step "platform file"
if [ -n "${KFOPS_E2E_PLATFORM:-}" ]; then
  cp "$KFOPS_E2E_PLATFORM" "$work/platform.yaml"
else
  "$kfops" init --target local -f "$work/platform.yaml"
fi
if [ -n "${KFOPS_E2E_SOURCE:-}" ]; then
  sed -i "s|^    version: \"26.03\"|    version: \"26.03\"\n    source: ${KFOPS_E2E_SOURCE}|" \
    "$work/platform.yaml"
fi

step "kfops plan (everything is a create; exit 3)"
set +e; "$kfops" plan -f "$work/platform.yaml" >/dev/null; code=$?; set -e
[ "$code" = 3 ] || { echo "e2e: plan exited $code, expected 3" >&2; exit 1; }

step "kfops apply (waits until every workload is available)"
"$kfops" apply -f "$work/platform.yaml" --timeout 1800

step "kfops status"
"$kfops" status -f "$work/platform.yaml"

step "re-apply: nothing may be written"
parent_version() {
  kubectl get --raw /api/v1/namespaces/kube-system/secrets/kfops-lab |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'
}
before=$(parent_version)
"$kfops" apply -f "$work/platform.yaml" -o json > "$work/again.json"
python3 - "$work/again.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
written = {k: len(summary[k]) for k in ("created", "updated", "pruned")}
if any(written.values()):
    sys.exit(f"e2e: the re-apply wrote objects: {written}")
print(f"re-apply: {len(summary['unchanged'])} unchanged, 0 written")
PY
[ "$(parent_version)" = "$before" ] || { echo "e2e: the ApplySet parent was rewritten" >&2; exit 1; }
"$kfops" plan -f "$work/platform.yaml" >/dev/null

step "kfops uninstall (keeps PVCs, Profiles, their namespaces, CRDs in use)"
"$kfops" uninstall -f "$work/platform.yaml" --yes
kubectl get --raw /api/v1/namespaces/kubeflow/persistentvolumeclaims | python3 -c '
import json, sys
names = sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"])
print("kept PVCs:", ", ".join(names))
if not names:
    sys.exit("e2e: uninstall deleted the PVCs")'

echo
echo "e2e: passed"
