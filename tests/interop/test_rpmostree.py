"""rpm-ostree-py end to end: RPMs built with rpmbuild, an rpm-md repo made with
createrepo_c and served over HTTP, a fake sysroot whose base commit has an
rpmdb and a real /bin/sh. Layering, status --json, upgrade onto a new base,
uninstall, rollback, an unknown package; reference ``ostree admin status``
reads the sysroot after each step.
"""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

from interop_common import REF_OSTREE, _run

RPMOSTREE = [sys.executable, "-m", "ostree_py.commands.rpmostree"]
OS = "testos"
TOOLS = ("rpmbuild", "createrepo_c", "bwrap", "rpm")


SPECS = {
    "basefs": """Name: basefs
Version: 1.0
Release: 1
Summary: The base's own package
License: MIT
BuildArch: noarch
Provides: /bin/sh
%description
base
%files
""",
    "libbar": """Name: libbar
Version: 1.0
Release: 1
Summary: A dependency
License: MIT
BuildArch: noarch
%description
bar
%install
mkdir -p %{buildroot}/usr/share/bar
echo bar > %{buildroot}/usr/share/bar/data
%files
/usr/share/bar/data
""",
    "foo": """Name: foo
Version: 1.0
Release: 1
Summary: A package with a dependency and a post script
License: MIT
BuildArch: noarch
Requires: libbar
%description
foo
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/var/lib/foo
printf '#!/bin/sh\\necho foo\\n' > %{buildroot}/usr/bin/foo
chmod 755 %{buildroot}/usr/bin/foo
echo conf > %{buildroot}/etc/foo.conf
%pre
echo "pre $1" > /etc/foo-pre
%post
echo "post $1" > /etc/foo-post
%posttrans
read line < /etc/foo-post && echo "posttrans after $line" > /etc/foo-posttrans
%files
/usr/bin/foo
%config(noreplace) /etc/foo.conf
%dir /var/lib/foo
""",
    "needy": """Name: needy
Version: 1.0
Release: 1
Summary: A package whose dependency nothing provides
License: MIT
BuildArch: noarch
Requires: nosuchthing
%description
needy
%files
""",
    "badpost": """Name: badpost
Version: 1.0
Release: 1
Summary: A package whose %post fails
License: MIT
BuildArch: noarch
%description
badpost
%post
echo "badpost says no" >&2
exit 3
%files
""",
    "qux": """Name: qux
Version: 2.0
Release: 3
Summary: A local package
License: MIT
BuildArch: noarch
%description
qux
%install
mkdir -p %{buildroot}/usr/share/qux %{buildroot}/opt/qux
echo qux > %{buildroot}/usr/share/qux/file
echo opt > %{buildroot}/opt/qux/data
%files
/usr/share/qux/file
/opt/qux
""",
}


def sh(*argv, **kw):
    return _run([str(a) for a in argv], **kw)


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: make install installs rpm, createrepo-c and bubblewrap")
    top = tmp_path_factory.mktemp("rpmbuild")
    out = {}
    specs = dict(SPECS, foo11=SPECS["foo"].replace("Version: 1.0", "Version: 1.1"))
    for name, spec in specs.items():
        p = top / f"{name}.spec"
        p.write_text(spec)
    sh("rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_build_id_links none",
       *(top / f"{name}.spec" for name in specs))
    for dirpath, _d, files in os.walk(top / "RPMS"):
        for f in files:
            name, version = f.split("-")[:2]
            out[name + ("11" if version == "1.1" else "")] = os.path.join(dirpath, f)
    repo = top / "repo"
    repo.mkdir()
    for name in ("foo", "libbar", "needy", "badpost"):
        shutil.copy(out[name], repo)
    sh("createrepo_c", "-q", repo)
    handler = functools.partial(_QuietHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    out["repo"] = repo
    yield out
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def make_base(root, rpms, version, extra=None):
    """A minimal bootable usr-merged tree with a real /bin/sh and an rpmdb holding basefs."""
    for d in ("usr/bin", "usr/lib64", "usr/etc/yum.repos.d", "usr/lib/modules/5.0", "usr/share", "var",
              "usr/lib/x86_64-linux-gnu", "opt_", "run"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "opt_").rmdir()
    for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/bin"),
                         ("opt", "var/opt")):
        os.symlink(target, root / link)
    shutil.copy("/bin/dash", root / "usr/bin/sh")
    libs = subprocess.run(["ldd", "/bin/dash"], capture_output=True, text=True).stdout

    def in_tree(path):   # /lib64/x -> usr/lib64/x (the tree is usr-merged)
        rel = path.lstrip("/")
        return root / (rel if rel.startswith("usr/") else "usr/" + rel)
    for line in libs.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 3 else parts[0]
        if path.startswith("/"):
            for dest in {in_tree(path), in_tree(os.path.realpath(path))}:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, dest)
    (root / "usr/lib/modules/5.0/vmlinuz").write_text("kernel")
    (root / "usr/lib/modules/5.0/initramfs.img").write_text("initramfs")
    (root / "usr/etc/os-release").write_text(f'NAME=TestOS\nID=testos\nVERSION_ID="{version}"\n')
    (root / "usr/etc/yum.repos.d/test.repo").write_text(
        f"[test]\nname=Test\nbaseurl={rpms['url']}\nenabled=1\ngpgcheck=0\n")
    sh("rpm", "--root", root, "--dbpath", "/usr/share/rpm", "-i", "--justdb", "--nodeps", "--noscripts",
       rpms["basefs"])
    if extra:
        extra(root)


