"""ostree 2023.1-2025.2's admin additions (issue 17): ``admin set-default``, an empty
/etc beside /usr/etc, the ``initial-var`` behaviour of a new stateroot's /var.

The reference here is 2022.7, which has none of these, so the 2025.2 behaviour is
asserted directly; it comes from ostree's sources (ot-admin-builtin-set-default.c,
ostree-sysroot-deploy.c: prepare_deployment_etc, prepare_deployment_var) and from
the 2025.2 scripts test-admin-stateroot.sh, test-admin-deploy-emptyetc.sh and
test-admin-deploy-var.sh.
"""

import os

import pytest


@pytest.fixture(autouse=True)
def _mutable_deployments(monkeypatch):
    # immutable deployment dirs could not be removed with pytest's tmp dirs
    monkeypatch.setenv("OSTREE_SYSROOT_DEBUG", "mutable-deployments")
    monkeypatch.delenv("OSTREE_SYSROOT", raising=False)


def _tree(root, files):
    base = {"usr/lib/modules/5.0.0/vmlinuz": "kernel\n",
            "usr/lib/modules/5.0.0/initramfs.img": "initramfs\n",
            "usr/lib/os-release": "ID=testos\n", "usr/etc/conf": "x\n"}
    for rel, text in {**base, **files}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            p.mkdir(exist_ok=True)
        else:
            p.write_text(text)
    return root


class Env:
    """A folder sysroot with stateroot ``testos`` and a repo to commit trees into."""

    def __init__(self, cli, tmp_path):
        self.cli, self.tmp = cli, tmp_path
        self.sr = tmp_path / "sysroot"
        self.sr.mkdir()
        self.repo = self.sr / "ostree/repo"
        self.n = 0
        assert cli(["admin", "init-fs", str(self.sr)]).rc == 0
        assert cli(["admin", "stateroot-init", f"--sysroot={self.sr}", "testos"]).rc == 0

    def commit(self, files):
        self.n += 1
        tree = _tree(self.tmp / f"tree{self.n}", files)
        r = self.cli([f"--repo={self.repo}", "commit", "-b", "os", f"--tree=dir={tree}"])
        assert r.rc == 0, r
        return self.cli([f"--repo={self.repo}", "rev-parse", "os"]).out.strip()

    def admin(self, *argv):
        return self.cli(["admin", argv[0], f"--sysroot={self.sr}", *argv[1:]], prog="ostree")

    def var(self):
        return self.sr / "ostree/deploy/testos/var"


@pytest.fixture
def env(cli, tmp_path):
    return Env(cli, tmp_path)


def _status_order(env):
    """(stateroot, checksum) of each deployment, in admin status' order."""
    out = env.admin("status").out
    return [tuple(line.split()[-2:]) for line in out.splitlines() if line.startswith(("  ", "* "))
            and not line.startswith("    ")]


# ------------------------------------------------------------------ set-default

def test_set_default_moves_the_deployment_to_the_front(env):
    rev = env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    assert env.cli(["admin", "stateroot-init", f"--sysroot={env.sr}", "other"]).rc == 0
    assert env.admin("deploy", "--os=other", rev).rc == 0
    assert _status_order(env) == [("other", f"{rev}.0"), ("testos", f"{rev}.0")]
    r = env.admin("set-default", "1")
    assert r.rc == 0 and r.err == ""
    # another stateroot first: a new boot configuration (test-admin-stateroot.sh)
    assert "bootconfig swap: yes" in r.out
    assert _status_order(env) == [("testos", f"{rev}.0"), ("other", f"{rev}.0")]
    # the default boot entry (the highest "version") is testos' now
    entries = [p.read_text() for p in (env.sr / "boot/loader/entries").iterdir()]
    default = max(entries, key=lambda text: int(text.split("\nversion ")[1].split()[0]))
    assert "ostree=/ostree/boot.1/testos/" in default


def test_set_default_of_equal_boot_entries_swaps_only_the_links(env):
    rev = env.commit({})
    for _ in range(2):
        assert env.admin("deploy", "--os=testos", "--retain", "os").rc == 0
    before = _status_order(env)
    assert before == [("testos", f"{rev}.1"), ("testos", f"{rev}.0")]
    r = env.admin("set-default", "1")
    assert r.rc == 0 and "bootconfig swap: no" in r.out
    assert _status_order(env) == before[::-1]


