#!/usr/bin/env python3
"""Commit benchmark: ostree-py against the reference ostree.

Commits a generated tree (many small files in nested directories plus a few
large ones) into a fresh repository of each mode, then commits it again (every
object already present), and prints wall time and CPU time (user + system of
the process) for both implementations. Run on an idle machine; on a loaded
one compare the CPU columns. Usage: bench/commit.py [-n FILES] [--modes M,M]
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = [os.path.join(ROOT, ".venv", "bin", "python"), "-m", "ostree_py.commands"]
REFERENCE = [shutil.which("ostree") or "/usr/bin/ostree"]


def make_tree(path: str, nfiles: int) -> None:
    per_dir = 100
    for i in range(nfiles):
        d = os.path.join(path, f"d{i // (per_dir * 10)}", f"e{(i // per_dir) % 10}")
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}"), "w") as f:
            f.write(f"file {i}\n" * (i % 50 + 1))
    for i in range(4):
        with open(os.path.join(path, f"big{i}"), "wb") as f:
            f.write(os.urandom(4 * 1024 * 1024))


def run(argv):
    """(wall seconds, cpu seconds) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5000, help="number of small files (default 5000)")
    ap.add_argument("--modes", default="bare,bare-user,archive")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "tree")
        make_tree(tree, args.n)
        print(f"{args.n} small files + 16 MiB, {os.cpu_count()} CPUs; seconds (wall / cpu)")
        print(f"{'mode':<16} {'impl':<10} {'first commit':>16} {'again':>16}")
        for mode in args.modes.split(","):
            for name, prog in (("reference", REFERENCE), ("ostree-py", OURS)):
                repo = os.path.join(tmp, f"repo-{mode}-{name}")
                subprocess.run(REFERENCE + ["init", f"--repo={repo}", f"--mode={mode}"], check=True)
                cmd = prog + [f"--repo={repo}", "commit", "-b", "main", f"--tree=dir={tree}"]
                first = run(cmd + ["--timestamp=@1"])
                again = run(cmd + ["--timestamp=@2"])
                print(f"{mode:<16} {name:<10} {first[0]:7.2f} / {first[1]:6.2f} {again[0]:7.2f} / {again[1]:6.2f}")
                shutil.rmtree(repo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
