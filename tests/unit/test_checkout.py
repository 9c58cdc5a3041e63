"""ostree_py.ops.checkout: what lands on disk for each repo mode and option.

Commits are made with the library's own commit builder; the interop tests
(tests/interop/test_checkout_interop.py) check the same behaviour against
the reference binary.
"""

import os
import stat

import pytest

from ostree_py.ops.checkout import CheckoutError, CheckoutOptions, checkout_gc, checkout_tree
from ostree_py.core.content import FileInfo
from ostree_py.errors import OstreeError
from ostree_py.core.objects import Commit, DirMeta, DirTree
from ostree_py.repo import Repo


def make_tree(root):
    """A small tree with the cases checkout must get right."""
    os.makedirs(root / "baz" / "deeper")
    (root / "firstfile").write_text("first\n")
    (root / "baz" / "cow").write_text("moo\n")
    (root / "baz" / "deeper" / "ohyeah").write_text("yeah\n")
    (root / "empty").write_bytes(b"")
    (root / "somelink").symlink_to("nosuchfile")
    (root / "suid").write_text("#!/bin/sh\n")
    os.chmod(root / "suid", 0o4755)
    os.makedirs(root / "ro")
    (root / "ro" / "inner").write_text("inside a 0500 directory\n")
    os.chmod(root / "ro", 0o500)
    (root / "ww").mkdir()
    os.chmod(root / "ww", 0o777)
    (root / "secret").write_text("s\n")
    os.chmod(root / "secret", 0o000)
    return root


def _store_dir(repo, path):
    """Write ``path`` into ``repo`` as dirtree + dirmeta (like commit, without commit.py)."""
    from ostree_py.repo import list_xattrs
    repo.fsync = False
    user_only = repo.mode == "bare-user-only"
    s = os.lstat(path)
    # (bare-user-only checkouts mask directory modes themselves)
    meta = DirMeta(0 if user_only else s.st_uid, 0 if user_only else s.st_gid, s.st_mode,
                   [] if user_only else list_xattrs(str(path)))
    files, dirs = [], []
    for e in sorted(os.scandir(path), key=lambda e: e.name):
        est = e.stat(follow_symlinks=False)
        if e.is_dir(follow_symlinks=False):
            t, m = _store_dir(repo, e.path)
            dirs.append((e.name, t, m))
            continue
        xattrs = [] if user_only else list_xattrs(e.path)
        if stat.S_ISLNK(est.st_mode):
            info = FileInfo(est.st_mode, est.st_uid, est.st_gid, 0, os.readlink(e.path), xattrs)
            files.append((e.name, repo.write_content(info)))
        else:
            info = FileInfo(est.st_mode, est.st_uid, est.st_gid, est.st_size, "", xattrs)
            with open(e.path, "rb") as f:
                files.append((e.name, repo.write_content(info, f)))
    return (repo.write_metadata("dirtree", DirTree(files, dirs).to_bytes()),
            repo.write_metadata("dirmeta", meta.to_bytes()))


def commit_dir(repo, src, ref="main"):
    tree, meta = _store_dir(repo, src)
    csum = repo.write_metadata("commit", Commit({}, None, [], "test", "", 0, tree, meta).to_bytes())
    repo.set_ref(ref, csum)
    return csum


def commit_raw_tree(repo, files=(), dirs=()):
    """A commit whose root dirtree is written as given (to build hostile trees)."""
    repo.fsync = False
    meta = repo.write_metadata("dirmeta", DirMeta(0, 0, 0o40755).to_bytes())
    tree = repo.write_metadata("dirtree", DirTree(files, dirs).to_bytes())
    return repo.write_metadata("commit", Commit({}, None, [], "raw", "", 0, tree, meta).to_bytes()), meta


@pytest.fixture
def src(tmp_path):
    return make_tree(tmp_path / "src")


@pytest.fixture(params=["bare", "bare-user", "bare-user-only", "archive"])
def any_repo(request, tmp_path, src):
    repo = Repo.create(str(tmp_path / f"repo-{request.param}"), request.param)
    return repo, commit_dir(repo, src)


