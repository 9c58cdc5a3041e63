"""Hostile repositories: every read command fails cleanly, ends, and writes nothing outside its target.

Each case builds a small repository with the library (or by writing files
directly), breaks it in one way, and runs the read commands against it, each
in its own process with a timeout. A command the breakage concerns must exit
non-zero with an ``error: ...`` line and no traceback; any other command may
succeed but must not crash or hang either.

Two ways of running a command: ``run_subprocess`` is the user's view,
``python -m ostree_py.commands`` without OSTREE_PY_DEBUG (used for every read
command on a few representative repos, and for the commands each case must
fail); ``run_forked`` forks this test process (no interpreter start-up, so
the whole matrix stays fast) and calls main() with OSTREE_PY_DEBUG=1, where
an error that is not an OstreeError prints a traceback instead of the CLI
catch-all's ``error:`` line: this proves each error is a typed one from the
library.

Everything happens in a sandbox: the repository, canary files and
directories where hostile symlinks point (``../../etc`` resolves to one of
them), and the command targets (checkout destinations, export files, a
pull-local repo). After every case, nothing outside the repo and the targets
may have been added, removed or modified.

Where the reference ostree (2022.7) defines the behaviour on corrupt input,
we keep it: a commit stored under a name its content does not hash to can
still be shown, summarised and pulled (trusted) -- only fsck and untrusted
pulls check checksums (upstream test-pull-corruption.sh relies on this);
the archive header's size field is not trusted by the reference either.
"""

import io
import os
import random
import stat
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from ostree_py.core import gvariant
from ostree_py.commands import _cli, main
from ostree_py.core.content import FileInfo
from ostree_py.core.objects import ARCHIVE_HEADER_TYPE, DIRTREE_TYPE, Commit, DirMeta, DirTree
from ostree_py.repo import Repo

TIMEOUT = 60  # generous: a loaded machine is slow, a hang is forever
TIMESTAMP = 1700000000


# ---------------------------------------------------------------- building repos

def put_file(repo, data=b"", mode=0o100644, target=None):
    if target is not None:
        return repo.write_content(FileInfo(stat.S_IFLNK | 0o777, symlink_target=target))
    return repo.write_content(FileInfo(mode, size=len(data)), data=data)


def put_meta(repo, mode=0o40755):
    return repo.write_metadata("dirmeta", DirMeta(0, 0, mode).to_bytes())


def put_tree(repo, spec):
    """spec: name -> bytes (file), ("link", target), or dict (directory)."""
    files, dirs = [], []
    for name, v in spec.items():
        if isinstance(v, dict):
            dirs.append((name,) + put_tree(repo, v))
        elif isinstance(v, tuple):
            files.append((name, put_file(repo, target=v[1])))
        else:
            files.append((name, put_file(repo, v)))
    return repo.write_metadata("dirtree", DirTree(files, dirs).to_bytes()), put_meta(repo)


def put_commit(repo, spec=None, tree=None, parent=None, ref=None, subject="s"):
    t, m = tree if tree is not None else put_tree(repo, spec)
    csum = repo.write_metadata("commit", Commit({}, parent, [], subject, "", TIMESTAMP, t, m).to_bytes())
    if ref:
        repo.set_ref(ref, csum)
    return csum


def raw_dirtree(files=(), dirs=()):
    """Serialised dirtree with entries as given: no sorting, no name checks."""
    return gvariant.serialize(DIRTREE_TYPE, (
        [(n, bytes.fromhex(c)) for n, c in files],
        [(n, bytes.fromhex(t), bytes.fromhex(m)) for n, t, m in dirs]))


def store_as(repo, objtype, checksum, data):
    """Write ``data`` as the object ``checksum`` whatever it hashes to."""
    p = repo.object_path(objtype, checksum)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.lexists(p):
        os.chmod(p, 0o644) if not os.path.islink(p) else None
        os.unlink(p)
    with open(p, "wb") as f:
        f.write(data)


def archive_header(size, mode=0o100644, target="", xattrs=()):
    h = gvariant.serialize(ARCHIVE_HEADER_TYPE, (gvariant.bswap64(size), 0, 0, gvariant.bswap32(mode), 0,
                                                 target, list(xattrs)))
    return len(h).to_bytes(4, "big") + b"\0\0\0\0" + h


