"""The deploy transaction (ostree_py.sysroot.transaction): each policy flag, the
final cleanups, staging's refusals, and a failure at any point of the write
leaving the deployment list and boot entries either as they were (before the
commit point) or wholly new."""

import os
import shutil
import subprocess
import sys

import pytest

from ostree_py.errors import OstreeError
from ostree_py.sysroot import Sysroot, SysrootError
from ostree_py.sysroot import deploy as deploy_mod
from ostree_py.sysroot import origin as _origin
from ostree_py.sysroot import stage as stage_mod
from ostree_py.sysroot import transaction as T
from ostree_py.sysroot.sysroot import Deployment

OS = "testos"
REF = "testos/main"
OURS = [sys.executable, "-m", "ostree_py.commands"]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    # immutable deployment dirs could not be removed with the tmp dirs
    monkeypatch.setenv("OSTREE_SYSROOT_DEBUG", "mutable-deployments")
    monkeypatch.delenv("OSTREE_SYSROOT", raising=False)


def _ours(*args):
    env = dict(os.environ, OSTREE_SYSROOT_DEBUG="mutable-deployments", LC_ALL="C.UTF-8")
    env.pop("OSTREE_SYSROOT", None)
    p = subprocess.run([*OURS, *map(str, args)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout


def _write_tree(root, version):
    files = {
        "usr/lib/modules/5.0.0/vmlinuz": f"kernel {version}\n",
        "usr/lib/modules/5.0.0/initramfs.img": "an initramfs\n",
        "usr/lib/os-release": f'NAME=TestOS\nID=testos\nVERSION_ID={version}\n',
        "usr/etc/conf": f"default {version}\n",
        "usr/share/version": f"{version}\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A folder sysroot with stateroot testos holding [B (v2), A (v1)] (A deployed
    with root=LABEL=test, B with --retain), and v3 pulled but not deployed; plus an
    unreachable commit in its repo for the prune tests."""
    base = tmp_path_factory.mktemp("world")
    sr = base / "sysroot"
    sr.mkdir()
    _ours("admin", "init-fs", sr)
    _ours("admin", "os-init", f"--sysroot={sr}", OS)
    repo = sr / "ostree/repo"
    revs = {}
    for v in (1, 2, 3, 4):
        tree = base / f"t{v}"
        _write_tree(tree, v)
        _ours("commit", f"--repo={repo}", "-b", REF if v < 4 else "junk", f"--add-metadata-string=version={v}",
              f"--tree=dir={tree}")
        revs[v] = _ours("rev-parse", f"--repo={repo}", REF if v < 4 else "junk").strip()
        if v == 1:
            _ours("admin", "deploy", f"--sysroot={sr}", f"--os={OS}", "--karg=root=LABEL=test", revs[1])
        elif v == 2:
            _ours("admin", "deploy", f"--sysroot={sr}", f"--os={OS}", "--retain", revs[2])
    _ours("refs", f"--repo={repo}", "--delete", "junk")
    return {"template": str(sr), "revs": revs, "base": base}


@pytest.fixture
def sysroot(world, tmp_path):
    path = str(tmp_path / "sysroot")
    subprocess.run(["cp", "-a", world["template"], path], check=True)
    sr = Sysroot(path)
    sr.initialize()
    sr.load()
    return sr


def _on_disk(sr):
    """(csum, serial) of each deployment and the boot entries' text, read afresh."""
    fresh = Sysroot(sr.path)
    fresh.initialize()
    fresh.load()
    entries = {}
    loader = os.path.join(sr.path, "boot/loader/entries")
    for name in sorted(os.listdir(loader)):
        with open(os.path.join(loader, name)) as f:
            entries[name] = f.read()
    return [(d.csum, d.deployserial) for d in fresh.deployments], entries


def _ids(deployments):
    return [(d.csum, d.deployserial) for d in deployments]


def _commit_object(sr, csum):
    return os.path.join(sr.path, f"ostree/repo/objects/{csum[:2]}/{csum[2:]}.commit")


def _deploy(sr, rev, **kw):
    policy = T.DeployPolicy(**kw)
    return T.deploy(sr, OS, rev, _origin.new_from_refspec(REF), policy=policy)


# ---------------------------------------------------------------- the list, on disk

def test_default_policy_replaces_the_old_deployments_but_the_merge_one(sysroot, world):
    b, a = _ids(sysroot.deployments)
    new = _deploy(sysroot, world["revs"][3])
    ids, entries = _on_disk(sysroot)
    assert ids == [(world["revs"][3], 0), b]
    assert not os.path.exists(os.path.join(sysroot.path, f"ostree/deploy/{OS}/deploy/{a[0]}.{a[1]}"))
    assert len(entries) == 2
    # the merge deployment's kernel arguments are inherited
    assert "root=LABEL=test" in new.bootconfig.get("options")
    assert _ids(sysroot.deployments) == ids


def test_not_default_appends_after_the_merge_deployment(sysroot, world):
    b, a = _ids(sysroot.deployments)
    _deploy(sysroot, world["revs"][3], not_default=True)
    assert _on_disk(sysroot)[0] == [b, (world["revs"][3], 0)]


def test_retain_keeps_every_deployment(sysroot, world):
    before = _ids(sysroot.deployments)
    _deploy(sysroot, world["revs"][3], retain=True)
    assert _on_disk(sysroot)[0] == [(world["revs"][3], 0)] + before


def test_retain_rollback_keeps_those_after_the_merge_deployment(sysroot, world):
    before = _ids(sysroot.deployments)
    _deploy(sysroot, world["revs"][3], retain_rollback=True)
    assert _on_disk(sysroot)[0] == [(world["revs"][3], 0)] + before


def test_retain_pending_without_booted_or_merge_keeps_everything(sysroot, world):
    before = _ids(sysroot.deployments)
    T.deploy(sysroot, OS, world["revs"][3], _origin.new_from_refspec(REF), merge=None,
             policy=T.DeployPolicy(retain_pending=True))
    assert _on_disk(sysroot)[0] == [(world["revs"][3], 0)] + before


def test_no_merge_without_retain_keeps_only_the_new_deployment(sysroot, world):
    new = T.deploy(sysroot, OS, world["revs"][3], _origin.new_from_refspec(REF), merge=None)
    assert _on_disk(sysroot)[0] == [(world["revs"][3], 0)]
    assert "root=LABEL=test" not in (new.bootconfig.get("options") or "")


def test_kargs_override_the_merge_deployments(sysroot, world):
    new = T.deploy(sysroot, OS, world["revs"][3], _origin.new_from_refspec(REF), kargs=["quiet", "x=1"])
    assert new.bootconfig.get("options").startswith("quiet x=1")
    assert sum("options quiet x=1 ostree=" in t for t in _on_disk(sysroot)[1].values()) == 1


# ---------------------------------------------------------------- the list, around a booted deployment

def _fake_sysroot(booted_index, names=("p", "b", "r", "r2")):
    """An in-memory sysroot whose deployments are ``names`` (all of testos but ``o``,
    of otheros), the one at ``booted_index`` booted."""
    class Fake:
        pass
    fake = Fake()
    fake.deployments = []
    for i, n in enumerate(names):
        d = Deployment(i, "otheros" if n == "o" else OS, n * 32, 0)
        fake.deployments.append(d)
    fake.booted_deployment = fake.deployments[booted_index] if booted_index is not None else None
    return fake


def _names(lst):
    return [d.csum[0] if d.csum != "n" * 64 else "N" for d in lst]


NEW = Deployment(0, OS, "n" * 64, 0)


@pytest.mark.parametrize("flags, expected", [
    ({}, "Nb"),
    ({"retain": True}, "Npbrr"),
    ({"retain_pending": True}, "Npb"),
    ({"retain_rollback": True}, "Nbrr"),
    ({"retain_pending": True, "retain_rollback": True}, "Npbrr"),
    ({"not_default": True}, "bN"),
    ({"not_default": True, "retain_rollback": True}, "bNrr"),
])
def test_deployment_list_around_the_booted_deployment(flags, expected):
    fake = _fake_sysroot(1)
    got = T.new_deployment_list(fake, None, NEW, fake.booted_deployment, **flags)
    assert "".join(_names(got)) == expected


def test_deployment_list_keeps_pinned_and_other_stateroots():
    fake = _fake_sysroot(0, names=("b", "o", "r"))
    fake.deployments[2].origin = _origin.new_from_refspec(REF)
    fake.deployments[2].origin.set_boolean(_origin.TRANSIENT_GROUP, "pinned", True)
    got = T.new_deployment_list(fake, OS, NEW, fake.booted_deployment)
    assert "".join(_names(got)) == "Nbor"


# ---------------------------------------------------------------- cleanup

def test_prune_cleanups_drop_unreachable_commits(sysroot, world):
    junk = world["revs"][4]
    assert os.path.exists(_commit_object(sysroot, junk))
    _deploy(sysroot, world["revs"][3], cleanup=T.PRUNE)
    assert not os.path.exists(_commit_object(sysroot, junk))


def test_postclean_prunes_too(sysroot, world):
    _deploy(sysroot, world["revs"][3], cleanup=T.POSTCLEAN)
    assert not os.path.exists(_commit_object(sysroot, world["revs"][4]))


def test_no_prune_keeps_unreachable_commits_but_removes_old_deployments(sysroot, world):
    b, a = _ids(sysroot.deployments)
    _deploy(sysroot, world["revs"][3], cleanup=T.NO_PRUNE)
    assert os.path.exists(_commit_object(sysroot, world["revs"][4]))
    assert not os.path.exists(os.path.join(sysroot.path, f"ostree/deploy/{OS}/deploy/{a[0]}.{a[1]}"))


def test_a_cleanup_callable_runs_once_after_the_list_is_written(sysroot, world):
    seen = []
    _deploy(sysroot, world["revs"][3], cleanup=lambda s: seen.append(_ids(s.deployments)))
    assert seen == [_on_disk(sysroot)[0]]
    # the callable replaces ostree's cleanup: nothing pruned
    assert os.path.exists(_commit_object(sysroot, world["revs"][4]))


# ---------------------------------------------------------------- staging

@pytest.fixture
def staging_spy(monkeypatch):
    calls = []
    monkeypatch.setattr(stage_mod, "lock_finalization", lambda: calls.append("lock"))

    def stage_tree(sysroot, osname, revision, origin, merge, kargs=None, overlay_initrds=None, locked=False):
        calls.append(("stage", osname, revision, merge, kargs, overlay_initrds, locked))
        return "staged"
    monkeypatch.setattr(stage_mod, "stage_tree", stage_tree)
    return calls


@pytest.mark.parametrize("flags, message", [
    ({"retain_pending": True}, "--stage cannot currently be combined with --retain arguments"),
    ({"retain_rollback": True, "lock_finalization": True},
     "--stage cannot currently be combined with --retain arguments"),
    ({"not_default": True}, "--stage cannot currently be combined with --not-as-default"),
])
def test_stage_refuses_list_policies_before_anything_is_done(sysroot, world, staging_spy, flags, message):
    before = _on_disk(sysroot)
    with pytest.raises(SysrootError, match=f"^{message}$"):
        _deploy(sysroot, world["revs"][3], stage=True, **flags)
    assert staging_spy == []
    assert _on_disk(sysroot) == before


def test_stage_locks_finalization_first_and_writes_no_list(sysroot, world, staging_spy):
    before = _on_disk(sysroot)
    ran = []
    merge = sysroot.deployments[0]
    new = _deploy(sysroot, world["revs"][3], stage=True, lock_finalization=True, retain=True,
                  cleanup=lambda s: ran.append(s))
    assert new == "staged"
    assert staging_spy == ["lock", ("stage", OS, world["revs"][3], merge, None, None, True)]
    assert ran == []   # staging ends with a cleanup that never prunes, not the policy's
    assert _on_disk(sysroot) == before


def test_stage_without_lock_does_not_lock(sysroot, world, staging_spy):
    _deploy(sysroot, world["revs"][3], stage=True)
    assert staging_spy[0][0] == "stage" and staging_spy[0][-1] is False and "lock" not in staging_spy


def test_staging_needs_a_booted_system(sysroot, world):
    before = _on_disk(sysroot)
    with pytest.raises(SysrootError, match="^Cannot stage deployment: Not currently booted into an OSTree system$"):
        _deploy(sysroot, world["revs"][3], stage=True)
    assert _on_disk(sysroot) == before


# ---------------------------------------------------------------- failures mid-way

def _fail_at(monkeypatch, target):
    """Raise Injected at the ``target``-th checkpoint of the sysroot code; count them all."""
    seen = []

    def checkpoint(name):
        seen.append(name)
        if len(seen) == target:
            raise SysrootError(f"injected at {name} #{target}")
    monkeypatch.setattr(deploy_mod, "checkpoint", checkpoint)
    return seen


def test_a_failure_at_any_point_leaves_the_old_list_or_the_whole_new_one(world, tmp_path, monkeypatch):
    def fresh(i):
        path = str(tmp_path / f"s{i}")
        subprocess.run(["cp", "-a", world["template"], path], check=True)
        sr = Sysroot(path)
        sr.initialize()
        sr.load()
        return sr

    probe = fresh("probe")
    old = _on_disk(probe)
    seen = _fail_at(monkeypatch, 0)
    _deploy(probe, world["revs"][3], cleanup=T.PRUNE)
    new = _on_disk(probe)
    total = len(seen)
    assert "bootloader" in seen and total >= 8, seen
    outcomes = []
    for n in range(1, total + 1):
        sr = fresh(n)
        _fail_at(monkeypatch, n)
        # the cleanups wrap what fails in them: "Cleaning deployments: injected ..."
        with pytest.raises(OstreeError, match="injected at"):
            _deploy(sr, world["revs"][3], cleanup=T.PRUNE)
        monkeypatch.setattr(deploy_mod, "checkpoint", lambda name: None)
        got = _on_disk(sr)
        assert got in (old, new), (n, seen[n - 1], got)
        # the Sysroot object describes what is on disk
        assert _ids(sr.deployments) == got[0], n
        assert [d.index for d in sr.deployments] == list(range(len(got[0]))), n
        outcomes.append("old" if got == old else "new")
        shutil.rmtree(sr.path)
    # old until the commit point, new from there on
    first_new = outcomes.index("new")
    assert outcomes == ["old"] * first_new + ["new"] * (total - first_new), outcomes
    assert seen[first_new - 1] == "bootloader" and first_new > seen.index("bootloader") + 1, (seen, outcomes)


# ---------------------------------------------------------------- admin deploy's decisions

def _merge(options):
    d = Deployment(0, OS, "m" * 64, 0)
    from ostree_py.sysroot.bootloader.bls import BootConfig
    d.bootconfig = BootConfig()
    if options is not None:
        d.bootconfig.set("options", options)
    return d


@pytest.mark.parametrize("overrides, merge_options, expected", [
    ({}, "root=x quiet", None),
    ({"none": True}, "root=x quiet", []),
    ({"append": ["console=ttyS0"]}, "root=x quiet", ["root=x", "quiet", "console=ttyS0"]),
    ({"replace": ["root=y"], "append": ["a=1"]}, "root=x quiet", ["root=y", "quiet", "a=1"]),
    ({"delete": ["quiet"]}, "root=x quiet", ["root=x"]),
    # ostree 2024.x: repeated, each only if its key is present, quoted values kept whole
    ({"delete": ["quiet", "absent", "a=1"]}, "root=x quiet a=1", ["root=x"]),
    ({"delete": ['t="1 2"']}, 'root=x t="1 2"', ["root=x"]),
    ({"append": ['t="1 2" b']}, "root=x", ["root=x", 't="1 2"', "b"]),
    ({"none": True, "append": ["a=1"]}, "root=x quiet", ["a=1"]),
    ({"replace": ["root=y"]}, None, ["root=y"]),
])
def test_karg_overrides(overrides, merge_options, expected):
    assert T.KargOverrides(**overrides).resolve(_merge(merge_options)) == expected


def test_karg_delete_with_nothing_to_delete_from():
    with pytest.raises(SysrootError, match="^No key 'quiet' found$"):
        T.KargOverrides(delete=["quiet=1"]).resolve(None)


def test_admin_deploy_without_booted_system_needs_an_os(sysroot):
    with pytest.raises(SysrootError, match="and no --os= argument given$"):
        T.admin_deploy(sysroot, REF)
    with pytest.raises(SysrootError, match="^Not currently booted into an OSTree system and no stateroot given$"):
        T.deploy(sysroot, None, REF, _origin.new_from_refspec(REF))


def test_admin_deploy_no_prune_and_origin_file(sysroot, world, tmp_path):
    origin = tmp_path / "origin"
    origin.write_text("[origin]\nrefspec=other:ref\n")
    new = T.admin_deploy(sysroot, world["revs"][3], osname=OS, origin_file=str(origin), no_prune=True)
    assert new.origin.get("origin", "refspec") == "other:ref"
    assert os.path.exists(_commit_object(sysroot, world["revs"][4]))
    with pytest.raises(SysrootError, match="^Failed to open file “/nonexistent”: No such file or directory$"):
        T.admin_deploy(sysroot, world["revs"][3], osname=OS, origin_file="/nonexistent")