def test_set_default_index_errors(env):
    env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    assert env.admin("set-default", "1").as_tuple() == \
        (1, "", "error: Out of range deployment index 1, expected < 1\n")
    r = env.admin("set-default")
    assert r.rc == 1 and r.err.startswith("Usage:\n  ostree admin set-default [OPTION…] INDEX\n")
    assert r.err.endswith("error: INDEX must be specified\n")
    # atoi(): not a number is index 0, already the default: nothing to do
    assert env.admin("set-default", "zero").as_tuple() == (0, "", "")


def test_set_default_is_listed(cli):
    assert "  set-default        Make deployment INDEX the default\n" in cli(["admin", "--help"], prog="ostree").out


# ------------------------------------------------------------------ empty /etc

def test_empty_etc_beside_usr_etc_is_dropped(env):
    rev = env.commit({"etc": None})
    r = env.admin("deploy", "--os=testos", "os")
    assert r.rc == 0, r
    etc = env.sr / f"ostree/deploy/testos/deploy/{rev}.0/etc"
    assert (etc / "conf").read_text() == "x\n"


def test_populated_etc_beside_usr_etc_is_refused(env):
    env.commit({"etc/other": "y\n"})
    r = env.admin("deploy", "--os=testos", "os")
    assert r.rc == 1 and r.err.startswith("error: ") and "Tree contains both /etc and /usr/etc" in r.err


# ------------------------------------------------------------------ initial-var

def test_version_lists_initial_var(cli):
    assert "\n  - initial-var\n" in cli(["--version"]).out


def test_stateroot_init_leaves_var_empty(env):
    assert os.listdir(env.var()) == []