def deflate(data):
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush()


# ---------------------------------------------------------------- the sandbox

class Sandbox:
    """tmp/sb: a/etc and abs are where hostile symlinks point; a/b holds the repo and the targets."""

    def __init__(self, tmp_path, mode="archive"):
        self.root = str(tmp_path / "sb")
        self.inner = os.path.join(self.root, "a", "b")
        self.work = os.path.join(self.inner, "work")
        self.repo_path = os.path.join(self.inner, "repo")
        for d in ("a/etc", "abs", "a/b/work", "etc"):
            os.makedirs(os.path.join(self.root, d))
        for f in ("a/etc/passwd", "abs/passwd", "a/b/canary", "a/b/work/canary", "etc/passwd"):
            with open(os.path.join(self.root, f), "w") as fp:
                fp.write("canary\n")
        self.repo = Repo.create(self.repo_path, mode)
        self.base = put_commit(self.repo, {"a": b"hello\n", "d": {"f": b"x" * 1000, "l": ("link", "../a")}},
                               ref="base")
        base = self.repo.load_commit(self.base)
        self.base_tree, self.base_meta = base.root_tree, base.root_meta
        self.base_dirtree = self.repo.load_dirtree(base.root_tree)
        self._n = 0
        self.allowed = [self.repo_path]

    def target(self, name):
        """A fresh path under work/ that a command may write."""
        self._n += 1
        p = os.path.join(self.work, f"{name}{self._n}")
        self.allowed.append(p)
        return p

    def snapshot(self):
        """path -> what matters about it, outside the repo and the targets (directory mtimes ignored)."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not self._allowed(os.path.join(dirpath, d))]
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if self._allowed(p):
                    continue
                st = os.lstat(p)
                out[p] = (st.st_mode,) if stat.S_ISDIR(st.st_mode) else (st.st_mode, st.st_size, st.st_mtime_ns)
        return out

    def _allowed(self, p):
        return any(p == a or p.startswith(a + "/") or p.startswith(a + ".") for a in self.allowed)


def _env(debug=False):
    env = dict(os.environ)
    env.pop("OSTREE_PY_DEBUG", None)
    if debug:
        env["OSTREE_PY_DEBUG"] = "1"
    return env


def run_subprocess(argv, cwd):
    try:
        p = subprocess.run([sys.executable, "-m", "ostree_py.commands"] + argv, capture_output=True,
                           env=_env(), cwd=cwd, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: {argv} did not finish in {TIMEOUT}s")
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def _fork_main(argv, cwd):
    """Start main(argv) in a forked child; returns (pid, stdout file, stderr file)."""
    import tempfile
    fo, fe = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # child
        rc = 70
        try:
            os.chdir(cwd)
            out = io.TextIOWrapper(io.FileIO(fo.fileno(), "w", closefd=False), errors="surrogateescape")
            err = io.TextIOWrapper(io.FileIO(fe.fileno(), "w", closefd=False), errors="surrogateescape")
            try:
                ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=_env(debug=True))
                rc = main(list(argv), ctx)
            except BaseException:  # noqa: BLE001 - reported to the parent
                import traceback
                err.write(traceback.format_exc())
                rc = 70
            out.flush()
            err.flush()
        finally:
            os._exit(rc if isinstance(rc, int) else 70)
    return pid, fo, fe


def _wait_forked(job, argv, deadline):
    import time
    pid, fo, fe = job
    with fo, fe:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail(f"hang: {argv} did not finish in {TIMEOUT}s")
            time.sleep(0.002)
        fo.seek(0)
        fe.seek(0)
        return (os.waitstatus_to_exitcode(status), fo.read().decode("utf-8", "replace"),
                fe.read().decode("utf-8", "replace"))


def run_forked_many(argvs, cwd):
    """Each argv through main() in its own forked child, all at once, with OSTREE_PY_DEBUG=1.

    Returns [(rc, stdout, stderr)]. An exception escaping main() (anything
    but an OstreeError, with debug on) is printed as a traceback (exit 70);
    a child still running after TIMEOUT is killed and the test fails.
    """
    import time
    jobs = [_fork_main(argv, cwd) for argv in argvs]
    deadline = time.monotonic() + TIMEOUT
    return [_wait_forked(job, argv, deadline) for job, argv in zip(jobs, argvs)]


def run_forked(argv, cwd):
    return run_forked_many([argv], cwd)[0]


# every read command: name -> argv builder (sandbox, rev)
COMMANDS = {
    "log": lambda sb, rev: ["log", rev],
    "show": lambda sb, rev: ["show", rev],
    "show-raw": lambda sb, rev: ["show", "--raw", rev],
    "ls": lambda sb, rev: ["ls", "-R", rev],
    "cat": lambda sb, rev: ["cat", rev, "/a"],
    "checkout": lambda sb, rev: ["checkout", rev, sb.target("co")],
    "checkout-U": lambda sb, rev: ["checkout", "-U", "--union", rev, sb.target("co")],
    "diff": lambda sb, rev: ["diff", "base", rev],
    "fsck": lambda sb, rev: ["fsck"],
    "refs": lambda sb, rev: ["refs"],
    "rev-parse": lambda sb, rev: ["rev-parse", rev],
    "summary": lambda sb, rev: ["summary", "-u"],
    "export": lambda sb, rev: ["export", "--output=" + sb.target("x.tar"), rev],
    "pull-local": lambda sb, rev: _pull_local(sb, rev, []),
    "pull-local-untrusted": lambda sb, rev: _pull_local(sb, rev, ["--untrusted"]),
    "prune": lambda sb, rev: ["prune", "--refs-only"],
}
ALL = tuple(COMMANDS)
_LAST = ("prune",)


def _pull_local(sb, rev, extra):
    dest = sb.target("pulled")
    Repo.create(dest, "archive")
    return ["--repo=" + dest, "pull-local"] + extra + [sb.repo_path, rev]


def check(sb, rev="main", fail=(), run=ALL, errors=None, sub=None):
    """Run ``run`` commands on the sandbox's repo; those in ``fail`` must fail cleanly.

    Every command runs forked (debug on); those in ``sub`` (default: the
    first of ``fail``) also as a real subprocess. ``errors`` maps a
    command to a text its error message must contain.
    """
    fail = set(fail)
    assert fail <= set(run), fail - set(run)
    if sub is None:
        sub = [n for n in run if n in fail][:1]
    before = sb.snapshot()
    problems = []

    def argv_of(name):
        argv = COMMANDS[name](sb, rev)
        return argv if argv[0].startswith("--repo=") else ["--repo=" + sb.repo_path] + argv

    def judge(name, argv, rc, out, err, how):
        if "Traceback" in err or "Traceback" in out:
            problems.append(f"{how} {name}: traceback\n{err[-2000:]}")
        elif rc != 0 and not any(line.startswith("error: ") for line in err.splitlines()):
            problems.append(f"{how} {name}: exit {rc} without an error: line: {err[-500:]!r}")
        elif name in fail and rc == 0:
            problems.append(f"{how} {name}: succeeded on a broken repo: {argv}\n{out[-500:]}")
        elif name in fail and errors and name in errors and errors[name] not in err:
            problems.append(f"{how} {name}: error does not mention {errors[name]!r}: {err[-500:]!r}")

    # prune deletes what it finds unreachable: it runs after the others
    order = [n for n in run if n not in _LAST] + [n for n in run if n in _LAST]
    subs = [(n, argv_of(n)) for n in order if n in sub]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda j: run_subprocess(j[1], sb.inner), subs))
    for (name, argv), (rc, out, err) in zip(subs, results):
        judge(name, argv, rc, out, err, "subprocess")
    for group in ([n for n in order if n not in _LAST], [n for n in order if n in _LAST]):
        argvs = [argv_of(n) for n in group]
        for name, argv, (rc, out, err) in zip(group, argvs, run_forked_many(argvs, sb.inner)):
            judge(name, argv, rc, out, err, "forked")
    after = sb.snapshot()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if changed:
        problems.append(f"written outside the targets: {changed}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def sb(tmp_path):
    return Sandbox(tmp_path)


@pytest.fixture
def sb_bare_user(tmp_path):
    return Sandbox(tmp_path, "bare-user")


def _object_of(sb, what):
    """(objtype, checksum) of the base commit's commit, root dirtree or root dirmeta."""
    return {"commit": ("commit", sb.base), "dirtree": ("dirtree", sb.base_tree),
            "dirmeta": ("dirmeta", sb.base_meta)}[what]


