"""Unit tests of the commit machinery: timestamps, modifiers, mutable trees,
archive reading, metadata order, and commits built through the library."""

import bz2
import gzip
import io
import lzma
import os
import shutil
import stat
import subprocess
import tarfile
import time

import pytest

from ostree_py.core import gvariant
from ostree_py.ops.archive_input import ArchiveError, open_archive
from ostree_py.ops.commit import (CommitBuilder, CommitFilter, CommitModifier, FileStat, MutableTree,
                              _varuint64, modifier_apply, parse_skip_list, parse_statoverride, path_relative,
                              split_path, validate_filename, write_commit)
from ostree_py.ops.commit_cmd import CommitRequest, _gregex_replacement, run_commit
from ostree_py.ops.checkout import CheckoutOptions, checkout_tree
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant
from ostree_py.core.objects import COMMIT_TYPE
from ostree_py.repo import Repo
from ostree_py.core.timestamp import commit_time, parse_datetime, source_date_epoch


# ---------------------------------------------------------------- timestamps

@pytest.mark.parametrize("text,expected", [
    ("@1234567890", 1234567890),
    ("@-5", -5),
    ("@1.9", 1),
    ("2005-10-29 12:43:29 +0000", 1130589809),
    ("2005-10-29T12:43:29Z", 1130589809),
    ("2005-10-29 12:43:29 +02:00", 1130582609),
    ("Sat, 29 Oct 2005 12:43:29 +0200", 1130582609),
    ("2005-10-29 12:43:29 UTC", 1130589809),
])
def test_parse_datetime_absolute(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["garbage", "2005-13-01", "@99999999999999999999", "12:61"])
def test_parse_datetime_rejects(text):
    with pytest.raises(OstreeError) as e:
        parse_datetime(text)
    assert e.value.message == f"Could not parse '{text}'"


DATE_CASES = ["2005-10-29", "2005-10-29 12:43:29", "10/29/2005", "29 Oct 2005", "Oct 29 2005",
              "29-Oct-2005", "12:00", "3pm", "yesterday", "tomorrow 10:00", "1 day ago", "+2 hours",
              "last week", "next month", "monday", "2 weeks", "20051029", "2005-10-29 1:2:3", ""]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_parse_datetime_agrees_with_date_d(tz, monkeypatch):
    """GNU date uses the same parser (gnulib parse_datetime) as the reference."""
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        for text in DATE_CASES:
            env = dict(os.environ, TZ=tz)
            ref = subprocess.run(["date", "-d", text, "+%s"], capture_output=True, text=True, env=env)
            assert ref.returncode == 0, text
            ours = parse_datetime(text)
            assert abs(ours - int(ref.stdout)) <= 2, (text, ours, ref.stdout)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("value,expected", [("1234567890", 1234567890), (" 5", 5), ("5x", 5), ("0x10", 0),
                                            ("-5", -5), ("9223372036854775807", 2 ** 63 - 1)])
def test_source_date_epoch_like_strtoll(value, expected):
    assert source_date_epoch(value) == expected


def test_source_date_epoch_errors():
    for v in ("invalid", "", "x5"):
        with pytest.raises(OstreeError, match="^Failed to convert SOURCE_DATE_EPOCH$"):
            source_date_epoch(v)
    for v in ("12345678901234567890", "9223372036854775808"):
        with pytest.raises(OstreeError, match="^Parsing SOURCE_DATE_EPOCH: Numerical result out of range$"):
            source_date_epoch(v)


def test_commit_time_precedence():
    assert commit_time("@7", {"SOURCE_DATE_EPOCH": "5"}) == 7
    assert commit_time(None, {"SOURCE_DATE_EPOCH": "5"}) == 5
    assert commit_time(None, {"SOURCE_DATE_EPOCH": "-5"}) == 2 ** 64 - 5
    now = int(time.time())
    assert abs(commit_time(None, {}) - now) <= 2


# ---------------------------------------------------------------- modifiers