@pytest.fixture
def bare(tmp_path, src):
    repo = Repo.create(str(tmp_path / "repo-bare"), "bare")
    return repo, commit_dir(repo, src)


def st(p):
    return os.lstat(p)


# ---------------------------------------------------------------- modes

def test_bare_normal_mode_hardlinks_and_keeps_metadata(bare, tmp_path):
    repo, c = bare
    out = tmp_path / "co"
    assert checkout_tree(repo, c, str(out)) is True
    assert (out / "baz" / "cow").read_text() == "moo\n"
    assert st(out / "firstfile").st_nlink == 2
    assert st(out / "somelink").st_nlink == 2 and os.readlink(out / "somelink") == "nosuchfile"
    # zero-sized files are never hardlinked
    assert st(out / "empty").st_nlink == 1
    assert stat.S_IMODE(st(out / "suid").st_mode) == 0o4755
    assert st(out / "firstfile").st_mtime == 0
    for d in ("", "baz", "baz/deeper", "ro", "ww"):
        assert st(out / d).st_mtime == 0, d
    # a 0500 directory gets its mode after its contents
    assert stat.S_IMODE(st(out / "ro").st_mode) == 0o500
    assert (out / "ro" / "inner").read_text() == "inside a 0500 directory\n"
    assert stat.S_IMODE(st(out / "ww").st_mode) == 0o777


def test_user_mode_on_bare_copies_and_strips_setuid(bare, tmp_path):
    repo, c = bare
    out = tmp_path / "co"
    checkout_tree(repo, c, str(out), mode="user")
    assert st(out / "firstfile").st_nlink == 1
    assert st(out / "firstfile").st_mtime != 0      # copies keep their write time
    assert st(out / "baz").st_mtime == 0             # directories still get 0
    assert stat.S_IMODE(st(out / "suid").st_mode) == 0o755
    # unreadable files are given u+r in user mode
    assert stat.S_IMODE(st(out / "secret").st_mode) == 0o400


def test_force_copy_leaves_directory_mtimes(bare, tmp_path):
    repo, c = bare
    out = tmp_path / "co"
    checkout_tree(repo, c, str(out), force_copy=True)
    assert st(out / "firstfile").st_nlink == 1
    assert st(out / "baz").st_mtime != 0
    assert stat.S_IMODE(st(out / "suid").st_mode) == 0o4755


def test_every_mode_user_checkout_has_the_same_content(any_repo, tmp_path):
    repo, c = any_repo
    out = tmp_path / "co"
    checkout_tree(repo, c, str(out), mode="user")
    assert (out / "baz" / "deeper" / "ohyeah").read_text() == "yeah\n"
    assert os.readlink(out / "somelink") == "nosuchfile"
    assert (out / "ro" / "inner").exists()
    assert stat.S_IMODE(st(out / "ro").st_mode) == 0o500
    ww = stat.S_IMODE(st(out / "ww").st_mode)
    # bare-user-only repos never make world-writable directories
    assert ww == (0o775 if repo.mode == "bare-user-only" else 0o777)
    if repo.mode in ("bare-user", "bare-user-only"):
        assert st(out / "firstfile").st_nlink == 2
        assert st(out / "somelink").st_nlink == 1   # their symlinks are copies


def test_bare_user_requires_user_mode_to_hardlink(tmp_path, src):
    repo = Repo.create(str(tmp_path / "r"), "bare-user")
    c = commit_dir(repo, src)
    with pytest.raises(CheckoutError, match="^User repository mode requires user checkout mode to hardlink$"):
        checkout_tree(repo, c, str(tmp_path / "co"), require_hardlinks=True)
    checkout_tree(repo, c, str(tmp_path / "co2"), mode="user", require_hardlinks=True)