def _read_object(sb, objtype, csum):
    with open(sb.repo.object_path(objtype, csum), "rb") as f:
        return f.read()


# which commands read each kind of metadata object of the commit they are given
READS = {
    "commit": ("log", "show", "show-raw", "ls", "cat", "checkout", "checkout-U", "diff", "fsck", "summary",
               "export", "pull-local", "pull-local-untrusted", "prune"),
    "dirtree": ("ls", "cat", "checkout", "checkout-U", "diff", "fsck", "export", "pull-local-untrusted",
                "prune"),
    "dirmeta": ("ls", "cat", "checkout", "checkout-U", "diff", "fsck", "export", "pull-local-untrusted"),
}


# ---------------------------------------------------------------- truncated, garbage, oversized metadata

@pytest.mark.parametrize("what", ["commit", "dirtree", "dirmeta"])
@pytest.mark.parametrize("cut", ["empty", "half", "all-but-one"])
def test_truncated_metadata(sb, what, cut):
    objtype, csum = _object_of(sb, what)
    data = _read_object(sb, objtype, csum)
    n = {"empty": 0, "half": len(data) // 2, "all-but-one": len(data) - 1}[cut]
    store_as(sb.repo, objtype, csum, data[:n])
    fail = READS[what]
    if what == "dirtree" and n == 0:
        # prune walks trees as the reference does (GLib reads 0 bytes as an empty directory)
        fail = tuple(c for c in fail if c != "prune")
    check(sb, "base", fail=fail)


def _main_inprocess(argv):
    """main() in this process with OSTREE_PY_DEBUG=1 (an untyped error raises); SIGALRM bounds it."""
    import signal

    def hang(*_):
        raise TimeoutError(f"hang: {argv}")

    out, err = io.StringIO(), io.StringIO()
    ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=_env(debug=True))
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(TIMEOUT)
    try:
        rc = main(list(argv), ctx)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("what", ["commit", "dirtree", "dirmeta"])