def ostree(*args, **kw):
    return sh(REF_OSTREE, *args, **kw)


def commit_base(sysroot, tree, version):
    return ostree(f"--repo={sysroot}/ostree/repo", "commit", "-b", f"{OS}/base", f"--tree=dir={tree}",
                  f"--add-metadata-string=version={version}", "--owner-uid=0", "--owner-gid=0").stdout.strip()


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory, rpms):
    top = tmp_path_factory.mktemp("rpmostree")
    s = top / "sysroot"
    s.mkdir()
    ostree("admin", "init-fs", s)
    ostree("admin", "os-init", f"--sysroot={s}", OS)
    tree = top / "base1"
    make_base(tree, rpms, "1")
    base1 = commit_base(s, tree, "1.0")
    ostree(f"--repo={s}/ostree/repo", "refs", f"--create={OS}/v1", base1)   # kept from pruning
    ostree("admin", "deploy", f"--sysroot={s}", f"--os={OS}", "--karg=root=LABEL=rootfs", f"{OS}/base")
    yield {"path": s, "top": top, "base1": base1}
    # deployments are immutable (chattr +i): let pytest remove its old temporary directories
    deploy = s / "ostree/deploy" / OS / "deploy"
    for d in deploy.iterdir():
        if d.is_dir():
            subprocess.run(["chattr", "-i", str(d)], capture_output=True)


def rpmostree(sysroot, *args, check=True):
    env = dict(os.environ, LC_ALL="C.UTF-8")
    p = subprocess.run([*RPMOSTREE, *map(str, args), f"--sysroot={sysroot}"], capture_output=True, text=True,
                       env=env)
    if check and p.returncode != 0:
        pytest.fail(f"rpm-ostree-py {' '.join(map(str, args))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def ref_status(sysroot):
    """Reference ``ostree admin status``: (checksum.serial, origin line) of each deployment."""
    out = ostree("admin", "status", f"--sysroot={sysroot}").stdout
    deps = []
    for line in out.splitlines():
        if line.startswith(("  ", "* ")) and line[2:].startswith(OS):
            deps.append([line.split()[-1]])
        elif line.strip().startswith("origin") and deps:
            deps[-1].append(line.strip())
    return deps


def status_json(sysroot):
    """``status --json``, run in this process (it only reads; saves a Python start per call)."""
    import io

    from ostree_py.commands import rpmostree as cli
    from ostree_py.commands._cli import Context
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["status", "--json", f"--sysroot={sysroot}"], Context(stdout=out, stderr=err))
    assert rc == 0, err.getvalue()
    return json.loads(out.getvalue())["deployments"]


def deploy_dir(sysroot, d):
    return sysroot / "ostree/deploy" / OS / "deploy" / f"{d['checksum']}.{d['serial']}"