def test_bare_cannot_hardlink_in_user_mode(bare, tmp_path):
    repo, c = bare
    with pytest.raises(CheckoutError, match="^Bare repository mode cannot hardlink in user checkout mode$"):
        checkout_tree(repo, c, str(tmp_path / "co"), mode="user", require_hardlinks=True)


def test_bareuseronly_dirs(bare, tmp_path):
    repo, c = bare
    checkout_tree(repo, c, str(tmp_path / "co"), mode="user", bareuseronly_dirs=True)
    assert stat.S_IMODE(st(tmp_path / "co" / "ww").st_mode) == 0o775


def test_archive_user_mode_fills_and_uses_the_uncompressed_cache(tmp_path, src):
    repo = Repo.create(str(tmp_path / "r"), "archive")
    c = commit_dir(repo, src)
    cache = tmp_path / "r" / "uncompressed-objects-cache"
    checkout_tree(repo, c, str(tmp_path / "nocache"), mode="user")
    assert not cache.exists()                       # the cache is opt-in in the library
    checkout_tree(repo, c, str(tmp_path / "co"), mode="user", enable_uncompressed_cache=True)
    cached = sorted(p.relative_to(cache) for p in cache.rglob("*.file"))
    assert cached, "nothing cached"
    first = tmp_path / "co" / "firstfile"
    assert st(first).st_nlink == 2
    assert st(tmp_path / "co" / "empty").st_nlink == 1
    # setuid is dropped in the cache; the unreadable file is not cached
    assert stat.S_IMODE(st(tmp_path / "co" / "suid").st_mode) == 0o755
    assert st(tmp_path / "co" / "secret").st_nlink == 1
    checkout_tree(repo, c, str(tmp_path / "co2"), mode="user", enable_uncompressed_cache=True)
    assert st(first).st_nlink == 3
    assert checkout_gc(repo) == 0
    import shutil
    shutil.rmtree(tmp_path / "co")
    shutil.rmtree(tmp_path / "co2")
    assert checkout_gc(repo) == len(cached)


def test_archive_normal_mode_copies_with_ownership(tmp_path, src):
    os.chown(src / "baz" / "cow", 1234, 4321)
    repo = Repo.create(str(tmp_path / "r"), "archive")
    c = commit_dir(repo, src)
    checkout_tree(repo, c, str(tmp_path / "co"))
    cow = st(tmp_path / "co" / "baz" / "cow")
    assert (cow.st_uid, cow.st_gid, cow.st_nlink) == (1234, 4321, 1)
    assert stat.S_IMODE(st(tmp_path / "co" / "suid").st_mode) == 0o4755


def test_xattrs_only_in_normal_mode(tmp_path, src):
    os.setxattr(src / "firstfile", "user.test", b"v")
    os.setxattr(src / "baz", "user.dir", b"d")
    repo = Repo.create(str(tmp_path / "r"), "archive")
    c = commit_dir(repo, src)
    checkout_tree(repo, c, str(tmp_path / "co"))
    assert os.getxattr(tmp_path / "co" / "firstfile", "user.test") == b"v"
    assert os.getxattr(tmp_path / "co" / "baz", "user.dir") == b"d"
    checkout_tree(repo, c, str(tmp_path / "co2"), mode="user")
    assert "user.test" not in os.listxattr(tmp_path / "co2" / "firstfile")
    assert "user.dir" not in os.listxattr(tmp_path / "co2" / "baz")


# ---------------------------------------------------------------- existing destinations

def test_existing_destination_is_an_error(bare, tmp_path):
    repo, c = bare
    (tmp_path / "co").mkdir()
    with pytest.raises(CheckoutError, match="^mkdirat: File exists$"):
        checkout_tree(repo, c, str(tmp_path / "co"))


def test_missing_parent_is_an_error(bare, tmp_path):
    repo, c = bare
    with pytest.raises(CheckoutError, match="^mkdirat: No such file or directory$"):
        checkout_tree(repo, c, str(tmp_path / "no" / "co"))


