"""Helpers for the reliability tests: run ostree-py (optionally killed at a
fault-injection checkpoint or after a delay), build trees and sysroots, and
check that a repository or sysroot is consistent with the reference ``ostree``.

Kill points: ``ostree_py.util.faults.checkpoint`` SIGKILLs the process at the Nth
hit when ``OSTREE_PY_KILL_AT=NAME:N`` is set. A test first runs the command
with ``OSTREE_PY_CHECKPOINT_LOG`` to learn how many checkpoints it passes,
then picks a few of them (all with ``OSTREE_PY_RELIABILITY_EXHAUSTIVE=1``).
"""

import base64
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

# Signing keys of the signature tests: the upstream suite's GPG home and its two
# keys, and ed25519 keys.
GPGHOME = "/usr/libexec/installed-tests/libostree/gpghome"
KEYID_1 = "7FCA23D8472CDAFA"
KEYID_2 = "D8228CFECA950D41"
# RFC 8032 test vectors 1 and 2 (seed + public key)
SEED1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PK1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
SEED2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
PK2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
SK1 = base64.b64encode(SEED1 + PK1).decode()
SK2 = base64.b64encode(SEED2 + PK2).decode()
PUB1 = base64.b64encode(PK1).decode()

REFERENCE = "/usr/bin/ostree"
EXHAUSTIVE = os.environ.get("OSTREE_PY_RELIABILITY_EXHAUSTIVE") == "1"
# sampled kill points per checkpoint kind (when not exhaustive)
SAMPLES = int(os.environ.get("OSTREE_PY_RELIABILITY_SAMPLES", "2"))
SIGKILL_RC = -signal.SIGKILL

BASE_ENV = {
    "OSTREE_SYSROOT_DEBUG": "mutable-deployments",
    # no syncfs per transaction: killing a process does not lose the page cache
    "OSTREE_SUPPRESS_SYNCFS": "1",
    "LANG": "C.UTF-8",
}


def ostree_py_argv() -> list:
    return [sys.executable, "-m", "ostree_py.commands"]


def _env(extra=None) -> dict:
    env = dict(os.environ)
    for k in ("OSTREE_PY_KILL_AT", "OSTREE_PY_CHECKPOINT_LOG", "OSTREE_PY_DEBUG", "OSTREE_SYSROOT",
              "OSTREE_REPO"):
        env.pop(k, None)
    env.update(BASE_ENV)
    env.update(extra or {})
    return env


class Run:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"Run(rc={self.rc}, out={self.out[-400:]!r}, err={self.err[-800:]!r})"


def run(args, env=None, timeout=120, cwd=None) -> Run:
    """Run ostree-py with ``args``; return (rc, stdout, stderr)."""
    p = subprocess.run(ostree_py_argv() + list(args), capture_output=True, env=_env(env),
                       timeout=timeout, cwd=cwd, check=False)
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def ok(args, env=None, **kw) -> Run:
    r = run(args, env, **kw)
    assert r.rc == 0, (args, r)
    assert "Traceback" not in r.err, r
    return r


def ref_run(args, timeout=120) -> Run:
    """Run the reference ostree."""
    p = subprocess.run([REFERENCE] + list(args), capture_output=True, timeout=timeout, check=False,
                       env=_env())
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def count_checkpoints(args, tmp_path, env=None) -> dict:
    """Run ``args`` to completion with a checkpoint log; return {name: hits}."""
    log = os.path.join(str(tmp_path), f"checkpoints-{os.urandom(4).hex()}.log")
    ok(args, dict(env or {}, OSTREE_PY_CHECKPOINT_LOG=log))
    counts: dict = {}
    try:
        with open(log) as f:
            for line in f:
                counts[line.strip()] = counts.get(line.strip(), 0) + 1
    except FileNotFoundError:
        pass
    return counts


def kill_points(counts: dict, kinds=None, seed: int = 0, every=(), samples: int | None = None) -> list:
    """(name, n) pairs to kill at: every point when exhaustive (or of the kinds in
    ``every``), else ``samples`` (default SAMPLES) hits of each kind: the last
    one and random others (deterministic for ``seed`` and OSTREE_PY_RELIABILITY_SEED)."""
    rnd = random.Random(f"{seed}-{os.environ.get('OSTREE_PY_RELIABILITY_SEED', '')}")
    samples = SAMPLES if samples is None else samples
    out = []
    for name in sorted(counts):
        if kinds is not None and name not in kinds:
            continue
        n = counts[name]
        if EXHAUSTIVE or n <= samples or name in every:
            picks = range(1, n + 1)
        elif samples == 1:
            picks = [rnd.randrange(1, n + 1)]
        else:
            picks = sorted({n} | set(rnd.sample(range(1, n), min(samples - 1, n - 1))))
        out.extend((name, i) for i in picks)
    return out


