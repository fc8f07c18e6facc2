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
    parser = argparse.ArgumentParser(prog="python -m tests.emulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--crd-delay", type=float, default=1.0)
    parser.add_argument("--workload-delay", type=float, default=2.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = Settings(crd_delay=args.crd_delay, workload_delay=args.workload_delay)
    with RunningEmulator(settings, FaultPlan(rate=args.fault_rate), args.port) as emulator:
        emulator.write_kubeconfig(args.kubeconfig)
        print(f"serving {emulator.url}; kubeconfig {args.kubeconfig}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
