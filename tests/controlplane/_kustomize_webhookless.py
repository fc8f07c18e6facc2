"""A kustomize for kfops's KFOPS_KUSTOMIZE whose builds have no webhooks (see _webhookless).

Run through the wrapper `_webhookless.kustomize_wrapper()` writes: `kustomize build DIR` runs
the kubectl installed with kfops (`kubectl kustomize DIR`) and prints its objects without
webhook configurations, APIServices and CRD conversion webhooks; `version` prints that
kubectl's kustomize version.
"""

import json
import subprocess
import sys
from pathlib import Path

import yaml

# libyaml's loader and dumper: kfops itself needs them (src/kfops reads with yaml.CSafeLoader)
from yaml import CSafeDumper as Dumper
from yaml import CSafeLoader as Loader

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.controlplane._webhookless import without_webhooks

KUBECTL = str(Path(sys.executable).parent / "kubectl")


def main() -> int:
    if sys.argv[1:2] == ["version"]:
        done = subprocess.run([KUBECTL, "version", "--client", "-o", "json"],
                              capture_output=True, text=True, check=True)
        print(json.loads(done.stdout)["kustomizeVersion"])
        return 0
    if sys.argv[1:2] != ["build"] or len(sys.argv) != 3:
        print("usage: kustomize-webhookless build DIR | version", file=sys.stderr)
        return 2
    done = subprocess.run([KUBECTL, "kustomize", sys.argv[2]], capture_output=True, text=True,
                          check=False)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        return done.returncode
    objects = [doc for doc in yaml.load_all(done.stdout, Loader=Loader) if doc]
    sys.stdout.write(yaml.dump_all(without_webhooks(objects), Dumper=Dumper, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
