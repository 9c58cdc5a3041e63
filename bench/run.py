#!/usr/bin/env python3
"""Benchmark: ostree-py against the reference ostree, side by side.

For each input tree (bench/trees.py) and each operation, runs the reference
and ostree-py alternately (ref, ours, ours, ref, ...) N times each, every run a
fresh process on freshly prepared input, and records wall time, CPU time
(user + system) and peak RSS of that process (os.wait4). Prints the medians and
the ratio ostree-py / reference with its target, and writes everything to a
JSON file. The machine may be shared and noisy: the ratio of alternated runs
is what counts, not the absolute times.

Usage: bench/run.py [-n N] [--ops OP,...] [--trees real,many] [--json PATH]
Environment: BENCH_QUICK=1 (small generated trees), BENCH_N, BENCH_CACHE,
BENCH_OURS (the ostree-py executable; default .venv/bin/ostree-py).
"""

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tls  # noqa: E402
import trees  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
# BENCH_OURS: another ostree-py executable to measure (e.g. a frozen copy of a
# revision, so that editing the tree during a long run does not change it)
OURS = os.environ.get("BENCH_OURS") or os.path.join(VENV_BIN, "ostree-py")
REF = shutil.which("ostree", path="/usr/bin:/bin") or "/usr/bin/ostree"

# Targets: the ratio ostree-py / reference of the medians must be at most this.
TARGETS = {
    "commit-bare-user": 1.0, "commit-archive": 0.6,
    "checkout-bare-user": 1.0, "checkout-archive": 1.0, "checkout-user": 1.0,
    "fsck-bare-user": 1.0, "fsck-archive": 1.0,
    "pull-http": 1.0, "pull-http2": 1.0, "upgrade": 1.0, "startup": 1.3,
}
# The 100,000-file tree may need at most this times the memory of the real one.
MEMORY_FLAT = 2.0

ENV = dict(os.environ, LC_ALL="C.UTF-8", OSTREE_SYSROOT_DEBUG="mutable-deployments")
ENV.pop("OSTREE_REPO", None)


class Failed(Exception):
    pass


def run_untimed(argv, log):
    with open(log, "ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, env=ENV)
    if rc != 0:
        raise Failed(f"{' '.join(argv)}: rc={rc} (log: {log})")


class Spawner:
    """bench/spawn.py, started while this process is small: it runs the timed commands."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench", "spawn.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, argv, log):
        """(wall s, cpu s, peak RSS KiB, user s, sys s) of one process running argv."""
        with open(log, "ab") as out:
            out.write(("$ " + " ".join(argv) + "\n").encode())
        self.proc.stdin.write(json.dumps({"argv": argv, "log": log, "env": ENV}) + "\n")
        self.proc.stdin.flush()
        res = json.loads(self.proc.stdout.readline())
        if res["rc"] != 0:
            raise Failed(f"{' '.join(argv)}: rc={res['rc']} (log: {log})")
        return res["wall"], res["cpu"], res["maxrss"], res["user"], res["sys"]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait()


SPAWNER = None


def run_timed(argv, log):
    return SPAWNER.run(argv, log)


def fresh(path):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            subprocess.call(["rm", "-rf", "--one-file-system", path])
        else:
            os.unlink(path)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx serving `root` on free local ports, in the foreground of a child process:
    HTTP/1.1 on one, HTTPS with HTTP/2 on the other (certificate from bench/tls.py)."""

    def __init__(self, root, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.port, self.tls_port = free_port(), free_port()
        self.ca, cert, key = tls.make_test_ca(os.path.join(workdir, "tls"))
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    sendfile on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
{tls.h2_server_block(self.tls_port, root, cert, key)}}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", workdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in (self.port, self.tls_port):
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise Failed("nginx did not start")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path}"

    def tls_url(self, path):
        return f"https://127.0.0.1:{self.tls_port}/{path}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()


