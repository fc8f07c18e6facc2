"""gitops/encrypt-secrets.sh: the bundle's Secrets encrypted for git, never in plain.

secrets/ stays out of git (its .gitignore); the hook writes an encrypted copy
of each of its files where the secrets Application or Kustomization applies
them. Argo CD: kubeseal makes SealedSecrets, which the sealed-secrets
controller turns back into the Secrets
(https://github.com/bitnami-labs/sealed-secrets#usage). Flux: SOPS encrypts
the `data` and `stringData` of each Secret, which the kustomize-controller
decrypts (https://fluxcd.io/flux/guides/mozilla-sops/).
"""

from __future__ import annotations

from ._options import GitOpsOptions

HOOK = "gitops/encrypt-secrets.sh"

_START = """\
#!/usr/bin/env bash
# Written by kfops render --gitops {tool}: do not edit, render again (docs/gitops.md).
# Encrypts each file of the bundle's secrets/ folder (kept out of git) into
# {out}/ (committed), with {program}. kfops render writes the bundle anew,
# so run this after every render, before git add. Arguments go to {program}:
#   {example}
set -euo pipefail
umask 077
bundle="$(cd "$(dirname "${{BASH_SOURCE[0]}}")/.." && pwd)"
out="$bundle/{out}"
if ! command -v {program} >/dev/null; then
  echo "{program} is not installed: {install}" >&2
  exit 1
fi
if [[ ! -d "$bundle/secrets" ]]; then
  echo "$bundle/secrets is missing (it is kept out of git): run kfops render again" >&2
  exit 1
fi
mkdir -p "$out"
files=(
{files})
"""

_SOPS = """\
for file in "${files[@]}"; do
  target="$out/${file//\\//-}"  # as kfops.gitops encrypted_name: 30-platform-dex.yaml
  sops --encrypt --input-type yaml --output-type yaml \\
    --encrypted-regex '^(data|stringData)$' "$@" "$bundle/secrets/$file" > "$target.new"
  mv "$target.new" "$target"
done
echo "encrypted ${#files[@]} files into $out"
"""

_KUBESEAL = """\
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for file in "${files[@]}"; do
  target="$out/${file//\\//-}"  # as kfops.gitops encrypted_name: 30-platform-dex.yaml
  rm -f "$work"/part-*
  # kubeseal seals one Secret at a time: one part per YAML document of the file.
  awk -v prefix="$work/part-" 'BEGIN { n = 0 } /^---$/ { close(prefix n); n++; next }
    { print > (prefix n) }' "$bundle/secrets/$file"
  n=0
  while [[ -f "$work/part-$n" ]]; do
    if (( n > 0 )); then echo "---"; fi
    kubeseal --format yaml "$@" < "$work/part-$n"
    n=$((n + 1))
  done > "$target.new"
  mv "$target.new" "$target"
done
echo "sealed ${#files[@]} files into $out"
"""


def hook_script(options: GitOpsOptions, secret_files: list[str], out: str) -> str:
    """The encryption hook for `options.tool`, for the bundle files `secret_files`."""
    argocd = options.tool == "argocd"
    listed = "".join(f'  "{path.removeprefix("secrets/")}"\n' for path in secret_files)
    start = _START.format(
        tool=options.tool, out=out, files=listed,
        program="kubeseal" if argocd else "sops",
        example=("--cert sealed-secrets.pem (sealing offline), or --controller-namespace NS"
                 if argocd else "--age age1... (or none: the .sops.yaml creation rules)"),
        install=("https://github.com/bitnami-labs/sealed-secrets#kubeseal" if argocd
                 else "https://github.com/getsops/sops#download"))
    return start + (_KUBESEAL if argocd else _SOPS)
