"""`kfops images mirror` of 20 generated images that share base layers, between two registries.

Issue 7's goals:

  bytes sent to the target / sum of the images' sizes   about the unique-bytes ratio
                                                        (only blobs the target lacks are sent)
  wall time with parallel copies / one at a time,
      in the same run                                   <= 0.6

Two Debian docker-registry servers run on 127.0.0.1; the images are built here
(four base layers, each under five images, plus a layer of its own per image)
and pushed to the first. The bytes sent are counted by a TCP proxy in front of
the target registry (in a run of its own: the proxy costs CPU the timed runs
should not pay), so a blob uploaded twice counts twice.

Time is measured twice. "local": both registries on this machine, nothing in
between; on 2 cores this is CPU-bound (the registries hash every blob), which
caps what parallel copies can gain. "remote source": the source registry behind
a proxy that holds each 64 KiB the registry sends for `--latency-ms` (one
TCP stream then carries about 64 KiB per latency, as a long-distance link
does), which is what mirroring from Docker Hub or ghcr.io looks like.

Usage (from the repository root; needs skopeo and docker-registry):
    python -m benchmarks.mirror [--images 20] [--parallel 4]
Prints one line per measurement and the ratios; timings never go in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.oci import (
    Layout,
    Registry,
    free_port,
    insecure_registries_conf,
    layer,
    push,
    running_registry,
)

from kfops.airgap import Skopeo, mirror_images

BASE_SIZE = 6_000_000
OWN_SIZE = 1_500_000


class CountingProxy:
    """A TCP proxy on 127.0.0.1 that counts the bytes clients send through it, and may hold
    each chunk the server sends back for `latency` seconds (a long-distance link)."""

    def __init__(self, target_port: int, latency: float = 0.0) -> None:
        self.port = free_port()
        self.sent = 0
        self._target = target_port
        self._latency = latency
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_until_complete(server.serve_forever())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            try:
                while data := await src.read(1 << 16):
                    if count:
                        self.sent += len(data)
                    elif self._latency:
                        await asyncio.sleep(self._latency)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


def build(folder: Path, source: Registry, count: int) -> tuple[list[str], int, int]:
    """Push `count` images; (their references, sum of their sizes, bytes of distinct blobs)."""
    layout = Layout(folder)
    bases = [layer(f"base{b}.bin", BASE_SIZE, seed=b) for b in range(max(1, count // 5))]
    images, total = [], 0
    for index in range(count):
        layers = [bases[index % len(bases)], layer(f"own{index}.bin", OWN_SIZE, seed=100 + index)]
        layout.image(f"i{index}", layers)
        total += sum(len(b) for b in layers)
        push(folder, f"i{index}", f"{source.host}/bench/image{index:02d}:1")
        images.append(f"{source.host}/bench/image{index:02d}:1")
    unique = sum(len(b) for b in bases) + sum(
        len(layer(f"own{i}.bin", OWN_SIZE, seed=100 + i)) for i in range(count))
    return images, total, unique


@contextmanager
def fresh_target(folder: Path) -> Iterator[tuple[Registry, CountingProxy]]:
    with running_registry(folder) as target:
        yield target, CountingProxy(int(target.host.rsplit(":", 1)[1]))


def timed_mirror(images: list[str], folder: Path, parallel: int, home: Path, source: Registry, *,
                 counted: bool = False) -> tuple[float, int, int]:
    """(seconds, bytes sent through the proxy or 0, bytes the target stores)."""
    with fresh_target(folder) as (target, proxy):
        via = f"127.0.0.1:{proxy.port}" if counted else target.host
        insecure_registries_conf(home, [source.host, target.host, via,
                                        *{i.split("/", 1)[0] for i in images}])
        started = time.perf_counter()
        results = mirror_images(images, via, Skopeo(insecure_destination=True),
                                parallel=parallel)
        seconds = time.perf_counter() - started
        assert all(r.outcome == "copied" for r in results), [r.reason for r in results]
        return seconds, proxy.sent, target.blob_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfops-mirror-bench-") as scratch:
        root = Path(scratch)
        home = root / "home"
        os.environ["HOME"] = str(home)
        with running_registry(root / "source") as source:
            insecure_registries_conf(home, [source.host])
            images, total, unique = build(root / "build", source, args.images)
            print(f"images: {len(images)}, sum of sizes {total / 1e6:.1f} MB, "
                  f"distinct blobs {unique / 1e6:.1f} MB (unique-bytes ratio {unique / total:.3f})")
            one_s, _, one_stored = timed_mirror(images, root / "one", 1, home, source)
            par_s, _, par_stored = timed_mirror(images, root / "par", args.parallel, home, source)
            _, sent, _ = timed_mirror(images, root / "count", args.parallel, home, source,
                                      counted=True)
            remote = CountingProxy(int(source.host.rsplit(":", 1)[1]), args.latency_ms / 1000)
            far = [i.replace(source.host, f"127.0.0.1:{remote.port}", 1) for i in images]
            far_one, _, _ = timed_mirror(far, root / "far-one", 1, home, source)
            far_par, _, _ = timed_mirror(far, root / "far-par", args.parallel, home, source)
        print(f"local, one at a time: {one_s:.2f} s, target stores {one_stored / 1e6:.1f} MB")
        print(f"local, parallel {args.parallel}:    {par_s:.2f} s, target stores "
              f"{par_stored / 1e6:.1f} MB")
        print(f"remote source ({args.latency_ms:g} ms per 64 KiB), one at a time: {far_one:.2f} s")
        print(f"remote source ({args.latency_ms:g} ms per 64 KiB), parallel {args.parallel}: "
              f"{far_par:.2f} s")
        print(f"sent through the counting proxy (parallel {args.parallel}): {sent / 1e6:.1f} MB")
        print(f"bytes sent / sum of sizes: {sent / total:.3f} "
              f"(unique-bytes ratio {unique / total:.3f})")
        print(f"wall time parallel / one at a time, local: {par_s / one_s:.3f}")
        print(f"wall time parallel / one at a time, remote source: {far_par / far_one:.3f} "
              "(goal <= 0.6)")


if __name__ == "__main__":
    main()