def test_first_deployment_fills_the_stateroot_var(env):
    rev = env.commit({"var/lib/somefile": "somedata\n"})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    var = env.var()
    assert (var / "lib/somefile").read_text() == "somedata\n"
    # no usr/lib/tmpfiles.d in the tree: the legacy directories too
    assert (var / "log").is_dir() and (var / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert os.readlink(var / "run") == "../run" and os.readlink(var / "lock") == "../run/lock"
    # a copy, not a hardlink into the repository
    assert (var / "lib/somefile").stat().st_ino != \
        (env.sr / f"ostree/deploy/testos/deploy/{rev}.0/var/lib/somefile").stat().st_ino
    # a stateroot var with content is left alone
    env.commit({"var/lib/somefile": "somedata\n", "var/lib/someotherfile": "x\n"})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    assert not (var / "lib/someotherfile").exists()


def test_tree_with_tmpfiles_gets_no_legacy_var(env):
    env.commit({"var/lib/somefile": "somedata\n", "usr/lib/tmpfiles.d": None})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    assert sorted(os.listdir(env.var())) == [".ostree-selabeled", "lib"]


def test_tree_without_var_leaves_it_empty(env):
    env.commit({})
    r = env.admin("deploy", "--os=testos", "os")
    assert r.rc == 0 and r.err == ""
    assert os.listdir(env.var()) == [".ostree-selabeled"]


# ------------------------------------------------------------------ lock-finalization
# (staging needs a booted system: tests/interop/test_staged.py has the rest)

def test_lock_finalization_without_a_staged_deployment(env):
    assert env.admin("lock-finalization").as_tuple() == (1, "", "error: No staged deployment\n")
    assert env.admin("lock-finalization", "-u").as_tuple() == (1, "", "error: No staged deployment\n")


def test_deploy_lock_finalization_stages(env):
    # it implies --stage, which needs a booted system (2022.7 deployed at once)
    env.commit({})
    r = env.admin("deploy", "--os=testos", "--lock-finalization", "os")
    assert r.as_tuple() == (1, "", "error: Cannot stage deployment: Not currently booted into an OSTree system\n")


# ------------------------------------------------------------------ pin
# (booted, pending and rollback on a booted system: tests/interop/test_staged.py)

def test_pin_deployment_types_need_a_booted_system(env):
    env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    for name in ("booted", "pending", "rollback"):
        assert env.admin("pin", name).as_tuple() == (1, "", f"error: Deployment type not found: {name}\n")
    # only the exact words: anything else is still an invalid index
    assert env.admin("pin", "boot").as_tuple() == (1, "", "error: Invalid index: boot\n")


def test_pin_prints_the_index_it_read(env):
    env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    assert env.admin("pin", "00").as_tuple() == (0, "Deployment 0 is now pinned\n", "")
    assert env.admin("pin", "+0").as_tuple() == (0, "Deployment 0 is already pinned\n", "")
    assert env.admin("pin", "-u", " 0").as_tuple() == (0, "Deployment 0 is now unpinned\n", "")


def test_pin_help_is_2025s(cli):
    out = cli(["admin", "pin", "--help"], prog="ostree").out
    assert out.startswith("Usage:\n  ostree admin pin [OPTION…] INDEX\n\nChange the \"pinning\" state of a "
                          "deployment, INDEX can be >= 0 or one of booted, pending or rollback strings\n\n")


# ------------------------------------------------------------------ status -D, -S, --json

STATUS_HELP = """\
Usage:
  ostree admin status [OPTION…]

List deployments

Help Options:
  -h, --help                Show help options

Application Options:
  --sysroot=PATH            Create a new OSTree sysroot at PATH
  -V, --verify              Print the commit verification status
  -J, --json                Emit JSON
  -S, --skip-signatures     Skip signatures in output
  -D, --is-default          Output "default" if booted into the default deployment, otherwise "not-default"
  -v, --verbose             Print debug information during command processing
  --version                 Print version information and exit

"""


def test_status_help_is_2025s(cli):
    assert cli(["admin", "status", "--help"], prog="ostree").as_tuple() == (0, STATUS_HELP, "")


def test_status_is_default(env):
    assert env.admin("status", "-D").as_tuple() == (1, "", "error: Not in a booted OSTree system\n")
    env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    # not booted: the default deployment is not the booted one
    assert env.admin("status", "--is-default").as_tuple() == (0, "not-default\n", "")


def test_status_skip_signatures(env):
    rev = env.commit({})
    assert env.cli([f"--repo={env.repo}", "remote", "add", "upstream", "http://127.0.0.1:1/repo"]).rc == 0
    assert env.cli([f"--repo={env.repo}", "refs", "--create=upstream:os", rev]).rc == 0
    assert env.admin("deploy", "--os=testos", "upstream:os").rc == 0
    # gpg-verify (the default) on an unsigned commit: status fails on the signatures
    plain, skipped = env.admin("status"), env.admin("status", "-S")
    assert skipped.rc == 0 and skipped.out.endswith("    origin refspec: upstream:os\n"), skipped
    assert plain.rc == 1 and plain.err.startswith("error: Deployment 0: "), plain


def test_status_json_is_ostrees_layout(env):
    assert env.admin("status", "--json").as_tuple() == (0, '{\n   "deployments": [\n\n   ]\n}\n', "")
    rev = env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    assert env.cli([f"--repo={env.repo}", "commit", "-b", "os", "--add-metadata-string=version=2\"x",
                    f"--tree=dir={env.tmp / 'tree1'}"]).rc == 0
    rev2 = env.cli([f"--repo={env.repo}", "rev-parse", "os"]).out.strip()
    assert env.admin("deploy", "--os=testos", "--retain", "os").rc == 0
    assert env.admin("pin", "1").rc == 0

    def obj(csum, index, pinned, extra=""):
        return ("      {\n"
                f'         "checksum": "{csum}",\n         "stateroot": "testos",\n'
                f'         "refspec": "os",\n         "serial": 0,\n         "index": {index},\n'
                '         "booted": false,\n         "pending": false,\n         "rollback": false,\n'
                '         "finalization-locked": false,\n         "soft-reboot-target": false,\n'
                f'         "staged": false,\n         "pinned": {pinned},\n         "unlocked": "none"{extra}\n'
                "      }")
    want = ('{\n   "deployments": [\n' + obj(rev2, 0, "false", ',\n         "version": "2\\"x"') + "," +
            obj(rev, 1, "true").lstrip(" ") + "\n   ]\n}\n")
    assert env.admin("status", "-J").as_tuple() == (0, want, "")


# ------------------------------------------------------------------ undeploy's INDEX

def test_undeploy_index_errors_are_2025s(env):
    env.commit({})
    assert env.admin("deploy", "--os=testos", "os").rc == 0
    # 2022.7 read these with atoi() and removed deployment 0
    assert env.admin("undeploy", "zero").as_tuple() == (1, "", "error: Invalid index: zero\n")
    assert env.admin("undeploy", "0x").as_tuple() == (1, "", "error: Invalid index: 0x\n")
    assert env.admin("undeploy", "--", "-1").as_tuple() == (1, "", "error: Invalid index -1\n")
    assert env.admin("undeploy", "1").as_tuple() == \
        (1, "", "error: Out of range deployment index 1, expected < 1\n")
    r = env.admin("undeploy", " +0")
    assert r.rc == 0 and "\nDeleted deployment " in r.out, r


# ------------------------------------------------------------------ init-fs --epoch

def test_init_fs_epoch(cli, tmp_path):
    def layout(*argv):
        root = tmp_path / "-".join(argv or ("default",))
        root.mkdir()
        r = cli(["admin", "init-fs", *argv, str(root)])
        assert r.as_tuple() == (0, "", ""), r
        return sorted(os.listdir(root)), (root / "ostree").stat().st_mode & 0o777

    traditional = sorted(["boot", "dev", "home", "proc", "run", "sys", "root", "tmp", "ostree"])
    assert layout()[0] == traditional
    assert layout("--epoch=0")[0] == traditional
    assert layout("-E", "1") == layout("--modern") == (["boot", "ostree"], 0o755 & ~_umask())
    assert layout("--epoch=2") == (["boot", "ostree"], 0o700)
    r = cli(["admin", "init-fs", "--epoch=-1", str(tmp_path)])
    assert r.as_tuple() == (1, "", "error: Invalid epoch: -1\n")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_init_fs_help_is_2025s(cli):
    assert cli(["admin", "init-fs", "--help"], prog="ostree").out == """\
Usage:
  ostree admin init-fs [OPTION…] PATH

Initialize a root filesystem

Help Options:
  -h, --help         Show help options

Application Options:
  --sysroot=PATH     Create a new OSTree sysroot at PATH
  --modern           Only create /boot and /ostree
  -E, --epoch        An integer value, defines initial state.  Must be in the range [0-1], inclusive.
  -v, --verbose      Print debug information during command processing
  --version          Print version information and exit

"""


# ------------------------------------------------------------------ prepare-root.conf at deploy

@pytest.mark.parametrize("conf,etc_conf,error", [
    ("[composefs]\nenabled=false\n", None, None),
    ("[composefs]\nenabled=maybe\n", None, None),
    ("[composefs]\nenabled=yes\n", None, "composefs: enabled at runtime, but support is not compiled in"),
    ("[composefs]\nenabled=signed\n", None, "composefs: enabled at runtime, but support is not compiled in"),
    # the tree's etc/ostree/prepare-root.conf replaces usr/lib's whole (such a tree, with /etc
    # and no /usr/etc, then fails at /etc, as in ostree 2025.2)
    ("[composefs]\nenabled=true\n", "[root]\ntransient=false\n", "/etc"),
    ("[composefs]\nenabled=false\n", "[composefs]\nenabled=yes\n",
     "composefs: enabled at runtime, but support is not compiled in"),
    ("[composefs]\nenabled=perhaps\n", None,
     "Reading composefs config: Loading composefs config: Invalid tri-state value: perhaps"),
    ("not a key file\n", None, "Parsing prepare-root config: "),
])
def test_deploy_reads_prepare_root_conf(env, conf, etc_conf, error):
    files = {"usr/lib/ostree/prepare-root.conf": conf}
    if etc_conf is not None:
        # a tree with /etc (no /usr/etc): it becomes usr/etc after this check
        files = {**files, "etc/ostree/prepare-root.conf": etc_conf}
    rev = _commit_with(env, files, etc_conf is not None)
    r = env.admin("deploy", "--os=testos", "os")
    if error is None:
        assert r.rc == 0, r
        assert (env.sr / f"ostree/deploy/testos/deploy/{rev}.0").is_dir()
    elif error == "/etc":
        assert r.as_tuple() == (1, "", "error: Preparing /etc: No such file or directory: /usr/etc\n")
    else:
        assert r.rc == 1 and r.out == "" and r.err.startswith(f"error: Checking out deployment tree: {error}"), r
        assert not (env.sr / "ostree/deploy/testos/deploy").exists() or \
            not [n for n in os.listdir(env.sr / "ostree/deploy/testos/deploy") if n.endswith(".origin")]


def _commit_with(env, files, etc_instead_of_usr_etc):
    env.n += 1
    root = env.tmp / f"tree{env.n}"
    _tree(root, files)
    if etc_instead_of_usr_etc:
        (root / "usr/etc/conf").rename(root / "etc/conf")
        (root / "usr/etc").rmdir()
    r = env.cli([f"--repo={env.repo}", "commit", "-b", "os", f"--tree=dir={root}"])
    assert r.rc == 0, r
    return env.cli([f"--repo={env.repo}", "rev-parse", "os"]).out.strip()
