"""rpm-ostree-py's pure parts: origin keys, ref escaping, package diffs, status layout, repo files."""

import pytest

from ostree_py.keyfile import KeyFile
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
