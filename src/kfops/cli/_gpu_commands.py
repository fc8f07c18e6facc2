"""`kfops gpu test`: does a GPU pod get a node, its image and a GPU?"""

from __future__ import annotations

from typing import Annotated

import typer

from kfops.cluster import WaitSettings
from kfops.config import load_platform
from kfops.gpu import TEST_IMAGE, GpuTestReport
from kfops.operations import gpu_test

from ._options import OnCluster, Output, OutputOption, command_group, grouped
from ._output import err, out, print_json

gpu_app = command_group("GPU nodes: test that a GPU pod runs.")


@gpu_app.command(name="test")
@grouped
def test_command(
    platform: OnCluster,
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
    spec = load_platform(platform.file, check_references=False).platform.spec
    with platform.connection.connect() as cluster:
        test = gpu_test(spec, cluster, namespace=namespace, image=image,
                        waits=WaitSettings(timeout=timeout, interval=5.0))
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