def test_union_overwrites_files_and_keeps_directories(bare, tmp_path):
    repo, c = bare
    out = tmp_path / "co"
    (out / "baz").mkdir(parents=True)
    os.chmod(out / "baz", 0o711)
    (out / "baz" / "cow").write_text("old\n")
    (out / "baz" / "extra").write_text("kept\n")
    (out / "somelink").write_text("a file where a symlink goes\n")
    checkout_tree(repo, c, str(out), overwrite="union-files")
    assert (out / "baz" / "cow").read_text() == "moo\n"
    assert (out / "baz" / "extra").read_text() == "kept\n"
    assert os.readlink(out / "somelink") == "nosuchfile"
    assert stat.S_IMODE(st(out / "baz").st_mode) == 0o711      # existing directory untouched
    before = sorted(p.name for p in out.rglob("*"))
    checkout_tree(repo, c, str(out), overwrite="union-files")
    assert sorted(p.name for p in out.rglob("*")) == before


def test_union_add_keeps_existing_files(bare, tmp_path):
    repo, c = bare
    out = tmp_path / "co"
    out.mkdir()
    (out / "firstfile").write_text("mine\n")
    (out / "empty").write_text("mine too\n")
    checkout_tree(repo, c, str(out), overwrite="add-files")
    assert (out / "firstfile").read_text() == "mine\n"
    assert (out / "empty").read_text() == "mine too\n"
    assert (out / "baz" / "cow").read_text() == "moo\n"


