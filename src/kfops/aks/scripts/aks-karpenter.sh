# Karpenter's identity: a managed identity its service account federates with.
KARPENTER_VERSION=@VERSION@
KARPENTER_NAMESPACE=@NAMESPACE@
KARPENTER_SA=@SERVICE_ACCOUNT@
KARPENTER_IDENTITY=@IDENTITY@
aks_query() { az aks show --name "$CLUSTER_NAME" --resource-group "$RESOURCE_GROUP" --query "$1" --output tsv; }

if ! az identity show --name "$KARPENTER_IDENTITY" --resource-group "$RESOURCE_GROUP" --output none 2>/dev/null; then
  echo "creating managed identity $KARPENTER_IDENTITY"
  az identity create --name "$KARPENTER_IDENTITY" --resource-group "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi
PRINCIPAL_ID="$(az identity show --name "$KARPENTER_IDENTITY" --resource-group "$RESOURCE_GROUP" --query principalId --output tsv)"
CLIENT_ID="$(az identity show --name "$KARPENTER_IDENTITY" --resource-group "$RESOURCE_GROUP" --query clientId --output tsv)"

if ! az identity federated-credential show --name @CREDENTIAL@ --identity-name "$KARPENTER_IDENTITY" \
    --resource-group "$RESOURCE_GROUP" --output none 2>/dev/null; then
  echo "creating federated credential @CREDENTIAL@"
  az identity federated-credential create --name @CREDENTIAL@ --identity-name "$KARPENTER_IDENTITY" \
    --resource-group "$RESOURCE_GROUP" --issuer "$(aks_query oidcIssuerProfile.issuerUrl)" \
    --subject "system:serviceaccount:$KARPENTER_NAMESPACE:$KARPENTER_SA" \
    --audience api://AzureADTokenExchange --output none
fi

NODE_RESOURCE_GROUP="$(aks_query nodeResourceGroup)"
NODE_RESOURCE_GROUP_ID="$(az group show --name "$NODE_RESOURCE_GROUP" --query id --output tsv)"
for role in @ROLES@; do
  if [[ "$(az role assignment list --assignee "$PRINCIPAL_ID" --scope "$NODE_RESOURCE_GROUP_ID" \
      --role "$role" --query 'length(@)' --output tsv)" == "0" ]]; then
    echo "granting $role on $NODE_RESOURCE_GROUP to $KARPENTER_IDENTITY"
    az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \
      --scope "$NODE_RESOURCE_GROUP_ID" --role "$role" --output none
  fi
done

if helm list --namespace "$KARPENTER_NAMESPACE" --filter '^karpenter$' --deployed --output json \
    | grep -Eq "\"chart\": ?\"karpenter-$KARPENTER_VERSION\""; then
  echo "Karpenter $KARPENTER_VERSION is installed"
  exit 0
fi

# Everything Karpenter's values need, read before anything is installed: a failed or empty read
# stops here (set -e covers each assignment), so a broken install is never left behind.
SSH_KEY_FILE="${SSH_PUBLIC_KEY_FILE:-$HOME/.ssh/id_rsa.pub}"
if [[ ! -r "$SSH_KEY_FILE" ]]; then
  echo "kfops aks script: no SSH public key at $SSH_KEY_FILE (set SSH_PUBLIC_KEY_FILE)" >&2
  exit 1
fi
SSH_PUBLIC_KEY="$(cat "$SSH_KEY_FILE")"
CLUSTER_ENDPOINT="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
NETWORK_PLUGIN="$(aks_query networkProfile.networkPlugin)"
NETWORK_PLUGIN_MODE="$(aks_query networkProfile.networkPluginMode)"
NETWORK_POLICY="$(aks_query networkProfile.networkPolicy)"
if [[ "$NETWORK_POLICY" == "none" ]]; then
  NETWORK_POLICY=""
fi
NODE_IDENTITIES="$(aks_query identityProfile.kubeletidentity.resourceId)"
VNET_SUBNET_ID="$(az network vnet list --resource-group "$NODE_RESOURCE_GROUP" \
  --query '[0].subnets[0].id' --output tsv)"
VNET_GUID="$(az network vnet list --resource-group "$NODE_RESOURCE_GROUP" \
  --query '[0].resourceGuid' --output tsv)"
# The node bootstrap token is a secret: read from the cluster now, written only to a file this
# user alone can read, deleted on exit.
TOKEN_SECRET_NAME="$(kubectl get secrets --namespace kube-system \
  --field-selector=type=bootstrap.kubernetes.io/token -o jsonpath='{.items[0].metadata.name}')"
TOKEN_ID="$(kubectl get secret "$TOKEN_SECRET_NAME" --namespace kube-system \
  -o jsonpath='{.data.token-id}' | base64 -d)"
TOKEN_SECRET="$(kubectl get secret "$TOKEN_SECRET_NAME" --namespace kube-system \
  -o jsonpath='{.data.token-secret}' | base64 -d)"
for name in SSH_PUBLIC_KEY CLUSTER_ENDPOINT NETWORK_PLUGIN NODE_IDENTITIES VNET_SUBNET_ID \
    VNET_GUID TOKEN_ID TOKEN_SECRET CLIENT_ID; do
  if [[ -z "${!name}" ]]; then
    echo "kfops aks script: could not read $name; nothing was installed" >&2
    exit 1
  fi
done

umask 077
VALUES="$(mktemp)"
trap 'rm -f "$VALUES"' EXIT
cat >"$VALUES" <<VALUES_END
replicas: 1
serviceAccount:
  name: "$KARPENTER_SA"
  annotations:
    azure.workload.identity/client-id: "$CLIENT_ID"
podLabels:
  azure.workload.identity/use: "true"
controller:
  env:
  - {name: DISABLE_LEADER_ELECTION, value: "true"}
  - {name: CLUSTER_NAME, value: "$CLUSTER_NAME"}
  - {name: CLUSTER_ENDPOINT, value: "$CLUSTER_ENDPOINT"}
  - {name: KUBELET_BOOTSTRAP_TOKEN, value: "$TOKEN_ID.$TOKEN_SECRET"}
  - {name: SSH_PUBLIC_KEY, value: "$SSH_PUBLIC_KEY azureuser"}
  - {name: NETWORK_PLUGIN, value: "$NETWORK_PLUGIN"}
  - {name: NETWORK_PLUGIN_MODE, value: "$NETWORK_PLUGIN_MODE"}
  - {name: NETWORK_POLICY, value: "$NETWORK_POLICY"}
  - {name: VNET_SUBNET_ID, value: "$VNET_SUBNET_ID"}
  - {name: VNET_GUID, value: "$VNET_GUID"}
  - {name: NODE_IDENTITIES, value: "$NODE_IDENTITIES"}
  - {name: KUBELET_IDENTITY_CLIENT_ID, value: ""}
  - {name: ARM_SUBSCRIPTION_ID, value: "$SUBSCRIPTION_ID"}
  - {name: LOCATION, value: "$LOCATION"}
  - {name: AZURE_NODE_RESOURCE_GROUP, value: "$NODE_RESOURCE_GROUP"}
VALUES_END

echo "installing Karpenter $KARPENTER_VERSION"
helm upgrade --install karpenter @CHART@ --version "$KARPENTER_VERSION" \
  --namespace "$KARPENTER_NAMESPACE" --values "$VALUES" \
  --set controller.resources.requests.cpu=1 --set controller.resources.requests.memory=1Gi \
  --set controller.resources.limits.cpu=1 --set controller.resources.limits.memory=1Gi --wait
