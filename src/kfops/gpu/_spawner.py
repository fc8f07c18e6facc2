"""The Jupyter web app's spawner offers the GPU nodes' toleration as a toleration group."""

from __future__ import annotations

from typing import Any

import yaml

from kfops.catalog import Settings
from kfops.config import Taint
from kfops.errors import RenderError
from kfops.render import BundleObject, EditableBundle, Phase, RenderContext

GROUP_KEY = "gpu-nodes"


def toleration_group(taint: Taint) -> dict[str, Any]:
    """The spawner's option that tolerates `taint` (a notebook may then run on GPU nodes)."""
    return {"groupKey": GROUP_KEY,
            "displayName": f"GPU nodes ({taint.key}={taint.value}:{taint.effect})",
            "tolerations": [taint.toleration()]}


class SpawnerTolerations:
    """With gpu.enabled, tolerationGroup.options of spawner_ui_config.yaml offers gpu.taint."""

    name = "gpuSpawner"
    phase = Phase.SHAPE

    def contribute(self, context: RenderContext, bundle: EditableBundle) -> None:
        """Add (or replace) kfops's toleration group in the spawner config."""
        spec = context.loaded.platform.spec
        settings = context.catalog.settings
        config = _spawner_config(bundle, settings)
        if not spec.gpu.enabled or config is None:
            return  # no GPUs, or the notebooks component is off
        data = bundle.edit(config)["data"]
        text = data.get(settings.spawner_config_key)
        parsed: Any = yaml.safe_load(text) if text else None
        try:
            group = parsed["spawnerFormDefaults"]["tolerationGroup"]
        except (TypeError, KeyError):
            raise RenderError(f"{settings.spawner_config_key} of ConfigMap "
                              f"{config.obj['metadata']['name']} has no "
                              "spawnerFormDefaults.tolerationGroup") from None  # adds nothing
        options = [o for o in group.get("options") or [] if o.get("groupKey") != GROUP_KEY]
        group["options"] = [*options, toleration_group(spec.gpu.taint)]
        data[settings.spawner_config_key] = yaml.safe_dump(parsed, sort_keys=False, width=1 << 16)
        deployment = bundle.find(settings.spawner_deployment.kind, settings.spawner_deployment.name,
                                 settings.spawner_deployment.namespace)
        if deployment is not None:
            # The web app reads its config when it starts.
            bundle.restart_on_change(deployment, config)


def _spawner_config(bundle: EditableBundle, settings: Settings) -> BundleObject | None:
    namespace = settings.spawner_deployment.namespace
    for item in bundle.of_kind("ConfigMap"):
        metadata = item.obj["metadata"]
        if (metadata.get("namespace") == namespace
                and metadata["name"].startswith(settings.spawner_config_prefix)
                and settings.spawner_config_key in (item.obj.get("data") or {})):
            return item
    return None
