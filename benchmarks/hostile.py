"""Issue 18's fuzz, re-measured: `kfops validate` and `kfops render` on hostile platform files.

Every variant of tests/helpers/hostile.py (the four `kfops init` starters with
YAML bombs, deep nesting, tags, merge keys, device and outside paths, shell
payloads, junk names, numbers and quotas the cluster refuses: about 800) is
written to its own folder with the files it points at, and both commands run
on it in a forked child (kfops imported once), each with a 60 s limit and a
4 GB address-space cap. Counted per row of the issue's table:

  runs and exit codes        2 = refused as bad input, 0 = accepted, 1 = failed
  tracebacks                 any exception kfops does not turn into a message
  hangs                      no answer within the limit
  slowest refusal, peak RSS  per run (RSS includes the interpreter with kfops imported: the
                             baseline is printed)
  accepted but bad           exit 0 for a file that must be refused (each one is listed)
  warnings                   `{env}` names that do not look like a secret's (accepted, warned)
  shell payloads             whether a payload's marker file ever appeared

Usage (from the repository root): python -m benchmarks.hostile [--limit N] [--only TEXT]
Timings never go in tests; this prints them.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import UPSTREAM
from tests.helpers.hostile import MARKER, STARTER_ENV, Variant, plant, variants

from kfops.cli import main

TIMEOUT = 60.0
ADDRESS_SPACE = 4 << 30
ROWS = (  # (row of the table, words of a variant's name that place it there)
    ("YAML alias bombs (and aliases within the budget)", ("alias", "anchors")),
    ("nesting 100-10,000 deep", ("nesting",)),
    ("tags, merge keys, other YAML damage", ("tag ", "merge", "duplicate", "document",
                                             "YAML 1.1", "mapping", "truncated", "tab ",
                                             "UTF-8", "NUL", "2 MB file", "non-string",
                                             "empty file", "scalar")),
    ("secret and source paths (/dev, /proc, outside, links, FIFOs)", ("{file", "source:",
                                                                       "remoteCache:",
                                                                       "crds:")),
    ("{env} and {generate}", ("{env", "{generate")),
    ("Azure names (aks script)", ("spec.azure.",)),
    ("Dex users: names, e-mails, bcrypt cost", ("auth.users",)),
    ("names, addresses, quotas, numbers the cluster refuses", ("metallb.addresses", "quota",
                                                               "spec.", "metadata.")),
    ("annotations over the API server's limit", ("annotation",)),
    ("allowances", ("allowedPaths",)),
)


@dataclass
class Run:
    variant: Variant
    command: str
    code: int | None
    """None: no answer within the limit."""
    seconds: float
    rss_mb: float
    traceback: bool
    warned: bool
    wrote: bool


def row_of(variant: Variant) -> str:
    name = variant.name.split(": ", 1)[1]
    for row, words in ROWS:
        if any(word in name for word in words):
            return row
    return "other"


def run(variant: Variant, folder: Path, command: str) -> Run:
    """One command in a forked child: its exit code, time, peak RSS and stderr."""
    argv = [command, "-f", str(folder / "platform.yaml")]
    argv += ["--offline"] if command == "render" else []
    before = sorted(p.name for p in folder.iterdir())
    err_file = folder.parent / f"{folder.name}.{command}.err"
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run kfops, report any escaping exception as a traceback
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        os.chdir(folder)
        with err_file.open("w") as err_out, open(os.devnull, "w") as null:  # noqa: PTH123
            os.dup2(null.fileno(), 1)
            os.dup2(err_out.fileno(), 2)
            exit_code = 99
            try:
                exit_code = main(argv)
            except BaseException:
                traceback.print_exc()
            sys.stderr.flush()
        os._exit(exit_code)
    code, usage = wait(pid)
    seconds = time.perf_counter() - started
    err = err_file.read_text(errors="replace")
    after = sorted(p.name for p in folder.iterdir())
    return Run(variant, command, code, seconds, usage.ru_maxrss / 1024 if usage else 0.0,
               "Traceback (most recent call last)" in err, "does not look like a secret" in err,
               after != before)


def wait(pid: int) -> tuple[int | None, resource.struct_rusage | None]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return (os.waitstatus_to_exitcode(status), usage)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, _, usage = os.wait4(pid, 0)
            return None, usage
        time.sleep(0.01)


def baseline_mb() -> float:
    """Peak RSS of a child that does nothing: the interpreter with kfops imported."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _, _, usage = os.wait4(pid, 0)
    return usage.ru_maxrss / 1024