def test_every_prefix_of_metadata_fails_cleanly(sb, what):
    """Reference ostree 2022.7 segfaults on a truncated .commit in log/show/checkout; we must not.

    Every prefix of a real object, in-process (the subprocess view of a few
    prefixes is test_truncated_metadata).
    """
    objtype, csum = _object_of(sb, what)
    data = _read_object(sb, objtype, csum)
    repo = "--repo=" + sb.repo_path
    for n in range(len(data)):
        store_as(sb.repo, objtype, csum, data[:n])
        cmds = [["ls", "-R", "base"], ["cat", "base", "/d/f"], ["checkout", "base", sb.target("co")],
                ["export", "--output=" + sb.target("x.tar"), "base"]]
        if what == "commit":
            cmds += [["log", "base"], ["show", "base"]]
        for argv in cmds:
            rc, out, err = _main_inprocess([repo] + argv)
            assert rc != 0 and err.startswith("error: "), (n, argv, rc, err)


@pytest.mark.parametrize("what", ["commit", "dirtree", "dirmeta"])
def test_garbage_metadata(sb, what):
    objtype, csum = _object_of(sb, what)
    rnd = random.Random(what)
    store_as(sb.repo, objtype, csum, bytes(rnd.randrange(256) for _ in range(300)))
    check(sb, "base", fail=READS[what])


@pytest.mark.parametrize("what", ["commit", "dirtree"])
def test_oversized_metadata(sb, what):
    objtype, csum = _object_of(sb, what)
    store_as(sb.repo, objtype, csum, b"\0" * (10 * 1024 * 1024 + 1))
    check(sb, "base", fail=READS[what], run=READS[what] + ("refs",),
          errors={"log": "exceeds maximum size"} if what == "commit" else {"ls": "exceeds maximum size"})


# ---------------------------------------------------------------- hostile names

