"""rpm-ostree-py's pure parts: origin keys, ref escaping, package diffs, status layout, repo files."""

import os

import pytest

from ostree_py.core.keyfile import KeyFile
from ostree_py.rpmostree import RpmOstreeError
from ostree_py.rpmostree.core import diff_pkglists, escape_ref_part, nevra_str
from ostree_py.rpmostree.origin import Origin


def test_origin_refspec_becomes_baserefspec_with_requests():
    o = Origin(KeyFile.parse("[origin]\nrefspec=r:os/x86_64\n"))
    assert o.refspec == "r:os/x86_64" and not o.may_require_local_assembly()
    o.requested += ["vim", "foo"]
    o.requested_local.append("ab12:qux-1.0-1.noarch")
    text = o.to_keyfile().to_text()
    assert "baserefspec=r:os/x86_64\n" in text and "refspec=r:" not in text.replace("baserefspec", "")
    assert "requested=foo;vim;\n" in text and "requested-local=ab12:qux-1.0-1.noarch;\n" in text
    back = Origin(KeyFile.parse(text))
    assert back.requested == ["foo", "vim"] and back.local_nevras == {"qux-1.0-1.noarch": "ab12"}
    back.requested, back.requested_local = [], []
    text = back.to_keyfile().to_text()
    assert "refspec=r:os/x86_64\n" in text and "baserefspec" not in text and "[packages]" not in text


def test_origin_transient_state_and_override():
    kf = KeyFile.parse("[origin]\nbaserefspec=os\noverride-commit=" + "a" * 64 +
                       "\n[packages]\nrequested=x;\n[overrides]\nremove=y;\n[libostree-transient]\npinned=true\n")
    o = Origin(kf).new_for_upgrade()
    assert o.removals == ["y"] and o.override_commit is None
    text = o.to_keyfile().to_text()
    assert "pinned" not in text and "remove=y;" in text and "override-commit" not in text
    kept = Origin(kf).new_for_upgrade(keep_override=True)
    text = kept.to_keyfile().to_text()
    assert "pinned" not in text and "override-commit=" + "a" * 64 in text


def test_origin_without_refspec():
    with pytest.raises(RpmOstreeError, match="No origin/refspec"):
        Origin(KeyFile.parse("[origin]\nfoo=bar\n"))


@pytest.mark.parametrize("part, escaped", [
    ("foo", "foo"), ("1.0-1.noarch", "1.0-1.noarch"), ("python3_x", "python3__x"),
    ("1:2.0-3.x86_64", "1_3A2.0-3.x86__64"), ("g++", "g_2B_2B")])
def test_pkgcache_ref_escaping(part, escaped):
    assert escape_ref_part(part) == escaped


def test_nevra_and_diff(monkeypatch):
    from ostree_py.rpmostree import rpm
    monkeypatch.setattr(rpm, "vercmp", lambda a, b: (a > b) - (a < b))
    old = [("a", 0, "1.0", "1", "noarch"), ("b", 0, "1.0", "1", "noarch"), ("c", 0, "2.0", "1", "noarch")]
    new = [("a", 0, "1.1", "1", "noarch"), ("c", 0, "1.0", "1", "noarch"), ("d", 1, "1.0", "1", "x86_64")]
    up, down, removed, added = diff_pkglists(old, new)
    assert [x[1][2] for x in up] == ["1.1"] and [x[1][0] for x in down] == ["c"]
    assert removed == [old[1]] and added == [new[2]]
    assert nevra_str(new[2]) == "d-1:1.0-1.x86_64" and nevra_str(old[0]) == "a-1.0-1.noarch"


def test_status_key_column():
    from ostree_py.commands.rpmostree.status import _jsonpath, kv, values
    # rpm-ostree's key column: its longest key, InactiveRemoteOverrides (23)
    assert kv("Version", "1 (t)") == "  " + " " * 16 + "Version: 1 (t)\n"
    assert kv("InactiveRemoteOverrides", "x") == "  InactiveRemoteOverrides: x\n"
    # print_values: sorted case-insensitively, wrapped at 80 columns (64 for the values)
    pkgs = [f"pkg{i:02d}-with-a-long-name" for i in range(5)] + ["Zed", "alpha"]
    out = values("LayeredPackages", pkgs)
    lines = out.splitlines()
    assert lines[0] == "          LayeredPackages: alpha pkg00-with-a-long-name pkg01-with-a-long-name"
    assert lines[1] == " " * 27 + "pkg02-with-a-long-name pkg03-with-a-long-name"
    assert lines[2] == " " * 27 + "pkg04-with-a-long-name Zed" and len(lines) == 3
    assert values("LocalPackages", ["a b"], omit={"x"}) == "            LocalPackages: 'a b'\n"
    assert values("InactiveRequests", ["x"], omit={"x"}) == ""
    doc = {"deployments": [{"id": "a", "booted": True}, {"id": "b"}]}
    assert _jsonpath(doc, "$.deployments[1].id") == ["b"]
    assert _jsonpath(doc, "$.deployments[*].id") == ["a", "b"]


