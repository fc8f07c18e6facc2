"""`kfops gpu test`: does a GPU pod get a node, its image and a GPU?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kfops.airgap import rewrite_reference
from kfops.cluster import WaitSettings
from kfops.config import load_platform
from kfops.gpu import TEST_IMAGE, GpuTest, GpuTestReport

from ._cluster_commands import Connection
from ._options import (
    ContextOption,
    FileOption,
    KubeconfigOption,
    Output,
    OutputOption,
    command_group,
)
from ._output import err, out, print_json

gpu_app = command_group("GPU nodes: test that a GPU pod runs.")


@gpu_app.command(name="test")
def test_command(
    file: FileOption = Path("platform.yaml"),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    namespace: Annotated[str, typer.Option(
        "--namespace", "-n", help="Where the test Job runs.")] = "default",
    image: Annotated[str | None, typer.Option(
        "--image", help=f"An image with nvidia-smi; default {TEST_IMAGE}, from "
                        "airgap.registry when the platform sets one.")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", help="Seconds to wait; a new GPU node can take 10 minutes.")] = 900.0,
    output: OutputOption = Output.text,
) -> None:
    """Run a one-GPU Job with the platform's toleration; say which step failed (exit 1)."""
    spec = load_platform(file, check_references=False).platform.spec
    if image is None:
        image = TEST_IMAGE if spec.airgap is None else rewrite_reference(
            TEST_IMAGE, spec.airgap.registry, spec.airgap.keep_source_host)
    with Connection(kubeconfig, context).connect() as cluster:
        test = GpuTest(cluster, spec.gpu.taint, namespace, image,
                       WaitSettings(timeout=timeout, interval=5.0))
        if output is Output.json:
            report = test.run()
        else:
            with err.status(f"GPU test Job {test.report.job}: starting") as status:
                report = test.run(lambda reasons: status.update(
                    f"GPU test Job {test.report.job}: {reasons[0] if reasons else 'done'}"))
    _print_report(report, output)
    if not report.passed:
        raise typer.Exit(1)


def _print_report(report: GpuTestReport, output: Output) -> None:
    if output is Output.json:
        print_json({"passed": report.passed, "job": report.job, "namespace": report.namespace,
                    "node": report.node, "provisioned": report.provisioned, "gpus": report.gpus,
                    "failedStep": report.failed_step, "detail": report.detail,
                    "seconds": round(report.seconds, 1)})
        return
    if report.node:
        how = "a new node (provisioned for the test)" if report.provisioned else "node"
        out.print(f"  scheduled on {how} {report.node}", markup=False)
    for gpu in report.gpus:
        out.print(f"  saw {gpu}", markup=False)
    if report.passed:
        out.print(f"[green]passed[/] in {report.seconds:.0f}s; the test Job was deleted")
    else:
        out.print(f"[red]failed: {report.failed_step}[/] after {report.seconds:.0f}s")
        out.print(f"  {report.detail}", markup=False)