HOSTILE_NAMES = ["/", "..", ".", "a/b", "", "a\0b"]


@pytest.mark.parametrize("kind", ["file", "dir"])
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["slash", "dotdot", "dot", "a-slash-b", "empty", "nul"])
def test_hostile_dirtree_names(sb, name, kind):
    repo = sb.repo
    f = put_file(repo, b"pwned\n")
    m = put_meta(repo)
    empty = repo.write_metadata("dirtree", DirTree([("passwd", f)]).to_bytes())
    placeholder = name.replace("\0", "X")
    data = raw_dirtree([(placeholder, f)]) if kind == "file" else raw_dirtree((), [(placeholder, empty, m)])
    if "\0" in name:  # GVariant strings cannot hold NUL: patch it in, same length
        data = data.replace(placeholder.encode(), name.encode())
    tree = repo.write_metadata("dirtree", data)
    put_commit(repo, tree=(tree, m), ref="main")
    # the reference's fsck accepts an empty name (so does ours); everything else is refused
    fsck = ("fsck",) if name else ()
    check(sb, fail=("ls", "checkout", "checkout-U", "export", "diff") + fsck,
          run=("ls", "checkout", "checkout-U", "export", "diff", "fsck", "log", "cat", "pull-local"))


# ---------------------------------------------------------------- symlinks out of the checkout

@pytest.mark.parametrize("target", ["../../etc", "abs"])
@pytest.mark.parametrize("opts", [["--union"], ["--union-add"], ["--whiteouts", "--union"], ["-U", "--union"],
                                  ["--union-identical", "-H"]])
def test_symlink_then_directory_in_a_later_layer(sb, target, opts):
    """A symlink pointing out of the checkout, then a directory of that name in a later layer."""
    repo = sb.repo
    if target == "abs":
        target = os.path.join(sb.root, "abs")
    put_commit(repo, {"lnk": ("link", target), "x": b"1"}, ref="one")
    put_commit(repo, {"lnk": {"passwd": b"pwned\n", "sub": {"z": b"2"}}, "x": b"2"}, ref="two")
    # the same in a single (hostile) dirtree: a symlink and a directory both named lnk
    f = put_file(repo, target=target)
    sub = put_tree(repo, {"passwd": b"pwned\n"})
    tree = repo.write_metadata("dirtree", raw_dirtree([("lnk", f)], [("lnk",) + sub]))
    put_commit(repo, tree=(tree, put_meta(repo)), ref="dup")
    before = sb.snapshot()
    dest = sb.target("layers")
    argv = ["--repo=" + sb.repo_path, "checkout"]
    rc1, _, err1 = run_subprocess(argv + ["one", dest], sb.inner)
    assert rc1 == 0, err1
    rc2, _, err2 = run_subprocess(argv + opts + ["two", dest], sb.inner)
    assert rc2 != 0 and "error: " in err2 and "Traceback" not in err2, err2
    rc3, _, err3 = run_subprocess(argv + opts[:1] + ["dup", sb.target("dup")], sb.inner)
    assert "Traceback" not in err3, err3
    assert rc3 == 0 or "error: " in err3
    assert os.path.islink(os.path.join(dest, "lnk"))
    assert sb.snapshot() == before
    for d in ("a/etc", "abs", "etc"):
        assert os.listdir(os.path.join(sb.root, d)) == ["passwd"]


def test_symlinks_out_of_the_tree_for_the_read_commands(sb):
    put_commit(sb.repo, {"a": ("link", "../../../../../../../etc/passwd"), "abs": ("link", "/etc/passwd"),
                         "d": ("link", "../../etc"), "e": {"f": b"1"}}, ref="main")
    # cat resolves symlinks inside the tree only: /a leads nowhere
    check(sb, fail=("cat",), run=("ls", "cat", "checkout", "checkout-U", "export", "diff", "fsck"))