def test_repo_files(tmp_path):
    from ostree_py.rpmostree.repos import load_repo_configs
    d = tmp_path / "etc/yum.repos.d"
    d.mkdir(parents=True)
    (tmp_path / "etc/os-release").write_text('ID=x\nVERSION_ID="39"\n')
    (d / "a.repo").write_text("[main]\nx=1\n[fedora]\nname=Fedora $releasever\n"
                              "baseurl=http://h/$releasever/$basearch/ http://mirror/\ngpgcheck=1\n"
                              "gpgkey=file:///k1,file:///k2\n[off]\nbaseurl=file:///r\nenabled=0\n")
    (d / "ignored.txt").write_text("[x]\nbaseurl=http://no/\n")
    repos = load_repo_configs(str(tmp_path), "x86_64")
    assert [(r.id, r.enabled, r.gpgcheck) for r in repos] == [("fedora", True, True), ("off", False, False)]
    assert repos[0].name == "Fedora 39" and repos[0].baseurl == "http://h/39/x86_64/"
    assert repos[0].gpgkeys == ["file:///k1", "file:///k2"]
    assert repos[0].url("Packages/f.rpm") == "http://h/39/x86_64/Packages/f.rpm"


@pytest.mark.parametrize("argv,message", [
    (["--bogus"], "error: Unknown option --bogus"),
    (["--bogus=1", "--version"], "error: Unknown option --bogus"),
    ([], "error: No command specified"),
    (["override"], 'error: No "override" subcommand specified'),
    (["override", "--nope"], "error: Unknown option --nope"),
    (["frobnicate"], "error: Unknown command 'frobnicate'"),
])
def test_cli_usage_errors(argv, message):
    import os
    import subprocess
    import sys
    exe = os.path.join(os.path.dirname(sys.executable), "rpm-ostree-py")
    r = subprocess.run([exe, *argv], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.rstrip().splitlines()[-1] == message
    assert r.stdout == "" and r.stderr.startswith("Usage:")


def test_origin_initramfs_and_replacement_keys():
    kf = KeyFile.parse("[origin]\nrefspec=os\n")
    o = Origin(kf)
    o.set_regenerate_initramfs(True, ["-I", "/etc/b", "-I", "/etc/a"])
    o.initramfs_etc = ["/etc/z.conf", "/etc/a.conf"]
    o.replace_local = ["ab:pkg-2.0-1.noarch"]
    o.set_replace_repo_map({"fedora": ["systemd"], "other": ["kernel", "kernel-core"]})
    text = o.to_keyfile().to_text()
    assert "baserefspec=os\n" in text
    # dracut's argument order is kept; the file set is sorted
    assert "initramfs-args=-I;/etc/b;-I;/etc/a;\n" in text and "regenerate-initramfs=true\n" in text
    assert "initramfs-etc=/etc/a.conf;/etc/z.conf;\n" in text
    assert "replace-local=ab:pkg-2.0-1.noarch;\n" in text
    assert "replace=repo=fedora,systemd;repo=other,kernel,kernel-core;\n" in text
    back = Origin(KeyFile.parse(text))
    assert back.regenerate_initramfs and back.initramfs_args == ["-I", "/etc/b", "-I", "/etc/a"]
    assert back.replace_local_nevras == {"pkg-2.0-1.noarch": "ab"}
    assert back.replace_repo_map == {"fedora": ["systemd"], "other": ["kernel", "kernel-core"]}
    back.set_regenerate_initramfs(False, ["ignored"])
    back.initramfs_etc, back.replace_local, back.replace_repo = [], [], []
    text = back.to_keyfile().to_text()
    assert "refspec=os\n" in text and "baserefspec" not in text and "[rpmostree]" not in text
    with pytest.raises(RpmOstreeError, match="Unknown repo replacement source: url=x"):
        Origin(KeyFile.parse("[origin]\nrefspec=os\n[overrides]\nreplace=url=x,foo;\n")).replace_repo_map


def test_merge_upper_applies_an_overlay_upper_layer(tmp_path):
    """Whiteouts remove, opaque directories replace, copied-up files replace by rename
    (the lower hard link keeps its content), overlayfs's xattrs are dropped."""
    import os

    from ostree_py.rpmostree.scripts import merge_upper
    obj = tmp_path / "object"
    obj.write_text("object\n")
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "usr/d").mkdir(parents=True)
    (lower / "usr/opaque").mkdir()
    (lower / "usr/opaque/old").write_text("old")
    os.link(obj, lower / "usr/linked")
    (lower / "usr/gone").write_text("x")
    (upper / "usr/opaque").mkdir(parents=True)
    (upper / "usr/opaque/new").write_text("new")
    os.setxattr(upper / "usr/opaque", "trusted.overlay.opaque", b"y")
    (upper / "usr/linked").write_text("changed\n")
    os.setxattr(upper / "usr/linked", "trusted.overlay.origin", b"\0")
    os.setxattr(upper / "usr", "trusted.overlay.impure", b"y")
    os.setxattr(upper / "usr", "user.keep", b"1")
    os.mknod(upper / "usr/gone", 0o600 | 0o020000, os.makedev(0, 0))
    (upper / "usr/d").mkdir()
    (upper / "usr/d/added").write_text("added")
    os.chmod(upper / "usr", 0o700)
    merge_upper(str(upper), str(lower))
    assert sorted(os.listdir(lower / "usr")) == ["d", "linked", "opaque"]
    assert os.listdir(lower / "usr/opaque") == ["new"]
    assert (lower / "usr/d/added").read_text() == "added"
    assert (lower / "usr/linked").read_text() == "changed\n" and obj.read_text() == "object\n"
    assert os.listxattr(lower / "usr/linked") == [] and os.listxattr(lower / "usr/opaque") == []
    assert os.listxattr(lower / "usr") == ["user.keep"] and (lower / "usr").stat().st_mode & 0o777 == 0o700