def test_statoverride_parsing_and_filter():
    adds, overrides = parse_statoverride("+1048 /a/nested/2\n2048 /a/nested/3\n=384 /a/readable-only\n\n")
    f = CommitFilter(mode_adds=adds, mode_overrides=overrides)
    st = FileStat(stat.S_IFREG | 0o644)
    assert f("/a/nested/2", st) and st.mode == stat.S_IFREG | 0o644 | 1048
    st = FileStat(stat.S_IFREG | 0o664)
    assert f("/a/readable-only", st) and st.mode == stat.S_IFREG | 0o600
    # adds are consumed; overrides are not, and apply every time
    st = FileStat(stat.S_IFREG | 0o644)
    f("/a/nested/2", st)
    assert st.mode == stat.S_IFREG | 0o644
    assert f.unmatched_statoverrides() == ["/a/nested/3"]
    with pytest.raises(OstreeError, match=r"^Malformed statoverride file \(no space found\)$"):
        parse_statoverride("noline")


def test_skip_list_consumed_and_unmatched_in_glib_order():
    f = CommitFilter(skip_list=parse_skip_list("/nope\n\n/zzz\n/aaa\n/x\n"))
    assert f("/x", FileStat(stat.S_IFREG)) is False
    assert f("/x", FileStat(stat.S_IFREG)) is True
    # the reference printed these three in this order (GHashTable iteration)
    assert f.unmatched_skips() == ["/aaa", "/nope", "/zzz"]


def test_filter_owner_and_ro_executables():
    f = CommitFilter(owner_uid=5, owner_gid=6, ro_executables=True)
    st = FileStat(stat.S_IFREG | 0o775, 1, 2)
    assert f("/x", st) and (st.uid, st.gid, st.mode) == (5, 6, stat.S_IFREG | 0o555)
    st = FileStat(stat.S_IFREG | 0o644)
    f("/y", st)
    assert st.mode == stat.S_IFREG | 0o644
    st = FileStat(stat.S_IFDIR | 0o777)
    f("/d", st)
    assert st.mode == stat.S_IFDIR | 0o777


def test_modifier_filter_then_canonical(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    adds, _ = parse_statoverride("2048 /f\n")
    mod = CommitModifier(canonical_permissions=True, filter=CommitFilter(owner_uid=7, mode_adds=adds))
    allow, m = modifier_apply(repo, mod, "/f", FileStat(stat.S_IFREG | 0o664, 1, 1))
    # the setuid bit added by the filter is removed by canonicalization, as in the reference
    assert allow and (m.mode, m.uid, m.gid) == (stat.S_IFREG | 0o644, 0, 0)
    allow, m = modifier_apply(repo, mod, "/l", FileStat(stat.S_IFLNK | 0o777, 3, 3))
    assert (m.mode, m.uid) == (stat.S_IFLNK | 0o777, 0)
    # without a modifier nothing changes, except in bare-user-only repos
    st = FileStat(stat.S_IFDIR | 0o1777, 4, 4)
    assert modifier_apply(repo, None, "/d", st) == (True, st)
    buo = Repo.create(str(tmp_path / "buo"), "bare-user-only")
    assert modifier_apply(buo, None, "/d", st)[1].mode == stat.S_IFDIR | 0o755


# ---------------------------------------------------------------- names and paths

def test_validate_filename_messages():
    validate_filename("ok name")
    for name, msg in ((".", "Invalid self-referential filename '.'"), ("..", "Invalid path uplink filename '..'"),
                      ("a/b", "Invalid / in filename a/b")):
        with pytest.raises(OstreeError) as e:
            validate_filename(name)
        assert e.value.message == msg
    bad = b"\x80".decode("utf-8", "surrogateescape")
    with pytest.raises(OstreeError, match="^Invalid UTF-8 in filename"):
        validate_filename(bad)


@pytest.mark.parametrize("src,expected", [
    ("./", ""), (".", ""), ("./usr/bin/", "usr/bin/"), ("/../x//y/", "x//y/"), ("//./", ""), ("usr", "usr"),
])
def test_path_relative(src, expected):
    assert path_relative(src) == expected


def test_path_relative_refuses_uplinks():
    with pytest.raises(OstreeError, match=r"^While making relative path \"a/../../b\":Invalid uplink"):
        path_relative("a/../../b")
    assert split_path("a/./b//c") == ["a", "b", "c"]


def test_gregex_replacement():
    import re
    m = re.search(r"(b)(i)n", "usr/bin/x")
    assert _gregex_replacement(r"\U\2\E\1\g<1>x")(m) == "Ibbx"
    assert _gregex_replacement(r"\0\0")(re.search("a", "a")) == "aa"
    assert _gregex_replacement(r"pre/\1\n")(re.search("(x)", "x")) == "pre/x\n"


# ---------------------------------------------------------------- mutable trees

def test_mutable_tree_conflicts_and_lookup():
    t = MutableTree()
    t.replace_file("f", "a" * 64)
    d = t.ensure_dir("d")
    assert t.ensure_dir("d") is d
    with pytest.raises(OstreeError, match="^Can't replace file with directory: f$"):
        t.ensure_dir("f")
    with pytest.raises(OstreeError, match="^Can't replace directory with file: d$"):
        t.replace_file("d", "b" * 64)
    assert t.lookup("f") == ("a" * 64, None)
    assert t.lookup("d") == (None, d)
    with pytest.raises(OstreeError, match="^No such file or directory: x$"):
        t.lookup("x")
    t.remove("f")
    t.remove("x", allow_noent=True)
    with pytest.raises(OstreeError, match="^No such file or directory: x$"):
        t.remove("x")


def _commit_dir(repo, path, modifier=None, **kw):
    with repo.transaction():
        with CommitBuilder(repo, modifier) as b:
            mt = MutableTree()
            b.write_dir_to_mtree(mt, str(path))
            tree, meta = b.write_mtree(mt)
        return write_commit(repo, tree, meta, timestamp=0, **kw)


def _tree(tmp_path):
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "f").write_text("f\n")
    (root / "a" / "b" / "g").write_bytes(os.urandom(300 * 1024))
    (root / "top").write_text("top\n")
    os.symlink("a/f", root / "link")
    return root