@pytest.mark.parametrize("where", ["top", "subdir"])
@pytest.mark.parametrize("name", [".wh...", ".wh..", ".ostree-wh...", ".ostree-wh.."])
def test_whiteout_naming_dot_or_dotdot(sb, name, where):
    """``.wh...`` would remove the destination's parent (the reference does exactly that)."""
    spec = {name: b"", "f": b"1"}
    put_commit(sb.repo, spec if where == "top" else {"sub": spec, "g": b"2"}, ref="main")
    opt = "--whiteouts" if name.startswith(".wh.") else "--process-passthrough-whiteouts"
    COMMANDS["checkout-wh"] = lambda sb_, rev: ["checkout", opt, rev, sb_.target("co")]
    try:
        check(sb, fail=("checkout-wh",), run=("checkout-wh", "ls", "export"))
    finally:
        del COMMANDS["checkout-wh"]
    assert os.path.exists(os.path.join(sb.inner, "canary"))
    assert os.path.exists(os.path.join(sb.work, "canary"))


# ---------------------------------------------------------------- wrong type, wrong content

def test_dirtree_stored_as_commit(sb):
    store_as(sb.repo, "commit", sb.base_tree, _read_object(sb, "dirtree", sb.base_tree))
    sb.repo.set_ref("main", sb.base_tree)
    check(sb, fail=READS["commit"])


def test_commit_stored_as_dirtree(sb):
    store_as(sb.repo, "dirtree", sb.base_tree, _read_object(sb, "commit", sb.base))
    check(sb, "base", fail=READS["dirtree"])


def test_dirtree_stored_as_dirmeta(sb):
    store_as(sb.repo, "dirmeta", sb.base_meta, _read_object(sb, "dirtree", sb.base_tree))
    check(sb, "base", fail=READS["dirmeta"])


def test_commit_under_a_wrong_name(sb):
    """As upstream test-pull-corruption.sh: only fsck and untrusted pulls check metadata checksums."""
    wrong = "ab" * 32
    store_as(sb.repo, "commit", wrong, _read_object(sb, "commit", sb.base))
    sb.repo.set_ref("main", wrong)
    msg = f"Corrupted commit object; checksum expected='{wrong}' actual='{sb.base}'"
    check(sb, fail=("fsck", "pull-local-untrusted"), errors={"fsck": msg, "pull-local-untrusted": msg})


def test_file_content_not_matching_its_checksum(sb):
    a = dict(sb.base_dirtree.files)["a"]
    store_as(sb.repo, "file", a, archive_header(7) + deflate(b"hacked\n"))
    check(sb, "base", fail=("fsck", "pull-local-untrusted"),
          errors={"fsck": "Corrupted file object", "pull-local-untrusted": "Corrupted"})


def test_dirtree_containing_itself(sb):
    """A dirtree whose subdirectory is itself: possible only under a wrong name; it must not loop."""
    repo = sb.repo
    loop = "cc" * 32
    f = put_file(repo, b"x")
    m = put_meta(repo)
    store_as(repo, "dirtree", loop, raw_dirtree([("a", f)], [("loop", loop, m)]))
    put_commit(repo, tree=(loop, m), ref="main")
    check(sb, fail=("ls", "checkout", "checkout-U", "diff", "export", "fsck", "pull-local-untrusted"),
          errors={"fsck": "Corrupted dirtree object", "checkout": "contains itself"})


@pytest.mark.parametrize("shape", ["self", "two"])
def test_parent_chain_cycle(sb, shape):
    repo = sb.repo
    tree = put_tree(repo, {"a": b"1"})
    a, b = "aa" * 32, "bb" * 32
    if shape == "self":
        store_as(repo, "commit", a, Commit({}, a, [], "A", "", TIMESTAMP, *tree).to_bytes())
    else:
        store_as(repo, "commit", a, Commit({}, b, [], "A", "", TIMESTAMP, *tree).to_bytes())
        store_as(repo, "commit", b, Commit({}, a, [], "B", "", TIMESTAMP, *tree).to_bytes())
    repo.set_ref("main", a)
    check(sb, fail=("log", "fsck", "pull-local-untrusted"), run=("log", "show", "fsck", "prune", "pull-local",
                                                               "pull-local-untrusted", "summary"),
          errors={"log": "loops back on itself"})


# ---------------------------------------------------------------- refs and config

@pytest.mark.parametrize("content", [b"", b"garbage\n", b"\xff\xfe\0\0\n", b"z" * 64 + b"\n",
                                     b"ref: ../../etc/passwd\n", b"a" * (1 << 20)],
                         ids=["empty", "garbage", "binary", "not-hex", "symbolic", "huge"])
