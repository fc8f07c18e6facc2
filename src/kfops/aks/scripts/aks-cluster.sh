#!/usr/bin/env bash
# Written by kfops aks script for platform @PLATFORM@: creates AKS cluster @CLUSTER@ (@HOW@).
# Safe to re-run: each step checks first and creates only what is missing.
# Needs: az (logged in: az login), kubectl@NEEDS@. Then: kfops check && kfops apply
set -euo pipefail

SUBSCRIPTION_ID=@SUBSCRIPTION@
RESOURCE_GROUP=@GROUP@
CLUSTER_NAME=@CLUSTER@
LOCATION=@LOCATION@

for tool in @TOOLS@; do
  command -v "$tool" >/dev/null || { echo "kfops aks script: $tool is not installed" >&2; exit 1; }
done
az account set --subscription "$SUBSCRIPTION_ID"

if [[ "$(az group exists --name "$RESOURCE_GROUP")" != "true" ]]; then
  echo "creating resource group $RESOURCE_GROUP"
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi

if ! az aks show --name "$CLUSTER_NAME" --resource-group "$RESOURCE_GROUP" --output none 2>/dev/null; then
  echo "creating AKS cluster $CLUSTER_NAME (takes several minutes)"
  az aks create --name "$CLUSTER_NAME" --resource-group "$RESOURCE_GROUP" --location "$LOCATION" \
    --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium \
    --enable-managed-identity --enable-oidc-issuer --enable-workload-identity \
    @CLUSTER_FLAGS@ --generate-ssh-keys --output none
fi
az aks get-credentials --name "$CLUSTER_NAME" --resource-group "$RESOURCE_GROUP" --overwrite-existing