def test_lazy_tree_keeps_contents_until_modified(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "archive")
    c = _commit_dir(repo, _tree(tmp_path))
    commit = repo.load_commit(c)
    t = MutableTree.from_commit(repo, c)
    assert t.is_lazy and t.contents == commit.root_tree
    sub = t.lookup("a")[1]
    assert not t.is_lazy and t.contents == commit.root_tree and sub.is_lazy
    sub.replace_file("new", "0" * 64)
    assert sub.contents is None and t.contents is None
    # an empty tree becomes a lazy copy; a non-empty one does not
    e = MutableTree()
    assert e.fill_empty_from_dirtree(repo, commit.root_tree, commit.root_meta)
    assert e.meta == commit.root_meta and e.contents == commit.root_tree
    e.replace_file("x", "0" * 64)
    assert not e.fill_empty_from_dirtree(repo, commit.root_tree, commit.root_meta)


def test_library_commit_is_stable_across_modes_and_threads(tmp_path):
    src = _tree(tmp_path)
    csums = set()
    for mode in ("bare", "bare-user", "archive"):
        for threads in (1, 4):
            repo = Repo.create(str(tmp_path / f"r-{mode}-{threads}"), mode)
            with repo.transaction():
                with CommitBuilder(repo, threads=threads) as b:
                    mt = MutableTree()
                    b.write_dir_to_mtree(mt, str(src))
                    csums.add(b.write_mtree(mt))
    assert len(csums) == 1