def report(runs: list[Run], baseline: float, markers: int) -> None:
    by_row: dict[str, list[Run]] = collections.defaultdict(list)
    for item in runs:
        by_row[row_of(item.variant)].append(item)
    print(f"{'row':<62} {'files':>5} {'runs':>5} {'exit 2/0/1':>11} {'tb':>3} {'hang':>4} "
          f"{'slowest refusal':>15} {'peak RSS':>9}")
    for row, items in sorted(by_row.items(), key=lambda kv: [r for r, _ in ROWS].index(kv[0])
                             if kv[0] in dict(ROWS) else 99):
        codes = collections.Counter(i.code for i in items)
        refusals = [i.seconds for i in items if i.code == 2]
        print(f"{row:<62} {len({id(i.variant) for i in items}):>5} {len(items):>5} "
              f"{codes[2]:>4}/{codes[0]}/{codes[1]:<4} {sum(i.traceback for i in items):>3} "
              f"{codes[None]:>4} {max(refusals, default=0):>14.2f}s "
              f"{max(i.rss_mb for i in items):>7.0f}MB")
    codes = collections.Counter(i.code for i in runs)
    # Files only a render can refuse (a folder that is not a release) pay for the render.
    refusals = sorted(i.seconds for i in runs if i.code == 2 and i.variant.stage == "load")
    other = len(runs) - codes[2] - codes[0] - codes[1]
    print(f"\nfiles {len({id(i.variant) for i in runs})}, runs {len(runs)}: exit 2 {codes[2]}, "
          f"exit 0 {codes[0]}, exit 1 {codes[1]}, other {other}")
    print(f"tracebacks {sum(i.traceback for i in runs)}, hangs (>{TIMEOUT:.0f}s) {codes[None]}")
    if refusals:
        print(f"refusals by loading the file: {len(refusals)}, median "
              f"{refusals[len(refusals) // 2]:.2f}s, slowest {refusals[-1]:.2f}s, over 1 s "
              f"{sum(s > 1 for s in refusals)}, over 2 s {sum(s > 2 for s in refusals)}")
    slowest = sorted((i for i in runs if i.code == 2 and i.variant.stage == "load"),
                     key=lambda i: -i.seconds)
    for item in slowest[:5]:
        print(f"  {item.seconds:5.2f}s {item.command}: {item.variant.name[:90]}")
    late = [i for i in runs if i.variant.stage == "render"]
    print(f"refusals only a render can make: {sum(i.code == 2 for i in late)} of {len(late)} "
          f"runs, slowest {max((i.seconds for i in late), default=0):.1f}s")
    refused_rss = [i.rss_mb for i in runs if i.code == 2]
    print(f"peak RSS: baseline {baseline:.0f} MB, refusals at most "
          f"{max(refused_rss, default=0):.0f} MB, any run {max(i.rss_mb for i in runs):.0f} MB")
    wrote = [i for i in runs if i.wrote and (i.command == "validate" or i.code != 0)]
    print(f"refused or validated files that left something beside them: {len(wrote)}")
    for item in wrote:
        print(f"  {item.command}: {item.variant.name[:100]}")
    print(f"shell payload markers created: {markers}")
    warned = [i for i in runs if i.variant.expect == "warn"]
    print(f"warned (accepted with a warning): {sum(i.warned and i.code == 0 for i in warned)} "
          f"of {len(warned)} runs")
    bad = [i for i in runs if i.code == 0 and i.variant.expect == "refuse"]
    print(f"accepted but bad: {len(bad)}")
    for item in bad:
        print(f"  {item.command}: {item.variant.name[:100]}")
    wrongly = [i for i in runs if i.code == 2 and not i.variant.bad]
    print(f"valid files refused: {len(wrongly)}")
    for item in wrongly:
        print(f"  {item.command}: {item.variant.name[:100]}")


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=0, help="Run only the first N variants.")
    parser.add_argument("--only", default="", help="Run only variants whose name has TEXT.")
    args = parser.parse_args()
    chosen = [v for v in variants() if args.only in v.name]
    chosen = chosen[:args.limit] if args.limit else chosen
    with tempfile.TemporaryDirectory(prefix="kfops-hostile-") as scratch:
        work = Path(scratch)
        os.environ.update(STARTER_ENV)
        os.environ["KFOPS_ALLOWED_PATHS"] = str(UPSTREAM)
        os.environ.setdefault("KFOPS_CACHE_DIR", str(Path(tempfile.gettempdir())
                                                     / "kfops-hostile-cache"))
        os.environ["HOME"] = str(work / "home")
        baseline = baseline_mb()
        runs: list[Run] = []
        markers = 0
        for index, variant in enumerate(chosen):
            folder = work / f"{index:04d}"
            plant(folder, variant)
            for command in ("validate", "render"):
                runs.append(run(variant, folder, command))
            markers += (folder / MARKER).exists()
            if (index + 1) % 50 == 0:
                print(f"{index + 1}/{len(chosen)} files", file=sys.stderr, flush=True)
        report(runs, baseline, markers)


if __name__ == "__main__":
    main_()
