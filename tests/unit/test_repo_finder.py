"""find-remotes (ostree_py.remote.repo_finder) and create-usb (ostree_py.remote.create_usb) over local
file:// repositories made with ostree-py itself; tests/interop/test_collections_interop.py
checks output and repositories against the reference."""

import io
import os

import pytest

from ostree_py.remote import repo_finder as RF
from ostree_py.commands import _cli, main
from ostree_py.remote.create_usb import create_usb
from ostree_py.errors import OstreeError, UsageError
from ostree_py.core.ghash import str_hash
from ostree_py.repo.reflist import list_collection_refs
from ostree_py.repo.remotes import Remote
from ostree_py.repo import Repo

APPS, OS = "org.example.Apps", "org.example.Os"


def ostree(*argv, check=True):
    out, err = io.StringIO(), io.StringIO()
    env = dict(os.environ)
    env.pop("OSTREE_PY_DEBUG", None)
    ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=env, prog="ostree")
    rc = main([str(a) for a in argv], ctx)
    if check and rc != 0:
        raise AssertionError(f"ostree {argv} -> {rc}: {err.getvalue()}")
    return rc, out.getvalue(), err.getvalue()


def commit(repo, tree, branch, *extra):
    return ostree(f"--repo={repo}", "commit", "-b", branch, "-s", branch, f"--tree=dir={tree}", *extra)[1].strip()