def test_ref_tree_overlay_and_stats(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    c = _commit_dir(repo, _tree(tmp_path))
    with repo.transaction():
        stats = repo.txn_stats
        with CommitBuilder(repo) as b:
            mt = MutableTree()
            b.write_commit_to_mtree(mt, c)
            assert b.write_mtree(mt) == (repo.load_commit(c).root_tree, repo.load_commit(c).root_meta)
    # nothing was re-serialised or re-read
    assert (stats.metadata_total, stats.content_total) == (0, 0)


def test_generate_sizes_metadata(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "archive")
    mod = CommitModifier(generate_sizes=True)
    with repo.transaction():
        with CommitBuilder(repo, mod) as b:
            mt = MutableTree()
            b.write_dir_to_mtree(mt, str(_tree(tmp_path)))
            b.write_mtree(mt)
            sizes = b.sizes_metadata()
    # 3 files, 1 symlink, 3 dirtrees, their dirmetas (deduplicated)
    types = sorted(e[-1] for e in sizes)
    assert types.count(1) == 4 and types.count(2) == 3
    assert [e[:32] for e in sizes] == sorted(e[:32] for e in sizes)
    assert _varuint64(0) == b"\0" and _varuint64(300) == b"\xac\x02"


def test_consume_removes_the_input(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    src = _tree(tmp_path)
    _commit_dir(repo, src, CommitModifier(consume=True))
    assert not src.exists()


# ---------------------------------------------------------------- commit metadata

def test_write_commit_keeps_order_and_duplicates(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    src = _tree(tmp_path)
    with repo.transaction():
        with CommitBuilder(repo) as b:
            mt = MutableTree()
            b.write_dir_to_mtree(mt, str(src))
            tree, meta = b.write_mtree(mt)
        md = [("z", Variant("s", "1")), ("a", Variant("s", "2")), ("a", Variant("i", 3))]
        c = write_commit(repo, tree, meta, None, "s", "b", md, 5)
        with pytest.raises(OstreeError, match="^Empty metadata key$"):
            write_commit(repo, tree, meta, None, "", "", [("", Variant("s", "x"))], 5)
    data = repo.load_metadata_bytes("commit", c)
    # the a{sv} keeps both "a" entries in the given order
    assert data.index(b"z\0") < data.index(b"a\0") < data.rindex(b"a\0")
    assert gvariant.deserialize(COMMIT_TYPE, data)[5] == gvariant.bswap64(5)


# ---------------------------------------------------------------- archives

def _tar(entries, compress=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data, pax, link in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.linkname = link or ""
            if kind == tarfile.REGTYPE:
                ti.size = len(data)
            ti.pax_headers = pax or {}
            tf.addfile(ti, io.BytesIO(data) if data else None)
    raw = buf.getvalue()
    return {None: lambda d: d, "gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[compress](raw)


@pytest.mark.parametrize("compress", [None, "gz", "bz2", "xz"])
def test_tar_entries_like_libarchive(compress):
    data = _tar([(".", tarfile.DIRTYPE, b"", None, None),
                 ("d", tarfile.DIRTYPE, b"", None, None),
                 ("d/f", tarfile.REGTYPE, b"hello", {"SCHILY.xattr.user.z": "1", "SCHILY.xattr.user.a": "2"}, None),
                 ("d/h", tarfile.LNKTYPE, b"", None, "d/f"),
                 ("l", tarfile.SYMTYPE, b"", None, "d/f")], compress)
    entries = []
    for e in open_archive(io.BytesIO(data), "what"):
        entries.append((e.path, stat.S_IFMT(e.mode), e.hardlink, e.symlink, e.xattrs, e.read()))
    assert entries == [
        ("./", stat.S_IFDIR, None, None, [], b""),
        ("d/", stat.S_IFDIR, None, None, [], b""),          # the stored trailing slash is kept
        ("d/f", stat.S_IFREG, None, None, [(b"user.a", b"2"), (b"user.z", b"1")], b"hello"),  # reversed
        ("d/h", 0, "d/f", None, [], b""),                   # a hardlink has only permission bits
        ("l", stat.S_IFLNK, None, "d/f", [], b""),
    ]


def test_archive_errors():
    with pytest.raises(ArchiveError, match="^what: Unrecognized archive format$"):
        list(open_archive(io.BytesIO(os.urandom(2000) + b"x"), "what"))
    good = _tar([("f", tarfile.REGTYPE, os.urandom(200000), None, None)], "gz")
    with pytest.raises(ArchiveError, match="^what: truncated gzip input$"):
        list(open_archive(io.BytesIO(good[:1000]), "what"))
    plain = _tar([(".", tarfile.DIRTYPE, b"", None, None), ("f", tarfile.REGTYPE, b"x" * 5000, None, None)])
    with pytest.raises(ArchiveError, match="^Truncated tar archive$"):
        for e in open_archive(io.BytesIO(plain[:3000]), "what"):
            e.read()
    assert list(open_archive(io.BytesIO(b""), "what")) == []


def test_cpio_hardlinks_point_at_the_first_name(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    (d / "a").write_text("data\n")
    os.link(d / "a", d / "b")
    names = subprocess.run(["find", "."], cwd=d, capture_output=True, check=True).stdout
    for fmt in ("newc", "odc", "bin"):
        out = subprocess.run(["cpio", "-o", "-H", fmt], cwd=d, input=names, capture_output=True, check=True).stdout
        got = [(e.path.lstrip("./"), e.hardlink, e.read()) for e in open_archive(io.BytesIO(out), "w")]
        files = [g for g in got if g[0]]
        # the second name links to the first; GNU cpio writes the data with the last link only
        assert len(files) == 2 and files[0][1] is None and files[1][1].lstrip("./") == files[0][0], fmt
        assert files[1][2] == b"data\n", fmt


# ---------------------------------------------------------------- the porcelain

def _run(repo, **kw):
    return run_commit(repo, CommitRequest(environ={}, **kw))


def test_run_commit_parent_bindings_and_skip(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare", collection_id="org.example.C")
    src = str(_tree(tmp_path))
    r1 = _run(repo, branch="main", tree=[f"dir={src}"], timestamp="@1", add_metadata_string=["k=v"])
    r2 = _run(repo, branch="main", tree=[f"dir={src}"], timestamp="@2", keep_metadata=["k"], bind_ref=["b", "a"])
    c2 = repo.load_commit(r2.checksum)
    assert c2.parent == r1.checksum and repo.resolve_rev("main") == r2.checksum
    assert list(c2.metadata) == ["k", "ostree.ref-binding", "ostree.collection-binding"]
    assert c2.metadata["ostree.ref-binding"] == Variant("as", ["a", "b", "main"])
    r3 = _run(repo, branch="main", tree=[f"dir={src}"], timestamp="@3", skip_if_unchanged=True)
    assert r3.skipped and r3.checksum == r2.checksum and repo.resolve_rev("main") == r2.checksum
    r4 = _run(repo, orphan=True, tree=[f"dir={src}"], timestamp="@4")
    assert repo.load_commit(r4.checksum).parent is None
    assert repo.load_commit(r4.checksum).metadata["ostree.ref-binding"] == Variant("as", [])


def test_run_commit_errors(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    src = str(_tree(tmp_path))
    cases = [
        (dict(tree=[f"dir={src}"]), "A branch must be specified with --branch, or use --orphan"),
        (dict(branch="b", keep_metadata=["k"], tree=[f"dir={src}"]),
         "Either --branch or --parent must be specified when using --keep-metadata"),
        (dict(branch="b", parent="abc"), "Invalid rev abc"),
        (dict(branch="b", tree=["foo"]), "Missing type in tree specification 'foo'"),
        (dict(branch="b", tree=["zip=x"]), "Invalid tree type specification 'zip'"),
        (dict(branch="b", canonical_permissions=True, owner_uid=5), 
         "Cannot specify both --canonical-permissions and non-zero --owner-uid"),
        (dict(branch="b", tree=[f"dir={src}"], timestamp="garbage"), "Could not parse 'garbage'"),
        (dict(branch="b", tree=[f"dir={src}"], add_metadata_string=["noeq"]),
         "Missing '=' in KEY=VALUE metadata 'noeq'"),
        (dict(branch="b", tree=[f"dir={src}"], fsync="maybe"), "Invalid boolean argument 'maybe'"),
    ]
    for kw, msg in cases:
        with pytest.raises(OstreeError) as e:
            _run(repo, **kw)
        assert e.value.message == msg, kw
    assert repo.resolve_rev("b", allow_noent=True) is None


def test_editor_message(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\ngrep -q 'Branch: main' \"$1\" || exit 3\n"
                      "printf '\\n# c\\n  Subject  \\n\\n\\nline 1  \\n#x\\nline 2\\n\\n' > \"$1\"\n")
    editor.chmod(0o755)
    r = run_commit(repo, CommitRequest(branch="main", editor=True, tree=[f"dir={_tree(tmp_path)}"],
                                       timestamp="@1", environ={"EDITOR": str(editor), "TERM": "xterm"}))
    c = repo.load_commit(r.checksum)
    assert (c.subject, c.body) == ("  Subject", "line 1\nline 2")
    with pytest.raises(OstreeError, match="^Terminal is dumb, but EDITOR unset$"):
        run_commit(repo, CommitRequest(branch="main", editor=True, environ={"TERM": "dumb"}))
    with pytest.raises(OstreeError, match="^There was a problem with the editor 'false'Child process exited with code 1$"):
        run_commit(repo, CommitRequest(branch="main", editor=True, environ={"EDITOR": "false", "TERM": "xterm"}))


def test_branch_replacing_a_ref_directory(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "bare")
    os.makedirs(os.path.join(repo.path, "refs", "heads", "dirref", "x"))
    r = _run(repo, branch="dirref", tree=[f"dir={_tree(tmp_path)}"], timestamp="@1")
    assert repo.resolve_rev("dirref") == r.checksum


def test_failed_commit_leaves_no_ref_no_object_and_an_empty_reusable_staging_dir(tmp_path):
    repo = Repo.create(str(tmp_path / "r"), "archive")
    src = str(_tree(tmp_path))
    with pytest.raises(OstreeError):
        _run(repo, branch="b", tree=[f"dir={src}"], timestamp="garbage")
    staging = [n for n in os.listdir(repo.tmp_dir) if n.startswith("staging-") and not n.endswith("-lock")]
    assert len(staging) == 1 and os.listdir(os.path.join(repo.tmp_dir, staging[0])) == []
    assert repo.resolve_rev("b", allow_noent=True) is None and list(repo.iter_objects()) == []
    _run(repo, branch="b", tree=[f"dir={src}"], timestamp="@1")
    assert [n for n in os.listdir(repo.tmp_dir) if n.startswith("staging-")] == []
    shutil.rmtree(src)


def test_trees_deeper_than_the_recursion_limit(tmp_path):
    """Walking, overlaying and writing trees is iterative: a 1200-deep tree commits."""
    import sys
    top = tmp_path / "deep"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    depth = max(1200, sys.getrecursionlimit() + 100)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(os.open("f", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    os.close(fd)
    repo = Repo.create(str(tmp_path / "r"), "bare")
    c = _commit_dir(repo, top)
    with repo.transaction():
        with CommitBuilder(repo, CommitModifier(owner_uid=5)) as b:
            mt = MutableTree()
            b.write_commit_to_mtree(mt, c)
            tree, _ = b.write_mtree(mt)
    assert tree != repo.load_commit(c).root_tree
    os.system(f"rm -rf {top}")


def test_commit_and_checkout_report_counts(tmp_path):
    src = tmp_path / "src"
    for d in range(3):
        (src / f"d{d}").mkdir(parents=True)
        for f in range(4):
            (src / f"d{d}" / f"f{f}").write_text(f"{d}{f}")
    repo = Repo.create(str(tmp_path / "repo"), "bare-user")
    seen = []
    with repo.transaction(), CommitBuilder(repo, progress=seen.append) as b:
        mt = MutableTree()
        b.write_dir_to_mtree(mt, str(src))
        tree, meta = b.write_mtree(mt)
    assert seen and seen[-1] == 12 and seen == sorted(seen)
    csum = write_commit(repo, tree, meta, subject="s", timestamp=0)

    counts = []
    checkout_tree(repo, csum, str(tmp_path / "co"), CheckoutOptions(mode="user", progress=counts.append))
    assert counts == sorted(counts) and counts[-1] >= 12
    assert (tmp_path / "co" / "d2" / "f3").read_text() == "23"