def test_union_identical(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    for x in (1, 2):
        d = tmp_path / f"pkg{x}"
        (d / "usr" / "bin").mkdir(parents=True)
        (d / "usr" / "bin" / f"pkg{x}").write_text(f"binary {x}\n")
        (d / "usr" / "share").mkdir()
        (d / "usr" / "share" / "COPYING").write_text("GPL\n")
        (d / "usr" / "share" / "LICENSE").symlink_to("COPYING")
        (d / "usr" / "share" / "empty").write_bytes(b"")
        commit_dir(repo, d, f"pkg{x}")
    out = str(tmp_path / "co")
    for x in (1, 2):
        checkout_tree(repo, repo.resolve_rev(f"pkg{x}"), out, overwrite="union-identical", require_hardlinks=True)
    # a copied first layer is compared by checksum
    out2 = str(tmp_path / "co2")
    checkout_tree(repo, repo.resolve_rev("pkg1"), out2, force_copy=True)
    checkout_tree(repo, repo.resolve_rev("pkg2"), out2, overwrite="union-identical", require_hardlinks=True)

    d = tmp_path / "conflict"
    (d / "usr" / "share").mkdir(parents=True)
    (d / "usr" / "share" / "COPYING").write_text("not the GPL\n")
    conflict = commit_dir(repo, d, "conflict")
    with pytest.raises(CheckoutError, match=r"^Hardlinking [0-9a-f]{2}/[0-9a-f]{62}\.file to COPYING: File exists$"):
        checkout_tree(repo, conflict, out, overwrite="union-identical", require_hardlinks=True)
    d = tmp_path / "conflict2"
    (d / "usr" / "share").mkdir(parents=True)
    (d / "usr" / "share" / "LICENSE").symlink_to("elsewhere")
    (d / "usr" / "share" / "empty").write_bytes(b"")
    conflict2 = commit_dir(repo, d, "conflict2")
    with pytest.raises(CheckoutError, match="File exists$"):
        checkout_tree(repo, conflict2, out, overwrite="union-identical", require_hardlinks=True)


def test_union_identical_zero_sized_conflict(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    d = tmp_path / "a"
    d.mkdir()
    (d / "f").write_bytes(b"")
    a = commit_dir(repo, d, "a")
    (d / "f").write_text("notempty\n")
    b = commit_dir(repo, d, "b")
    out = str(tmp_path / "co")
    checkout_tree(repo, a, out, overwrite="union-identical", require_hardlinks=True)
    checkout_tree(repo, a, out, overwrite="union-identical", require_hardlinks=True)
    (tmp_path / "co" / "f").unlink()
    checkout_tree(repo, b, out, overwrite="union-identical", require_hardlinks=True)
    with pytest.raises(CheckoutError, match=r"^Copy checkout of [0-9a-f]{64} to f: linkat: File exists$"):
        checkout_tree(repo, a, out, overwrite="union-identical", require_hardlinks=True)


# ---------------------------------------------------------------- whiteouts

def test_whiteouts(tmp_path, src):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    base = commit_dir(repo, src, "base")
    ov = tmp_path / "ov"
    (ov / "baz" / "deeper").mkdir(parents=True)
    (ov / "baz" / ".wh.cow").write_bytes(b"")
    (ov / "baz" / "deeper" / ".wh..wh..opq").write_bytes(b"")
    (ov / "baz" / "deeper" / "new").write_text("new\n")
    (ov / ".wh.ro").write_bytes(b"")
    (ov / "firstfile").mkdir()      # a directory replaces a file...
    (ov / "ww").write_text("file now\n")   # ...and a file a directory
    overlay = commit_dir(repo, ov, "ov")
    out = str(tmp_path / "co")
    checkout_tree(repo, base, out, overwrite="union-files", process_whiteouts=True)
    with pytest.raises(CheckoutError):
        # without whiteout processing, a file cannot replace a directory
        checkout_tree(repo, overlay, str(tmp_path / "co"), overwrite="union-files")
    import shutil
    shutil.rmtree(out)
    checkout_tree(repo, base, out, overwrite="union-files", process_whiteouts=True)
    (tmp_path / "co" / "firstfile").unlink()
    checkout_tree(repo, overlay, out, overwrite="union-files", process_whiteouts=True)
    co = tmp_path / "co"
    assert not (co / "baz" / "cow").exists() and not (co / "baz" / ".wh.cow").exists()
    assert not (co / "ro").exists()
    assert sorted(os.listdir(co / "baz" / "deeper")) == ["new"]
    assert (co / "ww").read_text() == "file now\n"


def test_empty_whiteout_name(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    d = tmp_path / "d"
    d.mkdir()
    (d / ".wh.").write_bytes(b"")
    c = commit_dir(repo, d)
    with pytest.raises(CheckoutError, match="^Invalid empty whiteout ''$"):
        checkout_tree(repo, c, str(tmp_path / "co"), process_whiteouts=True)
    checkout_tree(repo, c, str(tmp_path / "co2"))
    assert (tmp_path / "co2" / ".wh.").exists()


def test_passthrough_whiteouts(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    d = tmp_path / "d"
    d.mkdir()
    (d / ".ostree-wh.gone").write_bytes(b"")
    os.chmod(d / ".ostree-wh.gone", 0o600)
    c = commit_dir(repo, d)
    checkout_tree(repo, c, str(tmp_path / "plain"))
    assert (tmp_path / "plain" / ".ostree-wh.gone").is_file()
    checkout_tree(repo, c, str(tmp_path / "co"), process_passthrough_whiteouts=True)
    s = st(tmp_path / "co" / "gone")
    assert stat.S_ISCHR(s.st_mode) and s.st_rdev == 0 and stat.S_IMODE(s.st_mode) == 0o600
    assert not (tmp_path / "co" / ".ostree-wh.gone").exists()
    # the file subpath form checks out into an existing directory: the device is in the way
    with pytest.raises(CheckoutError, match="^Creating whiteout char device: File exists$"):
        checkout_tree(repo, c, str(tmp_path / "co"), subpath="/.ostree-wh.gone", process_passthrough_whiteouts=True)
    checkout_tree(repo, c, str(tmp_path / "co"), overwrite="union-files", process_passthrough_whiteouts=True)
    checkout_tree(repo, c, str(tmp_path / "co"), overwrite="union-identical", require_hardlinks=True,
                  process_passthrough_whiteouts=True)


# ---------------------------------------------------------------- subpath and skip list

def test_subpath_directory(bare, tmp_path):
    repo, c = bare
    checkout_tree(repo, c, str(tmp_path / "co"), subpath="/baz")
    assert sorted(os.listdir(tmp_path / "co")) == ["cow", "deeper"]
    checkout_tree(repo, c, str(tmp_path / "co2"), subpath="baz/deeper")
    assert os.listdir(tmp_path / "co2") == ["ohyeah"]


def test_subpath_file(bare, tmp_path):
    repo, c = bare
    checkout_tree(repo, c, str(tmp_path / "co"), subpath="/baz/cow")
    assert os.listdir(tmp_path / "co") == ["cow"]
    assert stat.S_IMODE(st(tmp_path / "co").st_mode) == 0o700
    # "." means the directory itself, which exists
    here = tmp_path / "here"
    here.mkdir()
    checkout_tree(repo, c, ".", subpath="/baz/cow", dest_dir_fd=os.open(here, os.O_RDONLY))
    assert (here / "cow").read_text() == "moo\n"


@pytest.mark.parametrize("subpath,message", [
    ("/enoent", "No such file or directory: /enoent"),
    ("/baz/enoent/x", "No such file or directory: /baz/enoent"),
    ("/baz/", "No such file or directory: /baz/"),
    ("", "No such file or directory: /"),
    ("/baz/cow/x", "Not a directory"),
])
def test_subpath_errors(bare, tmp_path, subpath, message):
    repo, c = bare
    with pytest.raises(CheckoutError) as e:
        checkout_tree(repo, c, str(tmp_path / "co"), subpath=subpath)
    assert e.value.message == message
    assert not (tmp_path / "co").exists()


def test_allow_noent(bare, tmp_path):
    repo, c = bare
    assert checkout_tree(repo, c, str(tmp_path / "co"), subpath="/enoent", allow_noent=True) is False
    assert not (tmp_path / "co").exists()
    with pytest.raises(CheckoutError, match="Not a directory"):
        checkout_tree(repo, c, str(tmp_path / "co"), subpath="/baz/cow/x", allow_noent=True)


def test_skip_list_paths(bare, tmp_path):
    repo, c = bare
    checkout_tree(repo, c, str(tmp_path / "co"), skip={"/baz/cow", "/ro/", "/ww"})
    co = tmp_path / "co"
    assert not (co / "baz" / "cow").exists()
    assert not (co / "ro").exists()
    assert (co / "ww").is_dir()           # a directory is skipped only with its trailing slash
    checkout_tree(repo, c, str(tmp_path / "co2"), subpath="/baz", skip={"/deeper/"})
    assert os.listdir(tmp_path / "co2") == ["cow"]
    checkout_tree(repo, c, str(tmp_path / "co3"), skip=lambda p: p == "/")
    assert not (tmp_path / "co3").exists()


def test_devino_cache(bare, tmp_path):
    repo, c = bare
    cache = {}
    checkout_tree(repo, c, str(tmp_path / "co"), devino_cache=cache)
    s = st(tmp_path / "co" / "baz" / "cow")
    assert cache[(s.st_dev, s.st_ino)] == repo.load_dirtree(repo.load_dirtree(
        repo.load_commit(c).root_tree).dirs[0][1]).files[0][1]


# ---------------------------------------------------------------- safety

def test_dirtree_name_with_slash_is_refused(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    f = repo.write_content(FileInfo(0o100644, size=4), data=b"evil")
    # DirTree.to_bytes does not validate: write a hostile tree by hand
    c, _ = commit_raw_tree(repo, files=[("../evil", f)])
    with pytest.raises(OstreeError, match=r"Invalid / in filename \.\./evil"):
        checkout_tree(repo, c, str(tmp_path / "co"))
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("overwrite", ["union-files", "add-files", "union-identical"])
def test_symlink_in_destination_is_never_followed(tmp_path, overwrite):
    """A tree (or an earlier layer) puts a symlink where a later tree has a directory."""
    repo = Repo.create(str(tmp_path / "r"), "bare")
    outside = tmp_path / "outside"
    outside.mkdir()
    link = repo.write_content(FileInfo(0o120777, symlink_target=str(outside)))
    evil = repo.write_content(FileInfo(0o100644, size=4), data=b"evil")
    meta = repo.write_metadata("dirmeta", DirMeta(0, 0, 0o40755).to_bytes())
    sub = repo.write_metadata("dirtree", DirTree([("payload", evil)], []).to_bytes())
    # the same name as a file (a symlink, checked out first) and as a directory
    c, _ = commit_raw_tree(repo, files=[("a", link)], dirs=[("a", sub, meta)])
    with pytest.raises(CheckoutError):
        checkout_tree(repo, c, str(tmp_path / "co"), overwrite=overwrite, require_hardlinks=True)
    assert os.listdir(outside) == []
    # and a symlink already in the destination
    (tmp_path / "co2").mkdir()
    (tmp_path / "co2" / "a").symlink_to(outside)
    c2, _ = commit_raw_tree(repo, dirs=[("a", sub, meta)])
    with pytest.raises(CheckoutError, match=r"^opendir\(a\): "):
        checkout_tree(repo, c2, str(tmp_path / "co2"), overwrite=overwrite, require_hardlinks=True)
    assert os.listdir(outside) == []


def test_copy_never_writes_through_a_symlink(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "archive")
    target = tmp_path / "target"
    target.write_text("precious\n")
    f = repo.write_content(FileInfo(0o100644, size=4), data=b"evil")
    c, _ = commit_raw_tree(repo, files=[("x", f)])
    for ow in ("none", "add-files", "union-files"):
        co = tmp_path / f"co-{ow}"
        co.mkdir()
        (co / "x").symlink_to(target)
        try:
            checkout_tree(repo, c, str(co), overwrite=ow if ow != "none" else "union-files")
        except CheckoutError:
            pass
        assert target.read_text() == "precious\n"


def test_missing_object(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    c, _ = commit_raw_tree(repo, files=[("x", "ab" * 32)])
    with pytest.raises(OstreeError, match=f"^Couldn't find file object '{'ab' * 32}'$"):
        checkout_tree(repo, c, str(tmp_path / "co"))


def test_parent_repo_objects_are_hardlinked(tmp_path, src):
    parent = Repo.create(str(tmp_path / "parent"), "bare")
    c = commit_dir(parent, src)
    child = Repo.create(str(tmp_path / "child"), "bare")
    child.config.set("core", "parent", parent.path)
    child.save_config()
    child = Repo.open(child.path)
    checkout_tree(child, c, str(tmp_path / "co"), require_hardlinks=True)
    assert st(tmp_path / "co" / "firstfile").st_nlink == 2


def test_many_copies_in_threads(tmp_path):
    """A directory's copies run on threads; the result and the first error are as if sequential."""
    repo = Repo.create(str(tmp_path / "r"), "archive")
    repo.fsync = False
    files = []
    for i in range(40):
        data = f"file {i}\n".encode() * (i + 1)
        files.append((f"f{i:02d}", repo.write_content(FileInfo(0o100640 | (i % 2) * 0o4000, 7, 8, len(data)),
                                                      data=data)))
    c, _ = commit_raw_tree(repo, files=files)
    checkout_tree(repo, c, str(tmp_path / "co"))
    for i in range(40):
        p = tmp_path / "co" / f"f{i:02d}"
        assert p.read_bytes() == f"file {i}\n".encode() * (i + 1)
        s = st(p)
        assert (s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)) == (7, 8, 0o640 | (i % 2) * 0o4000)
    broken = list(files)
    broken[30] = ("f30", "cd" * 32)
    broken[15] = ("f15", "ab" * 32)   # in a later batch than f30, but first in order
    c2, _ = commit_raw_tree(repo, files=broken)
    with pytest.raises(OstreeError, match=f"^Couldn't find file object '{'ab' * 32}'$"):
        checkout_tree(repo, c2, str(tmp_path / "co2"))