def run_killed_at(args, name: str, n: int, env=None) -> Run:
    """Run ``args`` with a SIGKILL at the Nth hit of checkpoint ``name``; it must die there."""
    r = run(args, dict(env or {}, OSTREE_PY_KILL_AT=f"{name}:{n}"))
    assert r.rc == SIGKILL_RC, (f"expected a SIGKILL at {name}:{n}", r)
    return r


def run_killed_after(args, delay: float, env=None) -> int:
    """Start ``args`` and SIGKILL it after ``delay`` seconds (if still running); return its rc."""
    p = subprocess.Popen(ostree_py_argv() + list(args), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=_env(env))
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
    return p.wait(timeout=60)


# ---------------------------------------------------------------- trees

KVER = "6.1.0-test"


def make_os_tree(path: str, version: int, nfiles: int = 40) -> None:
    """A small bootable tree: usr/ with a kernel and initramfs, usr/etc, files per version."""
    os.makedirs(os.path.join(path, "usr/bin"), exist_ok=True)
    os.makedirs(os.path.join(path, f"usr/lib/modules/{KVER}"), exist_ok=True)
    os.makedirs(os.path.join(path, "usr/etc"), exist_ok=True)
    os.makedirs(os.path.join(path, "usr/share/data"), exist_ok=True)
    with open(os.path.join(path, "usr/etc/os-release"), "w") as f:
        f.write(f'NAME="Test OS"\nID=testos\nVERSION_ID={version}\nPRETTY_NAME="Test OS {version}"\n')
    with open(os.path.join(path, "usr/etc/app.conf"), "w") as f:
        f.write(f"version={version}\n")
    # the kernel changes with the version, so each upgrade installs a new one in /boot
    with open(os.path.join(path, f"usr/lib/modules/{KVER}/vmlinuz"), "w") as f:
        f.write(f"kernel for version {version}\n")
    with open(os.path.join(path, f"usr/lib/modules/{KVER}/initramfs.img"), "w") as f:
        f.write(f"initramfs for version {version}\n")
    with open(os.path.join(path, "usr/bin/tool"), "w") as f:
        f.write(f"#!/bin/sh\necho {version}\n")
    os.chmod(os.path.join(path, "usr/bin/tool"), 0o755)
    os.symlink("tool", os.path.join(path, "usr/bin/tool-link"))
    for i in range(nfiles):
        # half the files are shared between versions, half change
        body = f"file {i} " + ("shared" if i % 2 else f"v{version}") + "\n" + "x" * (i * 97)
        with open(os.path.join(path, f"usr/share/data/f{i:03d}"), "w") as f:
            f.write(body)


def make_plain_tree(path: str, seed: int, nfiles: int = 60, size: int = 3000) -> None:
    """A tree of ``nfiles`` files in a few directories, content derived from ``seed``."""
    rnd = random.Random(seed)
    for i in range(nfiles):
        d = os.path.join(path, f"d{i % 5}", f"s{i % 3}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}"), "wb") as f:
            f.write(rnd.randbytes(rnd.randrange(1, size)))


def copy_tree(src: str, dst: str) -> None:
    """cp -a (keeps xattrs, hardlinks, ownership)."""
    subprocess.run(["cp", "-a", src, dst], check=True)


# ---------------------------------------------------------------- consistency checks

def check_repo(repo: str, allow_partial_refs: bool = False) -> dict:
    """The reference's fsck passes and every ref names a complete commit; return the refs."""
    r = ref_run(["fsck", f"--repo={repo}"])
    assert r.rc == 0, ("reference fsck failed", repo, r)
    r = ref_run(["refs", f"--repo={repo}"])
    assert r.rc == 0, r
    refs = _read_refs(repo)
    assert sorted(refs) == sorted(r.out.split()), (refs, r.out)
    for name, csum in refs.items():
        assert os.path.exists(os.path.join(repo, "objects", csum[:2], csum[2:] + ".commit")), \
            f"ref {name} names a missing commit {csum}"
        if not allow_partial_refs:
            assert not os.path.exists(os.path.join(repo, "state", csum + ".commitpartial")), \
                f"ref {name} names a partial commit {csum}"
    return refs