class Bench:
    """The fixtures of one tree and the operations on it."""

    def __init__(self, name, tree, work, log):
        self.name, self.tree, self.work, self.log = name, tree, work, log
        self.fixtures = {}

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def ref(self, *args):
        run_untimed([REF, *args], self.log)

    def init(self, repo, mode):
        fresh(repo)
        self.ref("init", f"--repo={repo}", f"--mode={mode}")
        return repo

    def fixture_repo(self, mode):
        """A repository of `mode` holding the tree as `main`, written by the reference."""
        if mode not in self.fixtures:
            repo = self.init(self.path(f"fixture-{mode}"), mode)
            self.ref(f"--repo={repo}", "commit", "-b", "main", "--timestamp=@1",
                     "--subject=bench", f"--tree=dir={self.tree}")
            self.fixtures[mode] = repo
        return self.fixtures[mode]

    def delta_fixture(self):
        """The archive fixture with a second commit `v2` (a few hundred files changed) and a
        static delta main -> v2 written by the reference to a file, for apply-offline."""
        if "delta" not in self.fixtures:
            repo = self.fixture_repo("archive")
            overlay = trees.overlay_tree(self.tree, self.path("overlay"))
            self.ref(f"--repo={repo}", "commit", "-b", "v2", "--timestamp=@2", "--subject=v2",
                     "--tree=ref=main", f"--tree=dir={overlay}")
            # a directory of its own: the parts of a large delta are written next
            # to the superblock file, named 0, 1, ...
            d = fresh(self.path("fixture-delta"))
            os.makedirs(d)
            delta = os.path.join(d, "superblock")
            self.ref(f"--repo={repo}", "static-delta", "generate", "--from=main", "--to=v2",
                     f"--filename={delta}")
            self.fixtures["delta"] = delta
        return self.fixtures["delta"]

    # Each operation: prepare(prog) does the untimed setup and returns the argv to time.

    def op_commit(self, mode):
        def prepare(prog):
            repo = self.init(self.path("repo"), mode)
            return [prog, f"--repo={repo}", "commit", "-b", "main", "--timestamp=@1",
                    "--subject=bench", f"--tree=dir={self.tree}"]
        return prepare

    def op_checkout(self, mode):
        def prepare(prog):
            repo = self.fixture_repo(mode)
            return [prog, f"--repo={repo}", "checkout", "main", fresh(self.path("co"))]
        return prepare

    def op_checkout_user(self):
        """checkout -U: user mode, hardlinks out of a bare-user repository."""
        def prepare(prog):
            repo = self.fixture_repo("bare-user")
            return [prog, f"--repo={repo}", "checkout", "-U", "main", fresh(self.path("co"))]
        return prepare

    def op_fsck(self, mode):
        def prepare(prog):
            return [prog, f"--repo={self.fixture_repo(mode)}", "fsck"]
        return prepare

    def op_pull_http(self, h2=False):
        """A pull of the tree from nginx into bare-user: over HTTP/1.1, or (h2) over
        HTTPS, where both tools negotiate HTTP/2 (the remote trusts the bench's CA)."""
        def prepare(prog):
            self.fixture_repo("archive")   # what nginx serves
            repo = self.init(self.path("repo"), "bare-user")
            if h2:
                self.ref(f"--repo={repo}", "remote", "add", "--no-gpg-verify",
                         f"--set=tls-ca-path={self.nginx.ca}", "origin",
                         self.nginx.tls_url("fixture-archive"))
            else:
                self.ref(f"--repo={repo}", "remote", "add", "--no-gpg-verify", "origin",
                         self.nginx.url("fixture-archive"))
            return [prog, f"--repo={repo}", "pull", "origin", "main"]
        return prepare

    def op_delta_generate(self):
        def prepare(prog):
            repo = self.fixture_repo("archive")
            self.delta_fixture()
            d = fresh(self.path("delta"))
            os.makedirs(d)
            return [prog, f"--repo={repo}", "static-delta", "generate", "--from=main", "--to=v2",
                    f"--filename={os.path.join(d, 'superblock')}"]
        return prepare

    def op_delta_apply(self):
        def prepare(prog):
            delta = self.delta_fixture()
            repo = self.init(self.path("repo"), "bare-user")
            self.ref(f"--repo={repo}", "pull-local", self.fixture_repo("archive"), "main")
            return [prog, f"--repo={repo}", "static-delta", "apply-offline", delta]
        return prepare

    def op_deploy(self):
        def prepare(prog):
            sysroot = fresh(self.path("sysroot"))
            os.makedirs(sysroot)
            self.ref("admin", "init-fs", sysroot)
            self.ref("admin", "os-init", f"--sysroot={sysroot}", "bench")
            repo = os.path.join(sysroot, "ostree", "repo")
            self.ref(f"--repo={repo}", "pull-local", self.fixture_repo("archive"), "main")
            return [prog, "admin", "deploy", f"--sysroot={sysroot}", "--os=bench", "main"]
        return prepare

    def upgrade_fixture(self):
        """An archive repo served by nginx holding the tree (`main`) and its v2 commit, and
        the refs file of its branch `os`, which each run points at one or the other."""
        if "upgrade" not in self.fixtures:
            self.delta_fixture()   # v2 in the archive fixture
            repo = self.init(self.path("fixture-upgrade"), "archive")
            self.ref(f"--repo={repo}", "pull-local", self.fixture_repo("archive"), "main", "v2")
            # commits of their own, bound to `os` (a pull checks the binding): v2 the child of v1
            rev = []
            for i, tree in enumerate(("main", "v2"), 1):
                self.ref(f"--repo={repo}", "commit", "-b", "os", f"--timestamp=@{i}", f"--subject=os v{i}",
                         f"--tree=ref={tree}")
                with open(os.path.join(repo, "refs", "heads", "os")) as f:
                    rev.append(f.read().strip())
            self.fixtures["upgrade"] = (repo, *rev)
        return self.fixtures["upgrade"]

    def op_upgrade(self):
        """admin upgrade end to end: a sysroot deployed (by the reference) from `origin:os`
        at the tree's commit, with a changed /etc; the served `os` then moves to v2, and the
        timed command pulls it, checks it out, merges /etc and writes the boot entries."""
        def prepare(prog):
            served, v1, v2 = self.upgrade_fixture()
            head = os.path.join(served, "refs", "heads", "os")
            with open(head, "w") as f:
                f.write(v1 + "\n")
            sysroot = fresh(self.path("sysroot"))
            os.makedirs(sysroot)
            self.ref("admin", "init-fs", sysroot)
            self.ref("admin", "os-init", f"--sysroot={sysroot}", "bench")
            repo = os.path.join(sysroot, "ostree", "repo")
            self.ref(f"--repo={repo}", "remote", "add", "--no-gpg-verify", "origin",
                     self.nginx.url("fixture-upgrade"))
            self.ref(f"--repo={repo}", "pull-local", self.fixture_repo("archive"), "main")
            self.ref(f"--repo={repo}", "pull", "origin", "os")
            self.ref("admin", "deploy", f"--sysroot={sysroot}", "--os=bench", "origin:os")
            deploy = os.path.join(sysroot, "ostree", "deploy", "bench", "deploy")
            etc = os.path.join(deploy, next(n for n in os.listdir(deploy) if not n.endswith(".origin")),
                               "etc")
            with open(os.path.join(etc, "bench-local.conf"), "w") as f:
                f.write("changed locally\n")
            with open(head, "w") as f:
                f.write(v2 + "\n")
            return [prog, "admin", "upgrade", f"--sysroot={sysroot}", "--os=bench"]
        return prepare

    def operations(self):
        ops = [("commit-bare-user", self.op_commit("bare-user")),
               ("commit-archive", self.op_commit("archive")),
               ("checkout-bare-user", self.op_checkout("bare-user")),
               ("checkout-archive", self.op_checkout("archive")),
               ("checkout-user", self.op_checkout_user()),
               ("fsck-bare-user", self.op_fsck("bare-user")),
               ("fsck-archive", self.op_fsck("archive"))]
        if self.name == "real":
            ops += [("pull-http", self.op_pull_http()),
                    ("pull-http2", self.op_pull_http(h2=True)),
                    ("delta-generate", self.op_delta_generate()),
                    ("delta-apply", self.op_delta_apply()),
                    ("deploy", self.op_deploy()),
                    ("upgrade", self.op_upgrade())]
        return ops