def test_garbage_ref_file(sb, content):
    with open(os.path.join(sb.repo_path, "refs", "heads", "bad"), "wb") as f:
        f.write(content)
    check(sb, "bad", fail=("rev-parse", "log", "checkout", "fsck", "prune", "export"),
          run=("rev-parse", "log", "checkout", "fsck", "prune", "export", "refs", "summary"))


@pytest.mark.parametrize("ref", ["..", "../x", "a/../b", "x/..", "../../etc/passwd", "/etc/passwd",
                                 "origin:../x"])
def test_ref_names_with_dotdot(sb, ref):
    put_commit(sb.repo, {"a": b"1"}, ref="x")
    check(sb, ref, fail=("rev-parse", "log", "show", "ls", "checkout", "export"),
          run=("rev-parse", "log", "show", "ls", "checkout", "export"))


def test_refs_that_are_not_files(sb):
    heads = os.path.join(sb.repo_path, "refs", "heads")
    os.mkfifo(os.path.join(heads, "fifo"))
    os.symlink("/dev/zero", os.path.join(heads, "zero"))
    os.makedirs(os.path.join(heads, "dir"))
    for ref in ("fifo", "zero"):
        check(sb, ref, fail=("rev-parse", "log"), run=("rev-parse", "log", "refs", "fsck", "summary"))


@pytest.mark.parametrize("config", [
    b"garbage", b"[core\nrepo_version=1\n", b"[core]\nrepo_version=1\nmode=nonsense\n",
    b"[core]\nrepo_version=2\nmode=archive-z2\n", b"\xff\xfe[core]\n", b"[core]\nmode=archive-z2\n",
    b"[core]\nrepo_version=1\nmode=archive-z2\nparent=/nonexistent\n",
    b"[core]\nrepo_version=1\nmode=archive-z2\nfsync=maybe\n", "fifo", "dir"],
    ids=["garbage", "bad-group", "bad-mode", "version-2", "binary", "no-version", "missing-parent",
         "bad-boolean", "fifo", "directory"])
def test_malformed_config(sb, config):
    p = os.path.join(sb.repo_path, "config")
    os.unlink(p)
    if config == "fifo":
        os.mkfifo(p)
    elif config == "dir":
        os.mkdir(p)
    else:
        with open(p, "wb") as f:
            f.write(config)
    run = ("log", "checkout", "fsck", "refs", "summary", "prune")
    check(sb, "base", fail=run, run=run, errors={"log": "opening repo: "})


# ---------------------------------------------------------------- content objects

ARCHIVE_CASES = {
    "corrupt-deflate": lambda: archive_header(6) + b"\x00garbage" * 20,
    "bitflip-deflate": lambda: archive_header(6000) + bytes([deflate(b"hello\n" * 1000)[0] ^ 0xff])
    + deflate(b"hello\n" * 1000)[1:],
    "truncated-deflate": lambda: archive_header(6000) + deflate(b"hello\n" * 1000)[:20],
    "header-length-huge": lambda: b"\xff\xff\xff\xf0\0\0\0\0" + b"x" * 100,
    "header-length-past-end": lambda: (5000).to_bytes(4, "big") + b"\0\0\0\0" + b"x" * 100,
    "empty": lambda: b"",
    "four-bytes": lambda: b"\0\0\0\x10",
    "garbage-header": lambda: (40).to_bytes(4, "big") + b"\0\0\0\0" + bytes(range(40)),
    "directory-mode": lambda: archive_header(6, 0o40755) + deflate(b"hello\n"),
    "device-mode": lambda: archive_header(6, 0o20644) + deflate(b"hello\n"),
}


@pytest.mark.parametrize("case", list(ARCHIVE_CASES))
def test_corrupt_filez(sb, case):
    a = dict(sb.base_dirtree.files)["a"]
    store_as(sb.repo, "file", a, ARCHIVE_CASES[case]())
    header_broken = "deflate" not in case
    fail = ("cat", "checkout", "checkout-U", "export", "fsck", "pull-local-untrusted")
    if header_broken:
        fail += ("ls",)
    check(sb, "base", fail=fail, run=fail + ("ls", "diff", "pull-local", "prune"))