def _read_refs(repo: str) -> dict:
    """{ref (REMOTE:REF for remote refs): checksum} from refs/heads and refs/remotes."""
    out = {}
    for top, fmt in (("heads", "{name}"), ("remotes", "{remote}:{name}")):
        base = os.path.join(repo, "refs", top)
        for root, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for n in files:
                if n.startswith("."):
                    continue
                rel = os.path.relpath(os.path.join(root, n), base)
                with open(os.path.join(root, n)) as f:
                    csum = f.read().strip()
                assert re.fullmatch(r"[0-9a-f]{64}", csum), (rel, csum)
                if top == "remotes":
                    remote, _, name = rel.partition("/")
                    out[f"{remote}:{name}"] = csum
                else:
                    out[rel] = csum
    return out


def boot_entries(sysroot: str) -> list:
    """The current boot entries: list of dicts of the loader/entries/*.conf keys."""
    loader = os.path.join(sysroot, "boot/loader")
    target = os.readlink(loader)
    assert re.fullmatch(r"loader\.[01]", target), target
    entries_dir = os.path.join(sysroot, "boot", target, "entries")
    out = []
    for name in sorted(os.listdir(entries_dir)):
        if not name.endswith(".conf"):
            continue
        kv = {}
        with open(os.path.join(entries_dir, name)) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition(" ")
                kv[k] = v.strip()
        kv["_name"] = name
        out.append(kv)
    return out


def check_sysroot(sysroot: str, osname: str = "testos") -> list:
    """Every current boot entry points at a complete deployment whose kernel and
    initramfs exist; the repo passes fsck. Return the entries' deployment dirs."""
    entries = boot_entries(sysroot)
    assert entries, "no boot entries"
    repo = os.path.join(sysroot, "ostree/repo")
    dirs = []
    for e in entries:
        for key in ("linux", "initrd"):
            assert os.path.isfile(os.path.join(sysroot, "boot", e[key].lstrip("/"))), (key, e)
        m = re.search(r"(?:^| )ostree=(\S+)", e["options"])
        assert m, e
        link = os.path.join(sysroot, m.group(1).lstrip("/"))
        ddir = os.path.realpath(link)
        assert os.path.isdir(ddir), (f"boot entry {e['_name']} names a missing deployment", link)
        name = os.path.basename(ddir)
        csum, _, serial = name.partition(".")
        assert os.path.isfile(ddir + ".origin"), f"deployment {name} has no origin"
        _check_deployment_complete(repo, csum, ddir)
        dirs.append(ddir)
    check_repo(repo, allow_partial_refs=False)
    st = ref_run(["admin", "status", f"--sysroot={sysroot}"])
    assert st.rc == 0, st
    return dirs


def _check_deployment_complete(repo: str, csum: str, ddir: str) -> None:
    """The deployment's /usr holds every path of the commit's /usr; /etc exists."""
    r = ref_run(["ls", f"--repo={repo}", "-R", csum, "/usr"])
    assert r.rc == 0, r
    want = set()
    for line in r.out.splitlines():
        path = line.split()[-1] if "->" not in line else line.split(" -> ")[0].split()[-1]
        want.add(path)
    have = set()
    for root, dirs, files in os.walk(os.path.join(ddir, "usr")):
        for n in dirs + files:
            have.add("/" + os.path.relpath(os.path.join(root, n), ddir))
    have.add("/usr")
    missing = want - have
    assert not missing, f"deployment {ddir} lacks {sorted(missing)[:5]}"
    assert os.path.isfile(os.path.join(ddir, "etc/os-release")), f"deployment {ddir} has no /etc"


class Httpd:
    """``ostree-py trivial-httpd`` serving ``directory`` with a request log."""

    def __init__(self, directory: str, workdir: str, extra=()):
        self.log = os.path.join(workdir, f"httpd-{os.urandom(3).hex()}.log")
        portfile = os.path.join(workdir, f"port-{os.urandom(3).hex()}")
        self.proc = subprocess.Popen(ostree_py_argv() + ["trivial-httpd", f"--port-file={portfile}",
                                     f"--log-file={self.log}", *extra, directory],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        for _ in range(200):
            if os.path.exists(portfile) and open(portfile).read().strip():
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("trivial-httpd did not start")
        self.port = int(open(portfile).read().strip())
        self.url = f"http://127.0.0.1:{self.port}"

    def requests(self) -> list:
        """Paths requested so far (the "serving /PATH" lines of the log)."""
        with open(self.log, errors="replace") as f:
            return re.findall(r" - serving (/\S*)", f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