def rpm_q(root, *names):
    """``rpm -q`` on the rpmdb of a deployment (read from a copy: deployments are immutable)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "rpmdb")
        shutil.copytree(root / "usr/share/rpm", db)
        return sh("rpm", "--dbpath", db, "-q", *names, check=False)


def rpm_q_readonly(root, *names):
    """``rpm -q`` on the rpmdb of a deployment as a booted system sees it: read-only
    (bind-mounted read-only in a private mount namespace)."""
    db = str(root / "usr/share/rpm")
    script = 'mount --bind -o ro "$1" "$1" && shift && exec rpm --dbpath "$0" -q "$@"'
    return sh("unshare", "--mount", "--propagation", "private", "sh", "-c", script, db, db, *names, check=False)


def test_install_upgrade_uninstall_rollback(sysroot, rpms):
    s = sysroot["path"]
    before = status_json(s)
    assert len(before) == 1 and before[0]["checksum"] == sysroot["base1"]
    assert before[0]["requested-packages"] == [] and "base-checksum" not in before[0]

    # install: foo pulls libbar; the %post runs in the new root
    p = rpmostree(s, "install", "foo")
    assert "Added:\n  foo-1.0-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout, p.stdout
    deps = status_json(s)
    assert len(deps) == 2
    new = deps[0]
    assert new["requested-packages"] == ["foo"] and new["packages"] == ["foo"]
    assert new["base-checksum"] == sysroot["base1"] and new["checksum"] != sysroot["base1"]
    assert new["origin"] == f"{OS}/base" and new["version"] == "1.0"
    root = deploy_dir(s, new)
    assert (root / "usr/bin/foo").read_text() == "#!/bin/sh\necho foo\n"
    assert (root / "usr/share/bar/data").read_text() == "bar\n"
    assert (root / "usr/etc/foo-post").read_text() == "post 1\n"
    assert (root / "etc/foo-post").read_text() == "post 1\n"
    assert (root / "usr/etc/foo-pre").read_text() == "pre 1\n"
    assert (root / "usr/etc/foo-posttrans").read_text() == "posttrans after post 1\n"
    assert (root / "usr/etc/foo.conf").read_text() == "conf\n"
    assert "d /var/lib/foo 0755 root root - -" in (root / "usr/lib/tmpfiles.d/pkg-foo.conf").read_text()
    assert not (root / "var/lib/foo").exists()
    q = rpm_q(root, "foo", "libbar", "basefs")
    assert q.returncode == 0 and q.stdout.split() == ["foo-1.0-1.noarch", "libbar-1.0-1.noarch",
                                                      "basefs-1.0-1.noarch"], q
    # rpm reads it where /usr is read-only (no sqlite -shm file needed)
    q = rpm_q_readonly(root, "foo")
    assert q.returncode == 0 and q.stdout == "foo-1.0-1.noarch\n", q
    # the layered commit: parent is the base, rpm-ostree's metadata keys
    show = ostree(f"--repo={s}/ostree/repo", "show", new["checksum"]).stdout
    assert f"Parent:  {sysroot['base1']}" in show
    repo = f"--repo={s}/ostree/repo"
    assert ostree(repo, "show", "--print-metadata-key=rpmostree.clientlayer", new["checksum"]).stdout == "true\n"
    assert ostree(repo, "show", "--print-metadata-key=rpmostree.packages", new["checksum"]).stdout == "['foo']\n"
    pkglist = ostree(repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", new["checksum"]).stdout
    assert "('foo', 0, '1.0', '1', 'noarch')" in pkglist and "'libbar'" in pkglist
    refs = ostree(f"--repo={s}/ostree/repo", "refs").stdout.split()
    assert "rpmostree/pkg/foo/1.0-1.noarch" in refs and "rpmostree/pkg/libbar/1.0-1.noarch" in refs
    origin = (s / "ostree/deploy" / OS / "deploy" / f"{new['checksum']}.{new['serial']}.origin").read_text()
    assert f"baserefspec={OS}/base" in origin and "requested=foo;" in origin
    # the reference reads it (an origin with only baserefspec is "unknown" to plain ostree)
    st = ref_status(s)
    assert st[0] == [f"{new['checksum']}.{new['serial']}", "origin: <unknown origin type>"]
    text = rpmostree(s, "status").stdout
    assert "LayeredPackages: foo\n" in text and f"BaseCommit: {sysroot['base1']}" in text

    # upgrade onto a new base keeps the layer
    tree2 = sysroot["top"] / "base2"
    make_base(tree2, rpms, "2", extra=lambda r: (r / "usr/share/newfile").write_text("v2\n"))
    base2 = commit_base(s, tree2, "2.0")
    p = rpmostree(s, "upgrade", "--check")
    assert p.stdout.startswith("AvailableUpdate:\n        Version: 2.0 (") and f"Commit: {base2}\n" in p.stdout
    assert len(status_json(s)) == 2
    p = rpmostree(s, "upgrade")
    up = status_json(s)[0]
    assert up["base-checksum"] == base2 and up["packages"] == ["foo"] and up["version"] == "2.0"
    root2 = deploy_dir(s, up)
    assert (root2 / "usr/share/newfile").read_text() == "v2\n" and (root2 / "usr/bin/foo").exists()
    assert (root2 / "usr/etc/foo-post").read_text() == "post 1\n"
    assert rpm_q(root2, "foo", "libbar").returncode == 0
    assert ref_status(s)[0][0] == f"{up['checksum']}.{up['serial']}"
    p = rpmostree(s, "upgrade", "--unchanged-exit-77", check=False)
    assert p.returncode == 77 and "No upgrade available." in p.stdout
    # a newer foo in the repo on the same base is an upgrade too
    shutil.copy(rpms["foo11"], rpms["repo"])
    sh("createrepo_c", "-q", "--update", rpms["repo"])
    # within metadata_expire (48 h) the cached metadata is used, as rpm-ostree does: expire it
    p = rpmostree(s, "upgrade")
    assert "No upgrade available.\n" in p.stdout and "rpm-md repo 'test' (cached)" in p.stdout
    rpmostree(s, "refresh-md", "--force")
    p = rpmostree(s, "upgrade")
    assert "Upgraded:\n  foo 1.0-1 -> 1.1-1\n" in p.stdout, p.stdout
    assert status_json(s)[0]["base-checksum"] == base2

    # uninstall: foo and its now-unneeded dependency go
    p = rpmostree(s, "uninstall", "foo")
    assert "Removed:\n  foo-1.1-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout, p.stdout
    un = status_json(s)[0]
    assert un["requested-packages"] == [] and un["checksum"] == base2 and "base-checksum" not in un
    root3 = deploy_dir(s, un)
    assert not (root3 / "usr/bin/foo").exists() and not (root3 / "usr/share/bar").exists()
    assert rpm_q(root3, "foo").returncode != 0
    assert ref_status(s)[0] == [f"{un['checksum']}.{un['serial']}", f"origin refspec: {OS}/base"]

    # rollback swaps the first two deployments
    ids = [d["id"] for d in status_json(s)]
    rpmostree(s, "rollback")
    after = [d["id"] for d in status_json(s)]
    assert after == [ids[1], ids[0]] + ids[2:]
    assert [x[0] for x in ref_status(s)] == [i.split("-", 1)[1] for i in after]


def test_local_package_and_inactive(sysroot, rpms):
    s = sysroot["path"]
    p = rpmostree(s, "install", rpms["qux"], "--idempotent")
    d = status_json(s)[0]
    assert d["requested-local-packages"] == ["qux-2.0-3.noarch"], p.stdout
    root = deploy_dir(s, d)
    assert (root / "usr/share/qux/file").read_text() == "qux\n"
    # /opt content moves to /usr/lib/opt, linked from /var/opt by tmpfiles.d
    assert (root / "usr/lib/opt/qux/data").read_text() == "opt\n"
    assert "L /var/opt/qux - - - - /usr/lib/opt/qux" in (root / "usr/lib/tmpfiles.d/pkg-qux.conf").read_text()
    assert "LocalPackages: qux-2.0-3.noarch" in rpmostree(s, "status").stdout
    # --dry-run resolves and stops
    n = len(status_json(s))
    p = rpmostree(s, "uninstall", "--dry-run", "qux")
    assert p.stdout.endswith("Exiting because of '--dry-run' option\n") and len(status_json(s)) == n
    # a request the base provides is refused unless --allow-inactive
    p = rpmostree(s, "install", "basefs", check=False)
    assert p.returncode == 1 and "already provided by" in p.stderr and "--allow-inactive" in p.stderr
    rpmostree(s, "install", "--allow-inactive", "basefs")
    d = status_json(s)[0]
    assert "basefs" in d["requested-packages"] and "basefs" not in d["packages"]
    assert "InactiveRequests: basefs" in rpmostree(s, "status", "-v").stdout
    p = rpmostree(s, "uninstall", "qux", "basefs")
    assert status_json(s)[0]["requested-local-packages"] == []


def test_unknown_package_changes_nothing(sysroot):
    s = sysroot["path"]
    before = status_json(s)
    listing = sorted(os.listdir(s / "ostree/deploy" / OS / "deploy"))
    p = rpmostree(s, "install", "nosuchpkg", check=False)
    assert p.returncode == 1
    assert p.stderr == "error: Packages not found: nosuchpkg\n"
    assert status_json(s) == before
    assert sorted(os.listdir(s / "ostree/deploy" / OS / "deploy")) == listing
    p = rpmostree(s, "uninstall", "nosuchpkg", check=False)
    assert p.returncode == 1 and "not currently requested" in p.stderr
    # --cache-only: cached metadata, and only packages already in the package cache
    p = rpmostree(s, "install", "-C", "badpost", check=False)
    assert "Using cached metadata for 'test'\n" in p.stdout and "Updating metadata" not in p.stdout
    assert (p.returncode, p.stderr) == (1, "error: Package badpost-1.0-1.noarch is not in the package cache "
                                           "(--cache-only)\n")
    # a failing scriptlet stops the transaction: nothing deployed
    p = rpmostree(s, "install", "badpost", check=False)
    assert p.returncode == 1 and "Running post scripts... failed\n" in p.stdout
    assert "error: Running %post for badpost: bwrap(/bin/sh): Child process exited with code 3\n" \
           "badpost says no\n" in p.stderr, p.stderr
    assert status_json(s) == before
    assert sorted(os.listdir(s / "ostree/deploy" / OS / "deploy")) == listing
    # status -b: only the booted deployment (none on this sysroot)
    assert rpmostree(s, "status", "-b").stdout == "State: idle\nBootedDeployment:\n"


def test_db_kargs_override_deploy_cleanup(sysroot, rpms):
    s = sysroot["path"]
    repo = f"--repo={s}/ostree/repo"
    p = rpmostree(s, "db", "list", sysroot["base1"])
    assert p.stdout == f"ostree commit: {sysroot['base1']} ({sysroot['base1']})\n basefs-1.0-1.noarch\n"
    rpmostree(s, "install", "--idempotent", "foo")
    cur = status_json(s)[0]
    assert cur["packages"] == ["foo"]
    p = rpmostree(s, "db", "diff", cur["base-checksum"], cur["checksum"])
    assert "Added:\n  foo-1.1-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout
    p = rpmostree(s, "db", "diff", "--format=diff", cur["checksum"], cur["base-checksum"])
    assert p.stdout.endswith("\n-foo-1.1-1.noarch\n-libbar-1.0-1.noarch\n")
    p = rpmostree(s, "db", "diff", "--format=json", cur["base-checksum"], cur["checksum"])
    assert json.loads(p.stdout)["pkgdiff"] == [["foo", 0, {"NewPackage": ["foo", "1.1-1", "noarch"]}],
                                               ["libbar", 0, {"NewPackage": ["libbar", "1.0-1", "noarch"]}]]
    # kargs: print, then a new deployment with an extra argument
    assert rpmostree(s, "kargs").stdout == "root=LABEL=rootfs\n"
    rpmostree(s, "kargs", "--append=quiet")
    assert rpmostree(s, "kargs").stdout == "root=LABEL=rootfs quiet\n"
    assert status_json(s)[0]["checksum"] == cur["checksum"]
    # override remove takes a base package out (its /bin/sh stays: the file is not basefs's);
    # reset brings it back
    rpmostree(s, "override", "remove", "basefs")
    d = status_json(s)[0]
    assert d["requested-base-removals"] == ["basefs"] and d["base-removals"][0][1] == "basefs"
    assert rpm_q(deploy_dir(s, d), "basefs").returncode != 0
    assert "RemovedBasePackages: basefs 1.0-1" in rpmostree(s, "status").stdout
    rpmostree(s, "override", "reset", "basefs")
    assert status_json(s)[0]["requested-base-removals"] == []
    p = rpmostree(s, "override", "reset", "basefs", check=False)
    assert p.returncode == 1 and p.stderr == "error: No overrides for package 'basefs'\n"
    # an unsatisfiable dependency is a clear depsolve error, and nothing is deployed
    n = len(status_json(s))
    p = rpmostree(s, "install", "needy", check=False)
    assert p.returncode == 1 and "error: Could not depsolve transaction; 1 problem detected:" in p.stderr
    assert "nothing provides nosuchthing needed by needy-1.0-1.noarch" in p.stderr, p.stderr
    assert len(status_json(s)) == n
    # deploy an older base by checksum keeps the layer and pins the base in the origin
    rpmostree(s, "deploy", sysroot["base1"])
    d = status_json(s)[0]
    assert d["base-checksum"] == sysroot["base1"] and d["packages"] == ["foo"]
    origin = (s / "ostree/deploy" / OS / "deploy" / f"{d['checksum']}.{d['serial']}.origin").read_text()
    assert f"override-commit={sysroot['base1']}\n" in origin
    # install keeps the pinned base; upgrade would drop the pin
    rpmostree(s, "install", "--allow-inactive", "basefs")
    assert status_json(s)[0]["base-checksum"] == sysroot["base1"]
    rpmostree(s, "uninstall", "basefs")
    assert ostree("admin", "status", f"--sysroot={s}").returncode == 0
    # rebase to another local branch
    ostree(repo, "refs", f"--create={OS}/other", status_json(s)[0]["base-checksum"])
    before = status_json(s)[0]["origin"]
    rpmostree(s, "rebase", f"{OS}/other")
    d = status_json(s)[0]
    assert d["origin"] == f"{OS}/other" and d["packages"] == ["foo"]
    assert before != f"{OS}/other" and before not in ostree(repo, "refs").stdout.split()   # purged
    ostree(repo, "refs", f"--create={OS}/third", d["base-checksum"])
    rpmostree(s, "rebase", "--skip-purge", f"{OS}/third")
    assert status_json(s)[0]["origin"] == f"{OS}/third"
    assert f"{OS}/other" in ostree(repo, "refs").stdout.split()                            # kept
    # cleanup -r drops everything after the default deployment; -b keeps used packages
    rpmostree(s, "cleanup", "-r", "-b", "-m")
    assert len(status_json(s)) == 1
    refs = ostree(repo, "refs").stdout.split()
    assert "rpmostree/pkg/foo/1.1-1.noarch" in refs and not any("qux" in r or "foo/1.0" in r for r in refs)
    assert len(ref_status(s)) == 1
    p = rpmostree(s, "cleanup", check=False)
    assert p.returncode == 1 and "At least one cleanup option" in p.stderr


def test_help_and_manpages():
    from ostree_py.commands import rpmostree as cli
    man = os.path.join(os.path.dirname(__file__), "..", "..", "man")
    p = subprocess.run([*RPMOSTREE, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "  install             Overlay additional packages\n" in p.stdout
    p = subprocess.run([*RPMOSTREE, "frob"], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.endswith("error: Unknown command 'frob'\n")
    import re
    for path in cli.COMMANDS:
        page = os.path.join(man, "rpm-ostree-py-" + path.replace(" ", "-") + ".1")
        assert os.path.isfile(page), page
        text = open(page, encoding="utf-8").read()
        if cli.is_group(path):
            continue
        opts = cli.command_options(cli.load(path))
        sect = re.search(r"^\.SH OPTIONS\n(.*?)(?=^\.SH |\Z)", text, re.M | re.S)
        lines = sect.group(1).split("\n") if sect else []
        documented = set()
        for i, line in enumerate(lines[:-1]):
            if line == ".TP":
                tag = lines[i + 1].replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
                documented |= set(re.findall(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)", tag))
        assert documented == {o.long for o in opts if not o.hidden}, path


def test_gpgcheck_file_repo(sysroot, rpms, tmp_path):
    """gpgcheck=1 repos (here over file://): signed packages install, unsigned ones are refused."""
    s = sysroot["path"]
    rpmostree(s, "uninstall", "--all", "--idempotent")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    (tmp_path / "params").write_text("%no-protection\nKey-Type: RSA\nKey-Length: 2048\n"
                                     "Name-Real: Test Signer\nName-Email: signer@example.com\nExpire-Date: 0\n%commit\n")
    sh("gpg", "--homedir", home, "--batch", "--gen-key", tmp_path / "params")
    key = sh("gpg", "--homedir", home, "--armor", "--export", "signer@example.com").stdout
    signed, unsigned = tmp_path / "signed", tmp_path / "unsigned"
    for d in (signed, unsigned):
        d.mkdir()
        for name in ("foo11", "libbar"):
            shutil.copy(rpms[name], d)
    sh("rpmsign", "--addsign", "--define", "_gpg_name signer@example.com", "--define", f"_gpg_path {home}",
       "--define", "__gpg /usr/bin/gpg", *sorted(signed.glob("*.rpm")), stdin=subprocess.DEVNULL)
    for d in (signed, unsigned):
        sh("createrepo_c", "-q", d)
    merge = deploy_dir(s, status_json(s)[0])
    (merge / "etc/pki/rpm-gpg").mkdir(parents=True)
    (merge / "etc/pki/rpm-gpg/test.key").write_text(key)
    repos = merge / "etc/yum.repos.d"
    (repos / "test.repo").write_text((repos / "test.repo").read_text().replace("enabled=1", "enabled=0"))

    def use(d):
        (repos / "local.repo").write_text(f"[local]\nbaseurl=file://{d}\ngpgcheck=1\n"
                                          "gpgkey=file:///etc/pki/rpm-gpg/test.key\n")
    use(unsigned)
    n = len(status_json(s))
    p = rpmostree(s, "install", "foo", check=False)
    assert p.returncode == 1 and "error: Package foo-1.1-1.noarch.rpm is not signed\n" in p.stderr, p.stderr
    assert len(status_json(s)) == n
    use(signed)
    p = rpmostree(s, "install", "foo")
    assert "Added:\n  foo-1.1-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout
    assert "Enabled rpm-md repositories: local\n" in p.stdout


def test_rebase_and_upgrade_from_http_remote(sysroot, rpms, tmp_path):
    """A remote served over HTTP: rebase onto it and upgrade from it; the layer follows."""
    s = sysroot["path"]
    served = tmp_path / "served"
    ostree(f"--repo={served}", "init", "--mode=archive")
    tree = tmp_path / "tree3"
    make_base(tree, rpms, "3", extra=lambda r: (r / "usr/share/three").write_text("3\n"))
    ostree(f"--repo={served}", "commit", "-b", f"{OS}/stable", f"--tree=dir={tree}",
           "--add-metadata-string=version=3.0", "--owner-uid=0", "--owner-gid=0")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        ostree(f"--repo={s}/ostree/repo", "remote", "add", "--no-gpg-verify", "upstream", url)
        requested = status_json(s)[0]["requested-packages"]
        assert requested
        rpmostree(s, "rebase", f"upstream:{OS}/stable")
        d = status_json(s)[0]
        assert d["origin"] == f"upstream:{OS}/stable" and d["version"] == "3.0"
        assert d["requested-packages"] == requested and d["packages"]
        assert (deploy_dir(s, d) / "usr/share/three").read_text() == "3\n"
        p = rpmostree(s, "upgrade", "--unchanged-exit-77", check=False)
        assert p.returncode == 77, p.stdout + p.stderr
        tree.joinpath("usr/share/three").write_text("3.1\n")
        ostree(f"--repo={served}", "commit", "-b", f"{OS}/stable", f"--tree=dir={tree}",
               "--add-metadata-string=version=3.1", "--owner-uid=0", "--owner-gid=0")
        rpmostree(s, "upgrade")
        d = status_json(s)[0]
        assert d["version"] == "3.1" and d["packages"] and d["base-checksum"] == ostree(
            f"--repo={s}/ostree/repo", "rev-parse", f"upstream:{OS}/stable").stdout.strip()
        assert (deploy_dir(s, d) / "usr/share/three").read_text() == "3.1\n"
        assert ref_status(s)[0][0] == f"{d['checksum']}.{d['serial']}"
        # --uninstall in the same transaction as the (here empty) upgrade
        rpmostree(s, "upgrade", f"--uninstall={requested[0]}")
        d = status_json(s)[0]
        assert requested[0] not in d["requested-packages"] and d["version"] == "3.1"
    finally:
        server.shutdown()
