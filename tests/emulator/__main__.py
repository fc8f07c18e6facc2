"""`python -m tests.emulator --port PORT --kubeconfig FILE`: serve until killed."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from ._faults import FaultPlan
from ._server import RunningEmulator
from ._state import Settings


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulator",
        description="An emulated Kubernetes API server on 127.0.0.1 for trying kfops without a "
                    "cluster; every controller it plays can be turned on.")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--kubeconfig", type=Path, required=True,
                        help="where to write a kubeconfig whose context is this server")
    parser.add_argument("--crd-delay", type=float, default=1.0,
                        help="seconds until a CRD is Established")
    parser.add_argument("--workload-delay", type=float, default=2.0,
                        help="seconds until a Deployment, StatefulSet or DaemonSet is available")
    parser.add_argument("--profile-controller", action="store_true",
                        help="make each Profile's namespace, as Kubeflow's profile controller")
    parser.add_argument("--profile-delay", type=float, default=1.0,
                        help="seconds until a Profile's namespace appears")
    parser.add_argument("--jobs", action="store_true",
                        help="run Jobs' pods: schedule, run and log them (kfops gpu test)")
    parser.add_argument("--image-pull-error", action="store_true",
                        help="with --jobs: pods cannot pull their image")
    parser.add_argument("--server-version", default="1.34",
                        help="the Kubernetes version GET /version reports (major.minor)")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of requests answered with 429/500 or a dropped connection")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = Settings(crd_delay=args.crd_delay, workload_delay=args.workload_delay,
                        profile_controller=args.profile_controller,
                        profile_delay=args.profile_delay, jobs=args.jobs,
                        image_pull_error=args.image_pull_error,
                        server_version=args.server_version)
    with RunningEmulator(settings, FaultPlan(rate=args.fault_rate), args.port) as emulator:
        emulator.write_kubeconfig(args.kubeconfig)
        print(f"serving {emulator.url}; kubeconfig {args.kubeconfig}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
