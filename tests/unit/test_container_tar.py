"""The ostree-ext tar stream: export, import, and the refusal of hostile streams.

A refused stream must leave the repository as it was: no object in objects/,
none staged, no ref.
"""

import io
import os
import subprocess
import sys
import tarfile

import pytest

from ostree_py import Repo, commit
from ostree_py.container.tar_export import export_commit_tar, object_tar_path
from ostree_py.container.tar_import import import_commit_tar
from ostree_py.container.tarcodec import HARDLINK, PAX, REGULAR, TarWriter, encode_header
from ostree_py.core.content import FileInfo, content_checksum
from ostree_py.errors import OstreeError


def make_tree(root):
    """usr/etc (exported as etc), symlinks (one target over 100 bytes), a hardlink pair,
    an empty file, xattrs, a path over 100 bytes, an empty directory."""
    os.makedirs(root / "usr/etc/ssh")
    os.makedirs(root / "usr/bin")
    os.makedirs(root / "var/lib/empty")
    long_dir = root / "usr/share" / ("d" * 80) / ("e" * 40)
    os.makedirs(long_dir)
    (long_dir / "deep").write_text("deep file\n")
    (root / "usr/etc/motd").write_text("hello\n")
    (root / "usr/etc/ssh/sshd_config").write_text("PermitRootLogin no\n")
    (root / "usr/bin/tool").write_bytes(os.urandom(200_000))
    os.chmod(root / "usr/bin/tool", 0o755)
    os.link(root / "usr/bin/tool", root / "usr/bin/tool-again")
    (root / "usr/bin/empty").write_bytes(b"")
    os.symlink("../etc/motd", root / "usr/bin/motd-link")
    os.symlink("t" * 150, root / "usr/bin/long-target")
    os.setxattr(root / "usr/bin/tool", "user.origin", b"test\0binary")
    os.setxattr(root / "usr/etc/motd", "user.note", b"x")