@pytest.mark.parametrize("size", [2 ** 63, 2 ** 64 - 1, 1])
def test_huge_or_wrong_size_in_archive_header(sb, size):
    """The reference ignores the header's size and reads the stream; we may be stricter, never worse."""
    a = dict(sb.base_dirtree.files)["a"]
    store_as(sb.repo, "file", a, archive_header(size) + deflate(b"hello\n"))
    check(sb, "base", run=("ls", "cat", "checkout", "export", "fsck", "diff", "pull-local-untrusted"))


def _ostreemeta(mode, xattrs=()):
    return gvariant.serialize("(uuua(ayay))", (0, 0, gvariant.bswap32(mode), list(xattrs)))


BAREUSER_META = {
    "missing": None,
    "garbage": b"\xff" * 7,
    "empty": b"",
    "directory-mode": _ostreemeta(0o40755),
    "device-mode": _ostreemeta(0o20644),
    "symlink-mode": _ostreemeta(0o120777),
    "bad-xattrs": _ostreemeta(0o100644, [(b"", b"x"), (b"user.\xff\0", b"")]),
}


@pytest.mark.parametrize("case", list(BAREUSER_META))
def test_bad_user_ostreemeta(sb_bare_user, case):
    sb = sb_bare_user
    a = dict(sb.base_dirtree.files)["a"]
    p = sb.repo.object_path("file", a)
    meta = BAREUSER_META[case]
    if meta is None:
        os.removexattr(p, "user.ostreemeta")
    else:
        os.setxattr(p, "user.ostreemeta", meta)
    fail = ("fsck", "pull-local-untrusted")
    if case in ("missing", "garbage", "empty", "directory-mode", "device-mode"):
        fail += ("ls", "cat", "checkout", "export", "pull-local")
    check(sb, "base", fail=fail, run=fail + ("ls", "cat", "checkout", "export", "diff"))


# ---------------------------------------------------------------- things that are not files

@pytest.mark.parametrize("what", ["commit", "dirtree", "dirmeta", "file"])
@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling-symlink"])
def test_object_that_is_not_a_regular_file(sb, what, kind):
    if what == "file":
        objtype, csum = "file", dict(sb.base_dirtree.files)["a"]
    else:
        objtype, csum = _object_of(sb, what)
    p = sb.repo.object_path(objtype, csum)
    os.unlink(p)
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "directory":
        os.mkdir(p)
    else:
        os.symlink(os.path.join(sb.root, "nonexistent"), p)
    fail = ("cat", "checkout", "fsck") if what == "file" else ("ls", "checkout", "fsck")
    check(sb, "base", fail=fail, run=fail + ("export",))


# ---------------------------------------------------------------- the user's view of everything

def _break_commit(sb):
    data = _read_object(sb, "commit", sb.base)
    store_as(sb.repo, "commit", sb.base, data[:len(data) // 2])
    return "base", READS["commit"]


def _break_tree_loop(sb):
    loop = "cc" * 32
    f = put_file(sb.repo, b"x")
    m = put_meta(sb.repo)
    store_as(sb.repo, "dirtree", loop, raw_dirtree([("a", f)], [("loop", loop, m)]))
    put_commit(sb.repo, tree=(loop, m), ref="main")
    return "main", ("ls", "checkout", "checkout-U", "diff", "export", "fsck", "pull-local-untrusted")


def _break_content(sb):
    a = dict(sb.base_dirtree.files)["a"]
    store_as(sb.repo, "file", a, archive_header(6) + b"\x00garbage" * 20)
    return "base", ("cat", "checkout", "checkout-U", "export", "fsck", "pull-local-untrusted")


@pytest.mark.parametrize("breakage", [_break_commit, _break_tree_loop, _break_content],
                         ids=["truncated-commit", "dirtree-loop", "corrupt-deflate"])
def test_every_read_command_as_a_subprocess(sb, breakage):
    """``python -m ostree_py.commands`` for every read command, without OSTREE_PY_DEBUG."""
    rev, fail = breakage(sb)
    check(sb, rev, fail=fail, sub=ALL)
