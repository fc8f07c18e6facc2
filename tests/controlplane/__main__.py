"""`python -m tests.controlplane build|up|down [FOLDER]`: see scripts/control-plane."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.controlplane._build import BuildError, build
from tests.controlplane._netns import NetnsError
from tests.controlplane._run import ControlPlane, StartError
from tests.controlplane._webhookless import kustomize_wrapper


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/control-plane")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the binaries into the cache (or reuse them)")
    up = commands.add_parser("up", help="start a control plane; prints its kubeconfig's path")
    up.add_argument("folder", type=Path, help="where its certificates, logs and state go")
    up.add_argument("--timeout", type=float, default=120)
    up.add_argument("--no-netns", action="store_true",
                    help="run on the host's loopback even where a network namespace is allowed")
    down = commands.add_parser("down", help="stop exactly what `up` started in FOLDER")
    down.add_argument("folder", type=Path)
    wrapper = commands.add_parser(
        "kustomize", help="write a kustomize for KFOPS_KUSTOMIZE whose builds have no webhooks "
                          "(what a control plane without containers can take); prints its path")
    wrapper.add_argument("folder", type=Path)
    args = parser.parse_args()
    try:
        if args.command == "build":
            built = build(log=Path("control-plane-build.log").resolve())
            verb = "built" if built.built else "reused"
            print(f"{verb} {built.binaries.folder} in {built.seconds:.1f} s")
        elif args.command == "up":
            binaries = build().binaries
            plane = ControlPlane.start(binaries, args.folder.resolve(), timeout=args.timeout,
                                       isolate=False if args.no_netns else None, tied=False)
            where = f"network namespace {plane.netns}" if plane.netns else "host loopback"
            print(f"control plane on {plane.server} ({where})", file=sys.stderr)
            print(plane.kubeconfig)
        elif args.command == "kustomize":
            print(kustomize_wrapper(args.folder.resolve()))
        else:
            state = args.folder.resolve() / "state.json"
            if not state.is_file():
                print(f"no control plane recorded in {args.folder}", file=sys.stderr)
                return 1
            ControlPlane.load(args.folder.resolve()).stop()
    except (BuildError, StartError, NetnsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