def measure(prepare_ours, prepare_ref, n, log):
    """Alternates ref/ours (the order flips each round) n times each."""
    res = {"ours": [], "ref": []}
    for i in range(n):
        order = [("ref", prepare_ref), ("ours", prepare_ours)]
        if i % 2:
            order.reverse()
        for side, prepare in order:
            argv = prepare()
            res[side].append(run_timed(argv, log))
    return res


def summarize(samples):
    wall, cpu, rss, user, sys_ = zip(*samples)
    return {"wall": list(wall), "cpu": list(cpu), "maxrss_kib": list(rss),
            "user": list(user), "sys": list(sys_),
            "median": statistics.median(wall), "cpu_median": statistics.median(cpu),
            "user_median": statistics.median(user), "sys_median": statistics.median(sys_),
            "peak_rss_kib": max(rss)}


def startup(work, n, log):
    """ostree-py rev-parse against `python -c "import typer"` in the same venv."""
    repo = os.path.join(work, "startup-repo")
    fresh(repo)
    run_untimed([REF, "init", f"--repo={repo}", "--mode=archive"], log)
    tree = os.path.join(work, "startup-tree")
    fresh(tree)
    os.makedirs(tree)
    with open(os.path.join(tree, "f"), "w") as f:
        f.write("x\n")
    run_untimed([REF, f"--repo={repo}", "commit", "-b", "main", f"--tree=dir={tree}"], log)
    python = os.path.join(VENV_BIN, "python")
    res = measure(lambda: [OURS, f"--repo={repo}", "rev-parse", "main"],
                  lambda: [python, "-c", "import typer"], n, log)
    refres = measure(lambda: [REF, f"--repo={repo}", "rev-parse", "main"],
                     lambda: [REF, f"--repo={repo}", "rev-parse", "main"], max(3, n // 4), log)
    # the command listing: the table's summaries, no command module imported
    helpres = measure(lambda: [OURS, "--help"], lambda: [python, "-c", "import typer"], max(3, n // 2), log)
    return res, refres, helpres, importtime(repo)


def importtime(repo, top=12):
    """``python -X importtime`` of one rev-parse: the modules that cost most (cumulative
    microseconds, top-level imports only), to see what start-up pays for."""
    p = subprocess.run([os.path.join(VENV_BIN, "python"), "-X", "importtime", "-m", "ostree_py.commands",
                        f"--repo={repo}", "rev-parse", "main"], env=ENV, capture_output=True, text=True)
    rows = []
    for line in p.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            rows.append((int(parts[1]), parts[2].strip()))
    return [{"module": m, "cumulative_us": us} for us, m in sorted(rows, reverse=True)[:top]]


PYSPY = os.path.join(VENV_BIN, "py-spy")
PROFILE_RATE = 200


def profile(argv, work):
    """One run of ostree-py's ``argv`` under ``py-spy record --gil --subprocesses``: what
    held the GIL, in the process and in the worker processes it forks (where pull
    fetches and writes content objects).

    Returns wall time, the seconds the GIL was held (samples / rate), and the
    functions where those samples fell: by self time (the function on top)
    and by inclusive time (ostree-py's own functions anywhere on the stack).
    """
    raw = os.path.join(work, "profile.raw")
    t = time.perf_counter()
    p = subprocess.run([PYSPY, "record", "--gil", "--subprocesses", "--nonblocking", "-r", str(PROFILE_RATE), "-f", "raw",
                        "-o", raw, "--", *argv], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0 or not os.path.exists(raw):
        raise Failed(f"py-spy: rc={p.returncode}: {p.stderr.decode(errors='replace')[-300:]}")
    own, incl, total = {}, {}, 0
    with open(raw) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not n.isdigit():
                continue
            n = int(n)
            total += n
            frames = [fr.rsplit(":", 1)[0] + ")" if ":" in fr else fr for fr in stack.split(";")]
            own[frames[-1]] = own.get(frames[-1], 0) + n
            for fr in set(frames):
                if "ostree_py/" in fr and "ostree_py/__main__" not in fr:
                    incl[fr] = incl.get(fr, 0) + n
    os.unlink(raw)

    def top(d):
        return [[name.replace(ROOT + "/", ""), n / max(total, 1)]
                for name, n in sorted(d.items(), key=lambda kv: -kv[1])[:8]]
    return {"wall": wall, "gil_seconds": total / PROFILE_RATE, "self": top(own), "inclusive": top(incl)}


def print_profile(tname, opname, o):
    pr = o["profile"]
    ours = o["ours"]
    print(f"\n{tname} {opname}: ratio {o['ratio']:.2f} > target {o['target']:.1f}. "
          f"ostree-py median {ours['median']:.2f}s wall = user {ours['user_median']:.2f}s + "
          f"sys {ours['sys_median']:.2f}s CPU (reference: {o['ref']['median']:.2f}s wall, "
          f"user {o['ref']['user_median']:.2f}s + sys {o['ref']['sys_median']:.2f}s).")
    print(f"  py-spy --gil --subprocesses: GILs were held {pr['gil_seconds']:.2f}s (summed over the "
          f"processes) of a {pr['wall']:.2f}s profiled run ({pr['gil_seconds'] / pr['wall'] * 100:.0f}% of "
          f"wall time); where (self):")
    for name, share in pr["self"]:
        print(f"    {share * 100:5.1f}%  {name}")
    print("  ostree-py functions on the stack (inclusive):")
    for name, share in pr["inclusive"]:
        print(f"    {share * 100:5.1f}%  {name}")


def save(path, results):
    with open(path + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".tmp", path)


def fmt_rss(kib):
    return f"{kib / 1024:.0f}M"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "3")),
                    help="runs of each implementation per operation (default 3, or BENCH_N)")
    ap.add_argument("--ops", help="comma-separated operations (default all; see the table)")
    ap.add_argument("--trees", default="real,many", help="trees to use (default real,many)")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results.json"),
                    help="where to write the results (default bench/results.json)")
    ap.add_argument("--startup-runs", type=int, default=20)
    ap.add_argument("--no-profile", action="store_true",
                    help="do not profile (py-spy) the operations that miss their target")
    ap.add_argument("--keep-work", action="store_true",
                    help="keep the work directory (repos, command log) in the cache")
    args = ap.parse_args()
    global SPAWNER
    SPAWNER = Spawner()
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    cache = os.environ.get("BENCH_CACHE", os.path.join(ROOT, "bench", ".cache"))
    if not os.access(OURS, os.X_OK):
        sys.exit(f"error: {OURS} missing: run make install")
    wanted_ops = set(args.ops.split(",")) if args.ops else None
    wanted_trees = args.trees.split(",")

    # Byte-compile ostree-py first: with PYTHONDONTWRITEBYTECODE set (as on some
    # machines) or sources newer than their .pyc, every timed run would compile them.
    subprocess.run([os.path.join(VENV_BIN, "python"), "-m", "compileall", "-q",
                    os.path.join(ROOT, "ostree_py"), os.path.join(ROOT, "commands")], check=True)
    # a directory of its own: runs may overlap (e.g. a quick check during a long run)
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work-", dir=cache)
    log = os.path.join(work, "commands.log")
    results = {"quick": quick, "runs": args.n, "cpus": os.cpu_count(),
               "python": platform.python_version(),
               "reference": subprocess.run([REF, "--version"], capture_output=True,
                                           text=True).stdout.split("\n")[1].strip(),
               "trees": {}, "ops": [], "startup": None, "memory_flat": {}}
    rows = []

    if wanted_ops is None or "startup" in wanted_ops:
        res, refres, helpres, imports = startup(work, args.startup_runs, log)
        ours, typer = summarize(res["ours"]), summarize(res["ref"])
        ref_rev = summarize(refres["ref"] + refres["ours"])
        helped = summarize(helpres["ours"])
        ratio = ours["median"] / typer["median"]
        cpu_ratio = ours["cpu_median"] / typer["cpu_median"]
        results["startup"] = {"ours": ours, "import_typer": typer, "reference": ref_rev,
                              "ratio": ratio, "cpu_ratio": cpu_ratio, "target": TARGETS["startup"],
                              "help": helped, "help_ratio": helped["median"] / typer["median"],
                              "importtime": imports}
        rows.append(("-", "startup (vs import typer)", ours, typer, ratio, TARGETS["startup"]))
        print(f"startup: ostree-py rev-parse {ours['median'] * 1000:.0f} ms (cpu {ours['cpu_median'] * 1000:.0f}), "
              f"python -c 'import typer' {typer['median'] * 1000:.0f} ms (cpu {typer['cpu_median'] * 1000:.0f}), "
              f"ratio {ratio:.2f} (cpu {cpu_ratio:.2f}); ostree-py --help {helped['median'] * 1000:.0f} ms; "
              f"reference rev-parse {ref_rev['median'] * 1000:.1f} ms", flush=True)

    for tname, tpath in trees.get_trees(cache, quick):
        if tname not in wanted_trees:
            continue
        nfiles, size = trees.tree_stats(tpath)
        results["trees"][tname] = {"files": nfiles, "bytes": size}
        print(f"tree {tname}: {nfiles} files, {size / 1e6:.0f} MB", flush=True)
        tw = os.path.join(work, tname)
        os.makedirs(tw)
        b = Bench(tname, tpath, tw, log)
        b.nginx = Nginx(tw, os.path.join(tw, "nginx"))
        try:
            for opname, prep in b.operations():
                if wanted_ops is not None and opname not in wanted_ops:
                    continue
                try:
                    res = measure(lambda: prep(OURS), lambda: prep(REF), args.n, log)
                except Failed as e:
                    print(f"  {opname}: FAILED: {e}", flush=True)
                    results["ops"].append({"tree": tname, "op": opname, "error": str(e)})
                    continue
                ours, ref = summarize(res["ours"]), summarize(res["ref"])
                ratio = ours["median"] / ref["median"]
                target = TARGETS.get(opname)
                results["ops"].append({"tree": tname, "op": opname, "ours": ours, "ref": ref,
                                       "ratio": ratio, "cpu_ratio": ours["cpu_median"] / ref["cpu_median"],
                                       "target": target,
                                       "met": None if target is None else ratio <= target})
                rows.append((tname, opname, ours, ref, ratio, target))
                if target is not None and ratio > target and not args.no_profile \
                        and os.access(PYSPY, os.X_OK):
                    try:
                        results["ops"][-1]["profile"] = profile(prep(OURS), tw)
                    except Failed as e:
                        print(f"  {opname}: profile failed: {e}", flush=True)
                save(args.json, results)   # a long run cut short keeps what it measured
                print(f"  {opname:<20} ours {ours['median']:7.2f}s  ref {ref['median']:7.2f}s  "
                      f"ratio {ratio:5.2f}  (cpu {ours['cpu_median']:.2f}/{ref['cpu_median']:.2f})  "
                      f"rss {fmt_rss(ours['peak_rss_kib'])}/{fmt_rss(ref['peak_rss_kib'])}", flush=True)
        finally:
            b.nginx.stop()
        if not args.keep_work:
            fresh(tw)

    # Memory: ours on the many-file tree against ours on the real tree, per operation.
    by = {(o["tree"], o["op"]): o for o in results["ops"] if "ours" in o}
    for (tname, opname), o in by.items():
        if tname == "many" and ("real", opname) in by:
            small = by[("real", opname)]["ours"]["peak_rss_kib"]
            big = o["ours"]["peak_rss_kib"]
            results["memory_flat"][opname] = {"real_kib": small, "many_kib": big,
                                              "ratio": big / small, "met": big / small <= MEMORY_FLAT}

    print()
    print(f"{'tree':<5} {'operation':<26} {'ostree-py':>9} {'reference':>9} {'ratio':>6} {'target':>6}  "
          f"{'met':<4} {'cpu ratio':>9} {'peak RSS ours/ref':>18}")
    for tname, opname, ours, ref, ratio, target in rows:
        met = "" if target is None else ("yes" if ratio <= target else "NO")
        print(f"{tname:<5} {opname:<26} {ours['median']:8.3f}s {ref['median']:8.3f}s {ratio:6.2f} "
              f"{'' if target is None else f'{target:.1f}':>6}  {met:<4} "
              f"{ours['cpu_median'] / ref['cpu_median']:9.2f} "
              f"{fmt_rss(ours['peak_rss_kib']) + ' / ' + fmt_rss(ref['peak_rss_kib']):>18}")
    if results["memory_flat"]:
        print(f"\nmemory of ostree-py, {results['trees'].get('many', {}).get('files')} files vs "
              f"{results['trees'].get('real', {}).get('files')} files (target <= {MEMORY_FLAT}x):")
        for opname, m in results["memory_flat"].items():
            print(f"  {opname:<20} {fmt_rss(m['many_kib']):>6} / {fmt_rss(m['real_kib']):>6} = "
                  f"{m['ratio']:.2f}x  {'yes' if m['met'] else 'NO'}")
    for o in results["ops"]:
        if "profile" in o:
            print_profile(o["tree"], o["op"], o)
    print(f"\n{args.n} runs each, alternating; medians of wall time; {os.cpu_count()} CPUs. "
          f"Results in {args.json}")
    save(args.json, results)
    SPAWNER.stop()
    if not args.keep_work:
        fresh(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