@pytest.fixture
def source(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    make_tree(tree)
    repo = Repo.create(str(tmp_path / "src"), mode="bare-user")
    res = commit(repo, str(tree), branch="main", subject="Tree",
                 add_metadata_string=["version=1.0"])
    return repo, res.checksum


def exported(repo, rev) -> bytes:
    buf = io.BytesIO()
    export_commit_tar(repo, rev, buf)
    return buf.getvalue()


def stored_files(repo):
    """Every object file in objects/ and every file a transaction staged, and the refs."""
    out = []
    for base in ("objects", "tmp", "refs"):
        for d, _, files in os.walk(os.path.join(repo.path, base)):
            out += [os.path.join(d, f) for f in files]
    return sorted(p for p in out if "/tmp/cache" not in p)


@pytest.fixture
def dest(tmp_path):
    return Repo.create(str(tmp_path / "dest"), mode="bare-user")


def test_round_trip_gives_the_same_commit(source, dest):
    repo, csum = source
    assert import_commit_tar(dest, io.BytesIO(exported(repo, "main"))) == csum
    assert dest.load_commit(csum).subject == "Tree"
    assert not dest.is_commit_partial(csum)
    # every file of the tree is there, with its owner, mode, xattrs and bytes
    assert tree_files(dest, csum) == tree_files(repo, csum)
    assert any(xattrs for _, _, xattrs, _ in tree_files(dest, csum).values())


def tree_files(repo, csum):
    """{path: (mode, symlink target, xattrs, bytes)} of a commit's files."""
    out = {}
    stack = [("", repo.load_commit(csum).root_tree)]
    while stack:
        path, tree = stack.pop()
        t = repo.load_dirtree(tree)
        for name, fcsum in t.files:
            info, stream = repo.load_file(fcsum)
            data = b""
            if stream is not None:
                data = stream.read()
                stream.close()
            out[f"{path}/{name}"] = (info.mode, info.symlink_target, sorted(info.xattrs), data)
        stack += [(f"{path}/{name}", tcsum) for name, tcsum, _ in t.dirs]
    return out


def test_layout_order_and_paths(source):
    """The entries in the order and shape ostree-ext writes them (tarfile reads them)."""
    repo, csum = source
    members = tarfile.open(fileobj=io.BytesIO(exported(repo, "main"))).getmembers()
    names = [m.name for m in members]
    assert names[0] == "."
    assert names[1:5] == ["sysroot", "sysroot/ostree", "sysroot/ostree/repo",
                          "sysroot/ostree/repo/objects"]
    assert names[5] == "sysroot/ostree/repo/objects/00" and names[260] == "sysroot/ostree/repo/objects/ff"
    assert names[261:270] == ["sysroot/ostree/repo/" + d for d in (
        "extensions", "refs", "refs/heads", "refs/mirrors", "refs/remotes", "state", "tmp",
        "tmp/cache", "config")]
    assert names[270] == object_tar_path(csum, "commit").decode()
    # /usr/etc is written as /etc, its files hardlinked to their objects
    by_name = {m.name: m for m in members}
    assert "etc/motd" in by_name and "usr/etc/motd" not in by_name
    motd = by_name["etc/motd"]
    assert motd.islnk() and motd.linkname.endswith(".file")
    obj_index = names.index(motd.linkname)
    assert names[obj_index - 1] == motd.linkname + "-xattrs-link"
    assert obj_index < names.index("etc/motd")
    # xattrs as PAX records on the object
    assert by_name[motd.linkname].pax_headers.get("SCHILY.xattr.user.note") == "x"
    # the empty file is a plain empty entry; a missing var/tmp is added, 01777
    assert by_name["usr/bin/empty"].isreg() and by_name["usr/bin/empty"].size == 0
    assert by_name["var/tmp"].isdir() and by_name["var/tmp"].mode == 0o1777
    long_path = [n for n in names if n.endswith("/deep")]
    assert long_path and len(long_path[0]) > 100


def test_repo_config_is_bare_split_xattrs(source):
    repo, _ = source
    t = tarfile.open(fileobj=io.BytesIO(exported(repo, "main")))
    cfg = t.extractfile("sysroot/ostree/repo/config").read()
    assert cfg == b"[core]\nrepo_version=1\nmode=bare-split-xattrs\n"


def _refused(dest, data: bytes, match: str):
    before = stored_files(dest)
    with pytest.raises(OstreeError, match=match):
        import_commit_tar(dest, io.BytesIO(data))
    assert stored_files(dest) == before


def test_truncation_at_any_point_is_refused(source, dest):
    repo, _ = source
    data = exported(repo, "main")
    # inside the commit object, inside a file's data, at a header boundary, before the end
    commit_at = data.index(b".commit") // 512 * 512
    for cut in (commit_at + 700, len(data) // 2 + 17, len(data) - 1024 - 512, len(data) - 1024):
        _refused(dest, data[:cut], "Truncated|incomplete")


def test_corrupted_content_is_refused(source, dest):
    repo, _ = source
    data = bytearray(exported(repo, "main"))
    # a byte of the 200 kB binary's object
    member = [m for m in tarfile.open(fileobj=io.BytesIO(bytes(data))).getmembers()
              if m.isreg() and m.size == 200_000][0]
    data[member.offset_data + 1000] ^= 0xFF
    _refused(dest, bytes(data), "checksum|Corrupted")


def _stream(*entries) -> bytes:
    buf = io.BytesIO()
    w = TarWriter(buf)
    for args, kw in entries:
        w.add(*args, **kw)
    w.finish()
    return buf.getvalue()


def _e(*args, **kw):
    return args, kw


def test_paths_outside_the_layout_are_refused(dest):
    for bad in (b"/etc/passwd", b"../evil", b"usr/../../evil",
                b"sysroot/ostree/repo/objects/ab/../../../x"):
        _refused(dest, _stream(_e(bad, REGULAR, size=1, data=b"x")), "absolute|'\\.\\.'")
    _refused(dest, _stream(_e(b"sysroot/ostree/repo/hooks/run", REGULAR, size=1, data=b"x")),
             "Invalid object path")


def test_hardlink_to_a_missing_object_is_refused(source, dest):
    repo, csum = source
    data = exported(repo, "main")
    missing = "ab" * 32
    # the genuine stream, with one more tree path linked to an object it does not hold
    evil = data[:-1024] + _stream(_e(b"usr/bin/evil", HARDLINK,
                                     linkname=object_tar_path(missing, "file")))
    _refused(dest, evil, "missing object")
    evil = data[:-1024] + _stream(_e(b"usr/bin/evil", HARDLINK, linkname=b"etc/shadow"))
    _refused(dest, evil, "not an object")


def test_content_without_its_xattrs_and_second_commit_are_refused(source, dest):
    repo, csum = source
    data = exported(repo, "main")
    info = FileInfo(0o100644, 0, 0, 1)
    fcsum = content_checksum(info, b"x")
    evil = data[:-1024] + _stream(_e(object_tar_path(fcsum, "file"), REGULAR, size=1, data=b"x"))
    _refused(dest, evil, "Missing xattrs")
    evil = data[:-1024] + _stream(_e(object_tar_path(csum, "commit"), REGULAR, size=1, data=b"x"))
    _refused(dest, evil, "multiple commit")


def test_object_missing_from_the_stream_is_refused(source, dest):
    """A stream whose commit reaches an object the stream lacks: refused as incomplete."""
    repo, csum = source
    t = tarfile.open(fileobj=io.BytesIO(exported(repo, "main")))
    buf = io.BytesIO()
    out = tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT)
    dropped = None
    for m in t.getmembers():
        if m.name.endswith(".dirtree") and dropped is None and m.name != "":
            dropped = m.name
            continue
        out.addfile(m, t.extractfile(m) if m.isreg() else None)
    out.close()
    _refused(dest, buf.getvalue(), "incomplete")


def test_oversized_records_are_refused(dest):
    big = encode_header(b"", PAX, size=1 << 30, magic=b"ustar\x0000")
    _refused(dest, big + bytes(1024), "PAX record .* exceeds")
    big = encode_header(b"././@LongLink", b"L", size=1 << 30)
    _refused(dest, big + bytes(1024), "long name record .* exceeds")
    meta = encode_header(object_tar_path("ab" * 32, "commit"), REGULAR, 0o644, size=11 << 20)
    _refused(dest, meta + bytes(1024), "exceeds")


def test_bad_header_checksum_is_refused(source, dest):
    repo, _ = source
    data = bytearray(exported(repo, "main"))
    data[600] ^= 0x01  # in the second header's name
    _refused(dest, bytes(data), "checksum")


def test_importing_twice_and_into_an_archive_repo(source, tmp_path):
    repo, csum = source
    data = exported(repo, "main")
    arch = Repo.create(str(tmp_path / "arch"), mode="archive")
    assert import_commit_tar(arch, io.BytesIO(data)) == csum
    assert import_commit_tar(arch, io.BytesIO(data)) == csum
    assert not arch.is_commit_partial(csum)


_PREPARE = r"""
import os, sys
from ostree_py import Repo, commit
work, size = sys.argv[1], int(sys.argv[2])
tree = os.path.join(work, "tree")
os.makedirs(tree)
with open(os.path.join(tree, "big"), "wb") as f:
    block = bytes(range(256)) * 4096
    for _ in range(size // len(block)):
        f.write(block)
for i in range(50):
    with open(os.path.join(tree, f"small{i}"), "w") as f:
        f.write(str(i))
src = Repo.create(os.path.join(work, "src"), mode="bare-user")
print(commit(src, tree, branch="main").checksum)
"""

# run in a process of its own: its peak RSS is that of encapsulate + unencapsulate
_MEASURE = r"""
import os, resource, sys
from ostree_py import Repo
from ostree_py.container.encapsulate import encapsulate, unencapsulate
work, csum = sys.argv[1], sys.argv[2]
src = Repo.open(os.path.join(work, "src"))
encapsulate(src, "main", "oci:" + os.path.join(work, "img"))
dest = Repo.create(os.path.join(work, "dest"), mode="bare-user")
assert unencapsulate(dest, "ostree-unverified-image:oci:" + os.path.join(work, "img")).commit == csum
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_memory_stays_flat_in_file_size(tmp_path):
    """Encapsulating and unencapsulating a 96 MiB file takes no more memory than a
    1 MiB one (give or take 24 MiB): contents are streamed both ways."""
    peaks = []
    for size in (1 << 20, 96 << 20):
        work = tmp_path / str(size)
        work.mkdir()
        csum = subprocess.run([sys.executable, "-c", _PREPARE, str(work), str(size)],
                              check=True, capture_output=True, text=True).stdout.strip()
        out = subprocess.run([sys.executable, "-c", _MEASURE, str(work), csum],
                             check=True, capture_output=True, text=True)
        peaks.append(int(out.stdout.split()[-1]))  # KiB
    print("peak RSS KiB", peaks)
    assert peaks[1] - peaks[0] < 24 * 1024, peaks


def test_xattrs_objects_and_links_to_them(source, dest, monkeypatch):
    """ostree-ext's other spelling (a .file-xattrs object, the link a hardlink to it) is
    read; a link to an xattrs object the stream lacks, or too many of them, are refused."""
    import hashlib
    from ostree_py.container import tar_import
    from ostree_py.core.objects import xattrs_to_bytes
    repo, csum = source
    data = exported(repo, "main")
    head = data[:-1024]
    info = FileInfo(0o100644, 0, 0, 1, "", [(b"user.a", b"1")])
    fcsum = content_checksum(info, b"x")
    xdata = xattrs_to_bytes(info.xattrs)
    xcsum = hashlib.sha256(xdata).hexdigest()
    xpath = b"sysroot/ostree/repo/objects/%s/%s.file-xattrs" % (xcsum[:2].encode(), xcsum[2:].encode())
    good = head + _stream(
        _e(xpath, REGULAR, size=len(xdata), data=xdata),
        _e(object_tar_path(fcsum, "file-xattrs-link"), HARDLINK, linkname=xpath),
        _e(object_tar_path(fcsum, "file"), REGULAR, size=1, data=b"x"))
    assert import_commit_tar(dest, io.BytesIO(good)) == csum
    assert dest.load_file(fcsum)[0].xattrs == [(b"user.a", b"1")]
    other = Repo.create(str(dest.path) + "-2", mode="bare-user")
    dangling = head + _stream(
        _e(object_tar_path(fcsum, "file-xattrs-link"), HARDLINK, linkname=xpath),
        _e(object_tar_path(fcsum, "file"), REGULAR, size=1, data=b"x"))
    _refused(other, dangling, "missing object")
    monkeypatch.setattr(tar_import, "MAX_XATTRS_CACHE", len(xdata) - 1)
    _refused(other, good, "Too many xattrs")