@pytest.fixture
def world(tmp_path):
    """apps (app1, app2) and os (os/main) collection repos, and a local repo with remotes for them."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f").write_text("x\n")
    w = {"tmp": tmp_path, "tree": tree}
    for name, cid, refs in (("apps", APPS, ("app1", "app2")), ("os", OS, ("os/main",))):
        r = tmp_path / name
        ostree(f"--repo={r}", "init", "--mode=archive", f"--collection-id={cid}")
        for ref in refs:
            w[ref] = commit(r, tree, ref, "--timestamp=2020-01-01T00:00:00Z")
        ostree(f"--repo={r}", "summary", "-u")
    local = tmp_path / "local"
    ostree(f"--repo={local}", "init")
    for name, cid in (("apps", APPS), ("os", OS)):
        ostree(f"--repo={local}", "remote", "add", "--no-gpg-verify", f"{name}-remote",
               f"file://{tmp_path / name}", f"--collection-id={cid}")
    w["local"] = local
    return w


def test_collection_ref_hash_is_xor_of_string_hashes():
    assert RF.collection_ref_hash(("a.b", "r")) == str_hash("a.b") ^ str_hash("r")
    assert RF.collection_ref_hash((None, "r")) == str_hash("r")


def test_validate_finders():
    assert RF.validate_finders(["mount", "config"]) == ["mount", "config"]
    with pytest.raises(UsageError, match="must not be empty"):
        RF.validate_finders([""])
    with pytest.raises(UsageError, match="duplicate finder type given in --finders option: \u2018config\u2019"):
        RF.validate_finders(["config", "config"])
    with pytest.raises(UsageError, match="\u2018foo\u2019"):
        RF.validate_finders(["foo"])


def test_default_finders_from_config(world):
    repo = Repo.open(world["local"])
    assert RF.default_finders(repo) == ["config", "mount"]
    repo.config.set("core", "default-repo-finders", "mount;")
    assert RF.default_finders(repo) == ["mount"]
    repo.config.set("core", "default-repo-finders", "bogus")
    with pytest.raises(OstreeError, match="Invalid configured repo-finder 'bogus'"):
        RF.default_finders(repo)


def _result(name, priority=100, lm=0, n=1):
    t = RF.CollectionRefTable()
    for i in range(n):
        t[(APPS, f"r{i}")] = "0" * 64
    return RF.FinderResult(Remote(name), "OstreeRepoFinderConfig", priority, t, lm)


def test_results_order_priority_then_time_then_fewer_refs_then_name():
    rs = [_result("b"), _result("a"), _result("c", priority=50), _result("d", n=2), _result("e", n=0)]
    assert [r.remote.name for r in RF.sort_results(rs)] == ["c", "e", "a", "b", "d"]
    rs = [_result("a", lm=20), _result("b", lm=10)]
    assert [r.remote.name for r in RF.sort_results(rs)] == ["b", "a"]


def test_dynamic_remote_name_escapes_uri_and_keyring():
    assert RF.dynamic_remote_name("file:///m/.ostree/repo", "r1.trustedkeys.gpg") == \
        "file_3A_2F_2F_2Fm_2F.ostree_2Frepo_r1.trustedkeys.gpg"


def test_find_config_remotes(world):
    repo = Repo.open(world["local"])
    refs = [(APPS, "app1"), (OS, "os/main"), (APPS, "nope")]
    results = RF.find_remotes(repo, refs, ["config"])
    # same priority and ref count: the older summary (apps was made first), or the name
    assert [r.remote.name for r in results] == ["apps-remote", "os-remote"]
    apps = dict(results[0].ref_to_checksum.items())
    assert apps == {(APPS, "app1"): world["app1"], (OS, "os/main"): None, (APPS, "nope"): None}
    assert results[0].summary_last_modified > 0
    assert RF.find_remotes(repo, [(APPS, "nope")], ["config"]) == []
    assert RF.find_remotes(repo, refs, ["mount"], mounts=[]) == []


def test_newest_commit_wins_across_remotes(world):
    tmp = world["tmp"]
    # a second remote for the apps collection with a newer app1
    ostree(f"--repo={tmp / 'apps2'}", "init", "--mode=archive", f"--collection-id={APPS}")
    newer = commit(tmp / "apps2", world["tree"], "app1", "--timestamp=2021-01-01T00:00:00Z")
    ostree(f"--repo={tmp / 'apps2'}", "summary", "-u")
    ostree(f"--repo={world['local']}", "remote", "add", "--no-gpg-verify", "apps-newer",
           f"file://{tmp / 'apps2'}", f"--collection-id={APPS}")
    repo = Repo.open(world["local"])
    results = RF.find_remotes(repo, [(APPS, "app1"), (APPS, "app2")], ["config"])
    by_name = {r.remote.name: dict(r.ref_to_checksum.items()) for r in results}
    assert by_name["apps-newer"][(APPS, "app1")] == newer
    assert by_name["apps-remote"] == {(APPS, "app1"): None, (APPS, "app2"): world["app2"]}


def test_cli_output_and_usage_errors(world):
    loc = f"--repo={world['local']}"
    _rc, out, _ = ostree(loc, "find-remotes", "--finders=config", APPS, "app1", APPS, "nope")
    assert f"    - ({APPS}, app1) = {world['app1']}\n" in out
    assert f"    - ({APPS}, nope) = (not found)\n" in out
    assert out.endswith(f"1/2 refs were found.\nRefs not found in any remote:\n - ({APPS}, nope)\n")
    assert " - Finder: OstreeRepoFinderConfig\n - Keyring: apps-remote.trustedkeys.gpg\n - Priority: 100\n" in out
    assert ostree(loc, "find-remotes", "--finders=config", APPS, "nope")[1] == "No results.\n"
    for args, msg in ((["x.y"], "At least one COLLECTION-ID REF pair must be specified"),
                      (["x.y", "a", "b"], "Only complete COLLECTION-ID REF pairs may be specified"),
                      (["--mirror", "x.y", "a"], "When --mirror is specified, --pull must also be"),
                      (["--finders=config,foo", "x.y", "a"], "Unknown or duplicate finder type")):
        rc, _out, err = ostree(loc, "find-remotes", *args, check=False)
        assert rc == 1 and msg in err


def test_pull_needs_signatures(world):
    # GPG verification is unconditional: unsigned commits cannot be pulled
    rc, out, err = ostree(f"--repo={world['local']}", "find-remotes", "--finders=config", "--pull",
                          APPS, "app1", check=False)
    assert rc == 1 and "1/1 refs were found.\n" in out
    assert err == f"error: Failed to pull some refs from the remotes: ({APPS}, app1)\n"
    assert not Repo.open(world["local"]).list_refs()


def test_create_usb_layout(world, tmp_path):
    src = Repo.open(world["tmp"] / "apps")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    assert create_usb(src, str(mnt), [(APPS, "app1")]) == ".ostree/repo"
    usb = Repo.open(mnt / ".ostree" / "repo")
    assert usb.mode == "archive"
    assert list_collection_refs(usb) == {(APPS, "app1"): world["app1"]}
    assert (mnt / ".ostree" / "repo" / "summary").is_file()
    assert not (mnt / ".ostree" / "repos.d").exists()
    # elsewhere on the volume: a repos.d link, a new one each time (the reference
    # compares the links' own inodes with the repository's)
    create_usb(src, str(mnt), [(APPS, "app2")], dest_repo="some/dest")
    assert os.readlink(mnt / ".ostree" / "repos.d" / "00-generated") == "../../some/dest"
    create_usb(src, str(mnt), [(APPS, "app1")], dest_repo="some/dest")
    assert sorted(os.listdir(mnt / ".ostree" / "repos.d")) == ["00-generated", "01-generated"]
    assert set(list_collection_refs(Repo.open(mnt / "some" / "dest"))) == {(APPS, "app1"), (APPS, "app2")}
    with pytest.raises(OstreeError, match=r"No such branch \(org.example.Os, os/main\) in repository summary"):
        create_usb(src, str(mnt), [(OS, "os/main")])
    with pytest.raises(OstreeError, match=r"opendir\(.*nonexist\): No such file or directory"):
        create_usb(src, str(tmp_path / "nonexist"), [(APPS, "app1")])


def test_create_usb_from_remote_refs_and_cli(world, tmp_path):
    local = world["local"]
    ostree(f"--repo={local}", "pull", "apps-remote", "app1")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    _rc, out, _ = ostree(f"--repo={local}", "create-usb", mnt, APPS, "app1")
    assert out == (f"Copied 1/1 refs successfully from \u2018{local}\u2019 to \u2018.ostree/repo\u2019 "
                   f"repository in \u2018{mnt}\u2019.\n")
    rc, _out, err = ostree(f"--repo={local}", "create-usb", "--commit=" + "0" * 64, mnt, APPS, "app1", APPS, "x",
                           check=False)
    assert rc == 1 and "The --commit option can only be used" in err


def test_mount_finder_finds_usb_repos(world, tmp_path):
    src = Repo.open(world["tmp"] / "apps")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    create_usb(src, str(mnt), [(APPS, "app1")], dest_repo="weird")
    create_usb(src, str(mnt), [(APPS, "app2")])
    repo = Repo.open(world["local"])
    results = RF.find_remotes(repo, [(APPS, "app1"), (APPS, "app2")], ["mount"], mounts=[str(mnt)])
    # one result per repository; the repos.d one first
    uris = [r.remote.url for r in results]
    assert sorted(uris) == sorted([f"file://{os.path.realpath(mnt / 'weird')}",
                                   f"file://{os.path.realpath(mnt / '.ostree' / 'repo')}"])
    for r in results:
        assert r.finder == "OstreeRepoFinderMount" and r.priority == 50
        assert r.remote.keyring == "apps-remote.trustedkeys.gpg" and r.remote.refspec_name == "apps-remote"
        assert r.remote.name == RF.dynamic_remote_name(r.remote.url, "apps-remote.trustedkeys.gpg")
    # without a remote of the collection there is no keyring: nothing is found
    ostree(f"--repo={world['local']}", "remote", "delete", "apps-remote")
    assert RF.find_remotes(Repo.open(world["local"]), [(APPS, "app1")], ["mount"], mounts=[str(mnt)]) == []


def test_user_visible_mounts():
    assert RF._user_visible("/media/usb", "vfat", "/dev/sdb1", "rw")
    assert not RF._user_visible("/", "ext4", "/dev/sda1", "rw")
    assert not RF._user_visible("/proc", "proc", "proc", "rw")
    assert not RF._user_visible("/media/usb", "vfat", "/dev/sdb1", "rw,x-gvfs-hide")
    assert RF._user_visible("/srv/data", "ext4", "/dev/sdc1", "rw,x-gvfs-show")
    assert not RF._user_visible("/srv/data", "ext4", "/dev/sdc1", "rw")