def test_overlay_initrd_is_a_newc_cpio(tmp_path):
    import gzip
    import subprocess

    from ostree_py.rpmostree.initramfs import write_overlay
    etc = tmp_path / "etc"
    (etc / "cmdline.d").mkdir(parents=True)
    (etc / "cmdline.d/a.conf").write_text("rd.a=1\n")
    (etc / "dir/sub").mkdir(parents=True)
    (etc / "dir/sub/f").write_text("f")
    (etc / "link").symlink_to("dir/sub/f")
    out = tmp_path / "overlay.img"
    write_overlay(str(etc), ["/etc/cmdline.d/a.conf", "/etc/dir", "/etc/link"], str(out))
    data = gzip.decompress(out.read_bytes())
    p = subprocess.run(["cpio", "-it", "--quiet"], input=data, capture_output=True, check=True)
    assert p.stdout.decode().split() == ["etc/cmdline.d", "etc/cmdline.d/a.conf", "etc/dir", "etc/dir/sub",
                                         "etc/dir/sub/f", "etc/link"]
    dest = tmp_path / "x"
    dest.mkdir()
    subprocess.run(["cpio", "-idm", "--quiet"], input=data, cwd=dest, check=True)
    assert (dest / "etc/cmdline.d/a.conf").read_text() == "rd.a=1\n"
    assert os.readlink(dest / "etc/link") == "dir/sub/f"
    for files, msg in ((["/usr/x"], "Invalid non-/etc path: /usr/x"),
                       (["/etc/../x"], "invalid path /etc/../x: must be canonical"),
                       (["/etc/nosuch"], "Adding nosuch: stat: No such file or directory")):
        with pytest.raises(RpmOstreeError, match=msg.replace(".", r"\.")):
            write_overlay(str(etc), files, str(out))


def test_reporter_lines_inside_a_task():
    from ostree_py.rpmostree.core import Reporter
    out = []
    r = Reporter(out.append)
    with r.task("Running post scripts") as t:
        r.msg_line("foo.post: hi\n")
        t.result = "1 done"
    with r.task("Quiet") as t:
        t.result = "0 done"
    with pytest.raises(ValueError):
        with r.task("Broken"):
            r.msg("x")
            raise ValueError
    assert "".join(out) == ("Running post scripts... \nfoo.post: hi\nRunning post scripts... 1 done\n"
                            "Quiet... 0 done\nBroken... \nx\nBroken... failed\n")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_pkgname = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_+.", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(args=st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=10),
                     max_size=5),
       repos=st.dictionaries(_pkgname, st.lists(_pkgname, min_size=1, max_size=3, unique=True), max_size=3))
def test_origin_initramfs_args_and_replacements_round_trip(args, repos):
    """Whatever the dracut arguments (';' and '\\' included) and repo replacements, the
    origin keyfile gives them back unchanged, arguments in order."""
    o = Origin(KeyFile.parse("[origin]\nrefspec=os\n"))
    o.set_regenerate_initramfs(True, args)
    o.set_replace_repo_map(repos)
    back = Origin(KeyFile.parse(o.to_keyfile().to_text()))
    assert back.regenerate_initramfs and back.initramfs_args == args
    assert back.replace_repo_map == repos


def test_keyfile_list_escapes_as_glib():
    """GLib's g_key_file_get_string_list: an escaped ';' inside an item is a ';'."""
    k = KeyFile.parse("[g]\nk=a\\;b;c\\sd;\\\\;\n")
    assert k.get_list("g", "k") == ["a;b", "c d", "\\"]
    k.set_list("g", "k2", ["x;y", " lead", "b\\s"])
    assert "k2=x\\;y;\\slead;b\\\\s;\n" in k.to_text()
    assert KeyFile.parse(k.to_text()).get_list("g", "k2") == ["x;y", " lead", "b\\s"]
