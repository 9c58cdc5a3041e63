#!/usr/bin/env python3
"""Startup benchmark: ostree-py against the reference ostree.

Times whole processes, as a user or a script sees them, on a small repo made
with the reference: ``--version`` (interpreter and framework only) and
``rev-parse`` (plus opening a repo and resolving a ref). Prints the minimum
and median wall time of N runs of each. Usage: bench/run.py [-n N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = [os.path.join(ROOT, ".venv", "bin", "ostree-py")]
REFERENCE = [shutil.which("ostree") or "/usr/bin/ostree"]


def timed(argv, n):
    """Wall times of n runs of argv (each must succeed)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times


def small_repo(tmp):
    repo, tree = os.path.join(tmp, "repo"), os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "usr", "bin"))
    for i in range(20):
        with open(os.path.join(tree, "usr", "bin", f"f{i}"), "w") as f:
            f.write(f"file {i}\n" * (i + 1))
    subprocess.run(REFERENCE + ["init", f"--repo={repo}", "--mode=archive"], check=True)
    subprocess.run(REFERENCE + [f"--repo={repo}", "commit", "-b", "main", "-s", "bench",
                                f"--tree=dir={tree}"], check=True, stdout=subprocess.DEVNULL)
    return repo


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20, help="runs per measurement (default 20)")
    n = ap.parse_args().n
    if not os.access(OURS[0], os.X_OK):
        sys.exit("error: .venv/bin/ostree-py missing: run make install")
    with tempfile.TemporaryDirectory() as tmp:
        repo = small_repo(tmp)
        cases = [("--version", ["--version"]),
                 ("rev-parse main", [f"--repo={repo}", "rev-parse", "main"])]
        print(f"{'command':<16} {'impl':<10} {'min ms':>8} {'median ms':>10}   ({n} runs, {os.cpu_count()} CPUs)")
        for label, args in cases:
            for name, prog in (("reference", REFERENCE), ("ostree-py", OURS)):
                try:
                    t = timed(prog + args, n)
                except subprocess.CalledProcessError:
                    print(f"{label:<16} {name:<10} {'failed (not implemented?)':>20}")
                    continue
                print(f"{label:<16} {name:<10} {min(t) * 1000:8.1f} {statistics.median(t) * 1000:10.1f}")


if __name__ == "__main__":
    main()
