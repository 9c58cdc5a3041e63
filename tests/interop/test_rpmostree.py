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
    "clobber": """Name: clobber
Version: 1.0
Release: 1
Summary: A package shipping a file the base has, unowned, with other content
License: MIT
BuildArch: noarch
%description
clobber
%install
mkdir -p %{buildroot}/usr/lib
echo 'NAME=Clobbered' > %{buildroot}/usr/lib/os-release
%files
/usr/lib/os-release
""",
    "scripty": """Name: scripty
Version: 1.0
Release: 1
Summary: Scripts that write /usr as real-world scripts do
License: MIT
BuildArch: noarch
%description
scripty
%install
mkdir -p %{buildroot}/usr/share/scripty
echo a > %{buildroot}/usr/share/scripty/a
%post
echo "hello from post"
mkdir -p /usr/share/scripty-cache && echo built > /usr/share/scripty-cache/index
echo tampered >> /usr/share/base/data
rm /usr/share/base/gone
chmod 600 /usr/share/base/mode
if { echo x > /var/lib/no-write; } 2>/dev/null; then echo "var is writable"; fi
%posttrans
cat /usr/share/scripty-cache/index
%transfiletriggerin -- /usr/share/scripty
cat > /usr/share/scripty-trigger-list
%transfiletriggerin -- /usr/share/nothing-here
echo never > /usr/share/scripty-never
%files
/usr/share/scripty/a
""",
    "luapost": """Name: luapost
Version: 1.0
Release: 1
Summary: A lua %post
License: MIT
BuildArch: noarch
%description
lua
%post -p <lua>
print("lua")
%files
""",
    "luaskip": """Name: luaskip
Version: 1.0
Release: 1
Summary: A lua %post rpm-ostree skips
License: MIT
BuildArch: noarch
%description
lua
%post -p <lua>
-- rpm-ostree-skip
print("lua")
%files
""",
    "basepkg": """Name: basepkg
Version: 1.0
Release: 1
Summary: A base package to replace
License: MIT
BuildArch: noarch
%description
basepkg
%install
mkdir -p %{buildroot}/usr/share/basepkg
echo %{version} > %{buildroot}/usr/share/basepkg/version
%post
echo "post $1"
%files
/usr/share/basepkg/version
""",
    "trigin": """Name: trigin
Version: 1.0
Release: 1
Summary: A %triggerin
License: MIT
BuildArch: noarch
%description
trigin
%triggerin -- basefs
echo trig
%files
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
    specs = dict(SPECS, foo11=SPECS["foo"].replace("Version: 1.0", "Version: 1.1"),
                 basepkg2=SPECS["basepkg"].replace("Version: 1.0", "Version: 2.0"),
                 basepkg3=SPECS["basepkg"].replace("Version: 1.0", "Version: 3.0"))
    for name, spec in specs.items():
        p = top / f"{name}.spec"
        p.write_text(spec)
    sh("rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_build_id_links none",
       *(top / f"{name}.spec" for name in specs))
    for dirpath, _d, files in os.walk(top / "RPMS"):
        for f in files:
            name, version = f.split("-")[:2]
            suffix = {"1.1": "11", "2.0": "2", "3.0": "3"}.get(version, "") if name in ("foo", "basepkg") else ""
            out[name + suffix] = os.path.join(dirpath, f)
    repo = top / "repo"
    repo.mkdir()
    for name in ("foo", "libbar", "needy", "badpost", "clobber"):
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


def make_base(root, rpms, version, extra=None, tools=()):
    """A minimal bootable usr-merged tree with a real /bin/sh (and the host's ``tools``)
    and an rpmdb holding basefs."""
    for d in ("usr/bin", "usr/lib64", "usr/etc/yum.repos.d", "usr/lib/modules/5.0", "usr/share", "var",
              "usr/lib/x86_64-linux-gnu", "opt_", "run"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "opt_").rmdir()
    for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/bin"),
                         ("opt", "var/opt")):
        os.symlink(target, root / link)
    shutil.copy("/bin/dash", root / "usr/bin/sh")
    add_tools(root, "/bin/dash", *tools)
    (root / "usr/lib/modules/5.0/vmlinuz").write_text("kernel")
    (root / "usr/lib/modules/5.0/initramfs.img").write_text("initramfs")
    (root / "usr/etc/os-release").write_text(f'NAME=TestOS\nID=testos\nVERSION_ID="{version}"\n')
    (root / "usr/lib/os-release").write_text(f'NAME=TestOS\nID=testos\nVERSION_ID="{version}"\n')
    (root / "usr/etc/yum.repos.d/test.repo").write_text(
        f"[test]\nname=Test\nbaseurl={rpms['url']}\nenabled=1\ngpgcheck=0\n")
    sh("rpm", "--root", root, "--dbpath", "/usr/share/rpm", "-i", "--justdb", "--nodeps", "--noscripts",
       rpms["basefs"])
    if extra:
        extra(root)


def add_tools(root, *paths):
    """The host's programs ``paths`` in usr/bin of ``root`` (dash as usr/bin/sh), with their libraries."""
    libs = ""
    for path in paths:
        if path != "/bin/dash":
            shutil.copy(path, root / "usr/bin" / os.path.basename(path))
        libs += subprocess.run(["ldd", path], capture_output=True, text=True).stdout

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


def ostree(*args, **kw):
    return sh(REF_OSTREE, *args, **kw)


def commit_base(sysroot, tree, version):
    return ostree(f"--repo={sysroot}/ostree/repo", "commit", "-b", f"{OS}/base", f"--tree=dir={tree}",
                  f"--add-metadata-string=version={version}", "--owner-uid=0", "--owner-gid=0").stdout.strip()


def new_sysroot(top, rpms, keep_base1=False):
    """A folder sysroot under ``top`` with stateroot OS, base 1.0 committed to OS/base
    (from the tree ``top/base1``) and deployed; returns (sysroot path, base1)."""
    s = top / "sysroot"
    s.mkdir()
    ostree("admin", "init-fs", s)
    ostree("admin", "os-init", f"--sysroot={s}", OS)
    tree = top / "base1"
    make_base(tree, rpms, "1")
    base1 = commit_base(s, tree, "1.0")
    if keep_base1:
        ostree(f"--repo={s}/ostree/repo", "refs", f"--create={OS}/v1", base1)   # kept from pruning
    ostree("admin", "deploy", f"--sysroot={s}", f"--os={OS}", "--karg=root=LABEL=rootfs", f"{OS}/base")
    return s, base1


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory, rpms):
    top = tmp_path_factory.mktemp("rpmostree")
    s, base1 = new_sysroot(top, rpms, keep_base1=True)
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
    assert "Will download: 2 packages (" in p.stdout
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
    # rpm-ostree's layout: keys right-aligned on its longest key (InactiveRemoteOverrides)
    assert text.startswith(f"State: idle\nDeployments:\n  {OS}/base\n{'Version':>25}: 1.0 (")
    assert f"\n{'BaseCommit':>25}: {sysroot['base1']}\n{'LayeredPackages':>25}: foo\n\n" in text, text
    verbose = rpmostree(s, "status", "-v").stdout
    assert f"  {OS}/base (index: 0)\n" in verbose and f"\n{'Commit':>25}: {new['checksum']}\n" in verbose
    assert f"\n{'Staged':>25}: no\n{'StateRoot':>25}: {OS}\n" in verbose
    assert not {"modules", "requested-modules", "requested-modules-enabled", "modules-enabled"} & set(new)
    assert new["requested-local-fileoverride-packages"] == [] and new["regenerate-initramfs"] is False
    assert "initramfs-args" not in new and new["gpg-enabled"] is False
    assert "rpmostree.rpmdb.pkglist" not in new["layered-commit-meta"]
    assert json.loads(rpmostree(s, "status", "--json", "-b").stdout)["deployments"] == []   # none booted
    # an origin with rpm-ostree's custom-url / custom-description
    old = deps[1]
    opath = s / "ostree/deploy" / OS / "deploy" / f"{old['checksum']}.{old['serial']}.origin"
    saved = opath.read_text()
    opath.write_text(saved.replace("[origin]\n", "[origin]\ncustom-url=https://example.com/os\n"
                                                 "custom-description=Example OS\n"))
    assert status_json(s)[1]["custom-origin"] == ["https://example.com/os", "Example OS"]
    assert f"\n  {OS}/base\n{'Version':>25}: 1.0 (" in rpmostree(s, "status").stdout
    assert f"\n{'CustomOrigin':>25}: Example OS\n" in rpmostree(s, "status").stdout
    opath.write_text(saved)

    # upgrade onto a new base keeps the layer
    tree2 = sysroot["top"] / "base2"
    make_base(tree2, rpms, "2", extra=lambda r: (r / "usr/share/newfile").write_text("v2\n"))
    base2 = commit_base(s, tree2, "2.0")
    # the ref moved on: status says so
    d = status_json(s)[0]
    assert d["pending-base-checksum"] == base2 and d["pending-base-version"] == "2.0"
    assert d["pending-base-timestamp"] > 0 and status_json(s)[1]["pending-base-checksum"] == base2
    p = rpmostree(s, "upgrade", "--check")
    assert "AvailableUpdate:\n        Version: 2.0 (" in p.stdout and p.stdout.endswith(f"Commit: {base2}\n")
    assert len(status_json(s)) == 2
    p = rpmostree(s, "upgrade")
    assert "Will download" not in p.stdout, p.stdout       # foo and libbar are in the package cache
    up = status_json(s)[0]
    assert "pending-base-checksum" not in up
    assert up["base-checksum"] == base2 and up["packages"] == ["foo"] and up["version"] == "2.0"
    root2 = deploy_dir(s, up)
    assert (root2 / "usr/share/newfile").read_text() == "v2\n" and (root2 / "usr/bin/foo").exists()
    assert (root2 / "usr/etc/foo-post").read_text() == "post 1\n"
    assert rpm_q(root2, "foo", "libbar").returncode == 0
    assert ref_status(s)[0][0] == f"{up['checksum']}.{up['serial']}"
    p = rpmostree(s, "upgrade", "--unchanged-exit-77", check=False)
    assert p.returncode == 77 and "No upgrade available." in p.stdout
    # a newer foo in the repo on the same base is an upgrade too
    p = rpmostree(s, "upgrade", "--check", check=False)
    assert (p.returncode, p.stdout.splitlines()[-1]) == (77, "No updates available."), p.stdout
    shutil.copy(rpms["foo11"], rpms["repo"])
    sh("createrepo_c", "-q", "--update", rpms["repo"])
    # within metadata_expire (48 h) the cached metadata is used, as rpm-ostree does: expire it
    p = rpmostree(s, "upgrade")
    assert "No upgrade available.\n" in p.stdout and "rpm-md repo 'test' (cached)" in p.stdout
    rpmostree(s, "refresh-md", "--force")
    # --check / --preview see the newer layered package, as a plain upgrade will
    p = rpmostree(s, "upgrade", "--check")
    assert p.stdout.endswith("\nAvailableUpdate:\n           Diff: 1 upgraded\n"), p.stdout
    assert p.stderr.startswith("Note: --check and --preview may be unreliable.")
    p = rpmostree(s, "upgrade", "--preview")
    assert p.stdout.endswith("\nAvailableUpdate:\n       Upgraded: foo 1.0-1 -> 1.1-1\n"), p.stdout
    # status shows the cached update: in --json always, in text with an automatic update policy
    doc = json.loads(rpmostree(s, "status", "--json").stdout)
    cu = doc["cached-update"]
    assert cu["rpm-diff"]["upgraded"] == [[1, "foo", ["1.0-1", "noarch"], ["1.1-1", "noarch"]]], cu
    assert cu["ref-has-new-commit"] is False and cu["update-sha256"] == status_json(s)[0]["checksum"]
    assert "AvailableUpdate" not in rpmostree(s, "status").stdout
    conf = deploy_dir(s, status_json(s)[0]) / "etc/rpm-ostreed.conf"
    conf.write_text("[Daemon]\nAutomaticUpdatePolicy=check\n")
    text = rpmostree(s, "status").stdout
    assert text.startswith("State: idle\nAutomaticUpdates: check; rpm-ostreed-automatic.timer: unknown state\n")
    assert text.endswith("\n\nAvailableUpdate:\n           Diff: 1 upgraded\n"), text
    conf.unlink()
    p = rpmostree(s, "upgrade")
    assert "Upgraded:\n  foo 1.0-1 -> 1.1-1\n" in p.stdout, p.stdout
    assert status_json(s)[0]["base-checksum"] == base2
    assert json.loads(rpmostree(s, "status", "--json").stdout)["cached-update"] is None

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
    # (its output first, prefixed as rpm-ostree prints it outside the journal)
    assert p.returncode == 1 and "Running post scripts... \n" \
        "badpost.post: badpost says no\nRunning post scripts... failed\n" in p.stdout, p.stdout
    assert p.stderr == "error: Running %post for badpost: bwrap(/bin/sh): Child process exited with code 3\n"
    assert status_json(s) == before
    assert sorted(os.listdir(s / "ostree/deploy" / OS / "deploy")) == listing
    # status -b: only the booted deployment (none on this sysroot)
    assert rpmostree(s, "status", "-b").stdout == "State: idle\nBootedDeployment:\n"


def test_file_conflicts(sysroot, rpms):
    """A package file that differs from a file of the base (here /usr/lib/os-release, which no
    package owns) is refused as rpm-ostree's checkout refuses it, unless the local package
    is installed with --force-replacefiles; the forced layer then survives an upgrade."""
    s = sysroot["path"]
    n = len(status_json(s))
    base_osrel = (deploy_dir(s, status_json(s)[0]) / "usr/lib/os-release").read_text()
    p = rpmostree(s, "install", "clobber", check=False)
    assert p.returncode == 1 and "Checking out packages... failed\n" in p.stdout, p.stdout
    assert p.stderr.startswith("error: Checkout clobber-1.0-1.noarch: Hardlinking ") and \
        p.stderr.endswith(".file to os-release: File exists\n"), p.stderr
    assert len(status_json(s)) == n
    p = rpmostree(s, "install", "--force-replacefiles", "clobber", check=False)
    assert (p.returncode, p.stderr) == (1, "error: Non-local fileoverrides not implemented\n")
    rpmostree(s, "install", "--force-replacefiles", rpms["clobber"])
    d = status_json(s)[0]
    assert d["requested-local-fileoverride-packages"] == ["clobber-1.0-1.noarch"]
    assert d["requested-local-packages"] == []
    assert (deploy_dir(s, d) / "usr/lib/os-release").read_text() == "NAME=Clobbered\n"
    assert "LocalForcedPackages: clobber-1.0-1.noarch\n" in rpmostree(s, "status").stdout
    origin = (s / "ostree/deploy" / OS / "deploy" / f"{d['checksum']}.{d['serial']}.origin").read_text()
    assert "requested-local-fileoverride=" in origin and ":clobber-1.0-1.noarch;" in origin
    # a later transaction re-applies it
    rpmostree(s, "install", "libbar")
    d = status_json(s)[0]
    assert (deploy_dir(s, d) / "usr/lib/os-release").read_text() == "NAME=Clobbered\n"
    assert ostree("admin", "status", f"--sysroot={s}").returncode == 0
    rpmostree(s, "uninstall", "clobber", "libbar")
    d = status_json(s)[0]
    assert d["requested-local-fileoverride-packages"] == [] and "clobber" not in str(d["packages"])
    assert (deploy_dir(s, d) / "usr/lib/os-release").read_text() == base_osrel


def test_db_kargs_override_deploy_cleanup(sysroot, rpms):
    s = sysroot["path"]
    repo = f"--repo={s}/ostree/repo"
    p = rpmostree(s, "db", "list", sysroot["base1"])
    assert p.stdout == f"ostree commit: {sysroot['base1']}\n basefs-1.0-1.noarch\n"
    p = rpmostree(s, "db", "list", f"{OS}/v1", "base")
    assert p.stdout == f"ostree commit: {OS}/v1 ({sysroot['base1']})\n basefs-1.0-1.noarch\n"
    import hashlib
    p = rpmostree(s, "db", "version", sysroot["base1"])
    rpmdbv = "1:" + hashlib.sha256(b"basefs-1.0-1.noarch").hexdigest()
    assert p.stdout == f"ostree commit: {sysroot['base1']}\n  rpmdbv is: {rpmdbv:>66}\n"
    p = rpmostree(s, "db", "diff", check=False)
    assert (p.returncode, p.stderr) == (1, "error: Not booted into any deployment\n")
    rpmostree(s, "install", "--idempotent", "foo")
    cur = status_json(s)[0]
    assert cur["packages"] == ["foo"]
    p = rpmostree(s, "db", "diff", cur["base-checksum"], cur["checksum"])
    assert "Added:\n  foo-1.1-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout
    p = rpmostree(s, "db", "diff", "--format=diff", cur["checksum"], cur["base-checksum"])
    assert p.stdout.endswith("\n-foo-1.1-1.noarch\n-libbar-1.0-1.noarch\n")
    p = rpmostree(s, "db", "diff", "--format=json", cur["base-checksum"], cur["checksum"])
    assert json.loads(p.stdout)["ostree-commit-from"] == cur["base-checksum"]
    assert json.loads(p.stdout)["ostree-commit-to"] == cur["checksum"]
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
    assert "RemovedBasePackages: basefs 1.0-1\n" in rpmostree(s, "status").stdout
    assert ostree(repo, "show", "--print-metadata-key=rpmostree.removed-base-packages", d["checksum"]).stdout == \
        "[<('basefs-1.0-1.noarch', 'basefs', uint64 0, '1.0', '1', 'noarch')>]\n"
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
    p = subprocess.run([*RPMOSTREE, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "rpm-ostree-py:\n Version: '2026.2'\n Features:\n"
    p = subprocess.run([*RPMOSTREE, "frob"], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.endswith("error: Unknown command 'frob'\n")
    import re
    program = cli.program()
    for path in cli.COMMANDS:
        page = os.path.join(man, "rpm-ostree-py-" + path.replace(" ", "-") + ".1")
        assert os.path.isfile(page), page
        text = open(page, encoding="utf-8").read()
        if program.is_group(path):
            continue
        opts = program.options_of(path)
        sect = re.search(r"^\.SH OPTIONS\n(.*?)(?=^\.SH |\Z)", text, re.M | re.S)
        lines = sect.group(1).split("\n") if sect else []
        documented = set()
        for i, line in enumerate(lines[:-1]):
            if line == ".TP":
                tag = lines[i + 1].replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
                documented |= set(re.findall(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)", tag))
        assert documented == {o.long for o in opts if not o.hidden}, path


def test_scripts_write_usr_without_touching_the_repo(sysroot, rpms):
    """Scripts may create, replace, remove and chmod files under /usr (rpm-ostree's
    rofiles-fuse --copyup semantics); the base's objects, hard-linked into the tree,
    stay as they were; %transfiletriggerin gets the matching files on stdin."""
    s = sysroot["path"]
    repo = f"--repo={s}/ostree/repo"
    rpmostree(s, "uninstall", "--all", "--idempotent")

    def files(root):
        (root / "usr/share/base").mkdir(parents=True)
        for name in ("data", "gone", "mode"):
            (root / "usr/share/base" / name).write_text(name + "\n")
    tree = sysroot["top"] / "scripts-base"
    make_base(tree, rpms, "5", extra=files, tools=[shutil.which(t) for t in ("mkdir", "rm", "chmod", "cat")])
    base = ostree(repo, "commit", "-b", f"{OS}/scripts", f"--tree=dir={tree}", "--owner-uid=0",
                  "--owner-gid=0", "--add-metadata-string=version=5.0").stdout.strip()
    rpmostree(s, "rebase", f"{OS}/scripts")
    p = rpmostree(s, "install", rpms["scripty"])
    assert "Running post scripts... \nscripty.post: hello from post\nRunning post scripts... 1 done\n" \
        in p.stdout, p.stdout
    assert "scripty.posttrans: built\nRunning posttrans scripts... 2 done\n" in p.stdout, p.stdout
    assert "var is writable" not in p.stdout
    d = status_json(s)[0]
    assert d["base-checksum"] == base
    root = deploy_dir(s, d)
    assert (root / "usr/share/scripty-cache/index").read_text() == "built\n"
    assert (root / "usr/share/base/data").read_text() == "data\ntampered\n"
    assert not (root / "usr/share/base/gone").exists()
    assert oct((root / "usr/share/base/mode").stat().st_mode & 0o777) == "0o600"
    assert (root / "usr/share/scripty-trigger-list").read_text() == "/usr/share/scripty/a\n"
    assert not (root / "usr/share/scripty-never").exists()
    # the base commit's objects are intact, and overlayfs left nothing in the commit
    assert ostree(repo, "cat", base, "/usr/share/base/data").stdout == "data\n"
    assert ostree(repo, "fsck").returncode == 0
    listing = ostree(repo, "ls", "-X", "-R", d["checksum"], "/usr/share").stdout
    assert "overlay" not in listing and "/usr/share/base/mode" in listing
    assert "/usr/share/base/gone" not in listing
    assert (deploy_dir(s, status_json(s)[1]) / "usr/share/base/data").read_text() == "data\n"

    # lua scripts are refused unless marked to be skipped; %triggerin is refused
    n = len(status_json(s))
    p = rpmostree(s, "install", rpms["luapost"], check=False)
    assert (p.returncode, p.stderr) == (1, "error: Package 'luapost' has (currently) unsupported <lua> script "
                                           "in '%post'\n"), p.stderr
    p = rpmostree(s, "install", rpms["trigin"], check=False)
    assert (p.returncode, p.stderr) == (1, "error: Package 'trigin' has (currently) unsupported script of type "
                                           "'%triggerin'; see https://github.com/coreos/rpm-ostree/issues/749\n")
    assert len(status_json(s)) == n
    p = rpmostree(s, "install", rpms["luaskip"])
    assert "luaskip.post" not in p.stdout and status_json(s)[0]["requested-local-packages"] == [
        "luaskip-1.0-1.noarch", "scripty-1.0-1.noarch"]
    rpmostree(s, "uninstall", "--all")


FAKE_DRACUT = """#!/usr/bin/bash
if [ "$1" = --help ]; then echo "  --reproducible  Create reproducible images"; exit 0; fi
out=; prev=
for a in "$@"; do if [ "$prev" = -f ]; then out=$a; fi; prev=$a; done
{ echo "dracut $*"; cat /etc/dracut-test.conf; } > "$out"
"""


def boot_initrds(sysroot):
    """The initrd lines of the first boot entry."""
    def version(text):
        return int(next(line.split()[1] for line in text.splitlines() if line.startswith("version ")))
    text = max((p.read_text() for p in (sysroot / "boot/loader/entries").glob("*.conf")), key=version)
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("initrd ")]


def test_initramfs_regenerate_and_etc(sysroot, rpms):
    """initramfs --enable runs the tree's dracut (here a stand-in that records its
    arguments and reads the system's /etc) and installs its output with rpm-ostree's
    /dev/random cpio appended; initramfs-etc ships tracked /etc files as an overlay initrd."""
    import gzip
    s = sysroot["path"]
    rpmostree(s, "uninstall", "--all", "--idempotent")

    def dracut(root):
        (root / "usr/bin/dracut").write_text(FAKE_DRACUT)
        (root / "usr/bin/dracut").chmod(0o755)
    tree = sysroot["top"] / "dracut-base"
    make_base(tree, rpms, "6", extra=dracut,
              tools=[shutil.which(t) for t in ("bash", "grep", "mkdir", "cat")])
    ostree(f"--repo={s}/ostree/repo", "commit", "-b", f"{OS}/dracut", f"--tree=dir={tree}", "--owner-uid=0",
           "--owner-gid=0", "--add-metadata-string=version=6.0")
    rpmostree(s, "rebase", f"{OS}/dracut")
    merge = deploy_dir(s, status_json(s)[0])
    (merge / "etc/dracut-test.conf").write_text("from the system's etc\n")
    assert rpmostree(s, "initramfs").stdout == "Initramfs regeneration: disabled\n"
    for args, err in ((["--arg=x"], "--arg must be used with --enable"),
                      (["--enable", "--disable"], "Cannot simultaenously specify --enable and --disable"),
                      (["--disable", "--arg=x"], "Cannot simultaenously specify --disable and --arg"),
                      (["--disable"], "initramfs regeneration state is already disabled")):
        p = rpmostree(s, "initramfs", *args, check=False)
        assert (p.returncode, p.stderr) == (1, f"error: {err}\n"), (args, p.stderr)

    p = rpmostree(s, "initramfs", "--enable", "--arg=-I", "--arg=/etc/dracut-test.conf")
    assert "Generating initramfs... done\n" in p.stdout and \
        p.stdout.endswith("Initramfs regeneration is now: enabled\n"), p.stdout
    d = status_json(s)[0]
    assert d["regenerate-initramfs"] is True and d["initramfs-args"] == ["-I", "/etc/dracut-test.conf"]
    assert "Initramfs: -I /etc/dracut-test.conf \n" in rpmostree(s, "status").stdout
    img = (deploy_dir(s, d) / "usr/lib/modules/5.0/initramfs.img").read_bytes()
    head = b"dracut --reproducible -v --add ostree --tmpdir=/tmp/dracut -f /tmp/initramfs.img " \
           b"--rebuild usr/lib/modules/5.0/initramfs.img --no-hostonly -I /etc/dracut-test.conf --kver 5.0\n" \
           b"from the system's etc\n"
    assert img.startswith(head), img[:300]
    tail = img[len(head):]
    assert tail.lstrip(b"\0")[:2] == b"\x1f\x8b" and len(tail) - len(tail.lstrip(b"\0")) in (4, 5, 6, 7)
    cpio = gzip.decompress(tail.lstrip(b"\0"))
    assert b"dev/random" in cpio and b"dev/urandom" in cpio and cpio.startswith(b"070701")
    boot = s / "boot" / boot_initrds(s)[0].lstrip("/")
    assert boot.read_bytes() == img
    p = rpmostree(s, "initramfs")
    assert p.stdout == "Initramfs regeneration: enabled\nInitramfs args: -I /etc/dracut-test.conf \n"
    # /etc overlays and regeneration exclude each other
    p = rpmostree(s, "initramfs-etc", "--track=/etc/dracut-test.conf", check=False)
    assert p.stderr == "error: initramfs regeneration and /etc overlay not compatible; use dracut arg -I instead\n"
    p = rpmostree(s, "initramfs", "--disable")
    assert p.stdout.endswith("Initramfs regeneration is now: disabled\n"
                             "Initramfs will be reset to default on next reboot.\n")
    d = status_json(s)[0]
    assert d["regenerate-initramfs"] is False and "initramfs-args" not in d
    assert (deploy_dir(s, d) / "usr/lib/modules/5.0/initramfs.img").read_text() == "initramfs"

    # initramfs-etc
    assert rpmostree(s, "initramfs-etc").stdout == "No tracked files.\n"
    merge = deploy_dir(s, d)
    (merge / "etc/cmdline.d").mkdir()
    (merge / "etc/cmdline.d/foo.conf").write_text("rd.foo=1\n")
    p = rpmostree(s, "initramfs-etc", "--track=/etc/cmdline.d/foo.conf")
    assert p.stdout.endswith('Run "systemctl reboot" to start a reboot\n')
    d = status_json(s)[0]
    assert d["initramfs-etc"] == ["/etc/cmdline.d/foo.conf"]
    assert "InitramfsEtc: /etc/cmdline.d/foo.conf\n" in rpmostree(s, "status").stdout
    initrds = boot_initrds(s)
    assert len(initrds) == 2 and initrds[1].startswith("/ostree/initramfs-overlays/"), initrds
    listing = subprocess.run(["cpio", "-it", "--quiet"], input=gzip.decompress(
        (s / "boot" / initrds[1].lstrip("/")).read_bytes()), capture_output=True).stdout.decode()
    assert listing.split() == ["etc/cmdline.d", "etc/cmdline.d/foo.conf"], listing
    assert rpmostree(s, "initramfs-etc").stdout == "Tracked files:\n  /etc/cmdline.d/foo.conf\n"
    n = len(status_json(s))
    p = rpmostree(s, "initramfs-etc", "--track=/etc/cmdline.d/foo.conf", "--unchanged-exit-77", check=False)
    assert (p.returncode, p.stdout) == (77, "No changes.\n")
    p = rpmostree(s, "initramfs-etc", "--track=/usr/x", check=False)
    assert (p.returncode, p.stderr) == (1, "error: Path outside /etc forbidden: /usr/x\n")
    p = rpmostree(s, "initramfs-etc", "--track=/etc/nosuch", check=False)
    assert p.returncode == 1 and "Adding nosuch: stat: No such file or directory" in p.stderr, p.stderr
    assert len(status_json(s)) == n
    # --force-sync ships the files' current content
    (deploy_dir(s, status_json(s)[0]) / "etc/cmdline.d/foo.conf").write_text("rd.foo=2\n")
    rpmostree(s, "initramfs-etc", "--force-sync")
    synced = boot_initrds(s)
    assert synced[1] != initrds[1] and b"rd.foo=2" in gzip.decompress((s / "boot" / synced[1].lstrip("/")).read_bytes())
    # kargs keep the overlay
    rpmostree(s, "kargs", "--append=initrd.test=1")
    assert len(boot_initrds(s)) == 2
    rpmostree(s, "initramfs-etc", "--untrack-all")
    assert "initramfs-etc" not in status_json(s)[0] and len(boot_initrds(s)) == 1


def test_override_replace_and_reset(sysroot, rpms):
    """override replace: local RPMs (and, experimentally, repo packages) replace base
    packages of the same name; override reset and reset undo it."""
    s = sysroot["path"]
    rpmostree(s, "uninstall", "--all", "--idempotent")

    def basepkg(root):
        sh("rpm", "--root", root, "--dbpath", "/usr/share/rpm", "-i", "--nodeps", "--noscripts", rpms["basepkg"])
    tree = sysroot["top"] / "replace-base"
    make_base(tree, rpms, "7", extra=basepkg)
    base = ostree(f"--repo={s}/ostree/repo", "commit", "-b", f"{OS}/replace", f"--tree=dir={tree}",
                  "--owner-uid=0", "--owner-gid=0", "--add-metadata-string=version=7.0").stdout.strip()
    rpmostree(s, "rebase", f"{OS}/replace")
    assert (deploy_dir(s, status_json(s)[0]) / "usr/share/basepkg/version").read_text() == "1.0\n"

    p = rpmostree(s, "override", "replace", rpms["basepkg2"])
    assert "basepkg.post: post 2\n" in p.stdout, p.stdout
    d = status_json(s)[0]
    root = deploy_dir(s, d)
    assert (root / "usr/share/basepkg/version").read_text() == "2.0\n"
    assert rpm_q(root, "basepkg").stdout.split() == ["basepkg-2.0-1.noarch"]
    assert d["requested-base-local-replacements"] == ["basepkg-2.0-1.noarch"] and d["base-checksum"] == base
    assert [r[0][0] for r in d["base-local-replacements"]] == ["basepkg-2.0-1.noarch"]
    assert [r[1][0] for r in d["base-local-replacements"]] == ["basepkg-1.0-1.noarch"]
    assert "LocalOverrides: basepkg 1.0-1 -> 2.0-1\n" in rpmostree(s, "status").stdout
    origin = (s / "ostree/deploy" / OS / "deploy" / f"{d['checksum']}.{d['serial']}.origin").read_text()
    assert ":basepkg-2.0-1.noarch;" in origin and "replace-local=" in origin
    # a package the base lacks replaces nothing: an inactive override, kept in the origin
    p = rpmostree(s, "override", "replace", rpms["scripty"])
    assert "Inactive base replacements:\n  scripty-1.0-1.noarch\n" in p.stdout, p.stdout
    d = status_json(s)[0]
    assert d["requested-base-local-replacements"] == ["basepkg-2.0-1.noarch", "scripty-1.0-1.noarch"]
    assert [r[0][0] for r in d["base-local-replacements"]] == ["basepkg-2.0-1.noarch"]
    assert not (deploy_dir(s, d) / "usr/share/scripty").exists()
    assert "InactiveLocalOverrides: scripty-1.0-1.noarch\n" in rpmostree(s, "status", "-v").stdout
    rpmostree(s, "override", "reset", "scripty-1.0-1.noarch")
    assert status_json(s)[0]["requested-base-local-replacements"] == ["basepkg-2.0-1.noarch"]

    # reset by name brings the base version back
    rpmostree(s, "override", "reset", "basepkg")
    d = status_json(s)[0]
    assert d["requested-base-local-replacements"] == []
    assert (deploy_dir(s, d) / "usr/share/basepkg/version").read_text() == "1.0\n"

    # from a repo (experimental)
    shutil.copy(rpms["basepkg3"], rpms["repo"])
    sh("createrepo_c", "-q", "--update", rpms["repo"])
    p = rpmostree(s, "override", "replace", "--from", "repo=test", "basepkg", check=False)
    assert p.stderr == "error: Must specify --experimental to use --freeze or --from\n"
    p = rpmostree(s, "override", "replace", "--experimental", "--from", "repo=other", "basepkg", check=False)
    assert p.stderr == "error: No matches for 'basepkg' in repo 'other'\n"
    rpmostree(s, "override", "replace", "--experimental", "--from", "repo=test", "basepkg")
    d = status_json(s)[0]
    assert (deploy_dir(s, d) / "usr/share/basepkg/version").read_text() == "3.0\n"
    assert d["requested-base-remote-replacements"] == [["repo=test", ["basepkg"]]]
    assert "RemoteOverrides: repo=test\n" in rpmostree(s, "status").stdout
    assert "basepkg 1.0-1 -> 3.0-1\n" in rpmostree(s, "status").stdout

    # reset -o drops overrides but keeps layered packages; reset drops everything
    rpmostree(s, "install", "foo")
    rpmostree(s, "override", "remove", "basefs", f"--replace={rpms['basepkg2']}")
    d = status_json(s)[0]
    assert d["requested-base-removals"] == ["basefs"] and d["requested-base-remote-replacements"] == [] \
        and d["requested-base-local-replacements"] == ["basepkg-2.0-1.noarch"]
    rpmostree(s, "reset", "-o")
    d = status_json(s)[0]
    assert d["packages"] == ["foo"] and d["requested-base-removals"] == []
    assert d["requested-base-local-replacements"] == []
    assert (deploy_dir(s, d) / "usr/share/basepkg/version").read_text() == "1.0\n"
    rpmostree(s, "initramfs-etc", "--track=/etc/os-release")
    p = rpmostree(s, "reset")
    assert "Removed:\n  foo-1." in p.stdout and "-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout, p.stdout
    d = status_json(s)[0]
    assert d["checksum"] == base and d["requested-packages"] == [] and "initramfs-etc" not in d
    assert rpmostree(s, "reset").stdout == "No change.\n"
    p = rpmostree(s, "reset", "extra", check=False)
    assert p.returncode == 1 and p.stderr.endswith("error: Too few or too many arguments\n")


def test_kargs_editor_and_usroverlay(sysroot, tmp_path):
    """kargs --editor: $EDITOR gets rpm-ostree's template; its comment and blank lines
    are dropped and the rest joined. usroverlay is ``ostree admin unlock``."""
    s = sysroot["path"]
    before = rpmostree(s, "kargs").stdout.strip()
    seen = tmp_path / "seen"
    editor = tmp_path / "editor"
    editor.write_text(f"#!/bin/sh\ncp \"$1\" {seen}\nprintf '\\n# a comment\\n  edited=1 \\n\\nsecond\\n' >> \"$1\"\n")
    editor.chmod(0o755)
    env = {"EDITOR": str(editor), "TERM": "dumb", "OSTREE_EDITOR": "", "VISUAL": ""}
    env = {k: v for k, v in env.items() if v}
    clean = {k: v for k, v in os.environ.items() if k not in ("OSTREE_EDITOR", "VISUAL")}
    p = subprocess.run([*RPMOSTREE, "kargs", "--editor", f"--sysroot={s}"], capture_output=True, text=True,
                       env=dict(clean, LC_ALL="C.UTF-8", **env))
    assert p.returncode == 0, p.stderr
    assert seen.read_text() == (
        "# Current kernel arguments are shown below, and can be directly edited.\n"
        "# Empty or commented lines (starting with '#') will be ignored.\n"
        "# Individual kernel arguments should be separated by spaces, and the order \n"
        "# is relevant.\n"
        "# Also, please note that any changes to the 'ostree=' argument will not be \n"
        "# effective as they are usually regenerated when bootconfig changes.\n"
        "\n" + before)
    assert rpmostree(s, "kargs").stdout == before + " edited=1 second\n"
    # an editor that changes nothing
    editor.write_text("#!/bin/sh\ntrue\n")
    p = subprocess.run([*RPMOSTREE, "kargs", "--editor", f"--sysroot={s}"], capture_output=True, text=True,
                       env=dict(clean, LC_ALL="C.UTF-8", **env))
    assert (p.returncode, p.stderr) == (1, "error: The kernel arguments remained the same\n")
    p = subprocess.run([*RPMOSTREE, "kargs", "--editor", "--unchanged-exit-77", f"--sysroot={s}"],
                       capture_output=True, text=True, env=dict(clean, LC_ALL="C.UTF-8", **env))
    assert (p.returncode, p.stdout) == (77, "No changes.\n")
    editor.write_text("#!/bin/sh\nprintf '\\nostree=/x\\n' >> \"$1\"\n")
    p = subprocess.run([*RPMOSTREE, "kargs", "--editor", f"--sysroot={s}"], capture_output=True, text=True,
                       env=dict(clean, LC_ALL="C.UTF-8", **env))
    assert p.stderr == "error: You have an 'ostree' argument in your input, that is not going to be handled\n"
    p = rpmostree(s, "kargs", "--editor", "--append=x", check=False)
    assert p.stderr == ("error: Cannot specify --editor with --replace, --delete, --append, "
                        "--delete-if-present or --append-if-missing\n")
    # usroverlay needs the booted deployment, as ostree admin unlock does
    p = rpmostree(s, "usroverlay", check=False)
    ref = ostree("admin", "unlock", f"--sysroot={s}", check=False)
    assert (p.returncode, p.stderr) == (1, "error: Not currently booted into an OSTree system\n")
    assert ref.returncode == 1 and "Not currently booted into an OSTree system" in ref.stderr


@pytest.mark.parametrize("overlay", [True, False])
def test_script_sandbox_never_writes_hardlinked_files(tmp_path, monkeypatch, overlay):
    """With the overlay, and without it (then every hard-linked file is copied first),
    a script's in-place write to a file hard-linked to an object leaves the object alone."""
    from ostree_py.rpmostree import RpmOstreeError
    from ostree_py.rpmostree.scripts import Sandbox
    root = tmp_path / "root"
    for d in ("usr/bin", "usr/lib64", "usr/share", "var", "etc"):
        (root / d).mkdir(parents=True)
    for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.symlink(target, root / link)
    shutil.copy("/bin/dash", root / "usr/bin/sh")
    add_tools(root, "/bin/dash")
    obj = tmp_path / "object"
    obj.write_text("object\n")
    os.link(obj, root / "usr/share/data")
    if not overlay:
        def no_overlay(self):
            raise RpmOstreeError("no overlay here")
        monkeypatch.setattr(Sandbox, "_check_overlay", no_overlay)
    out = []
    sb = Sandbox(str(root), str(tmp_path / "work"), out.append)
    assert sb.overlay is overlay
    sb.run("pkg", "%post", "/bin/sh", "echo changed >> /usr/share/data; echo hi; echo new > /usr/share/new", "1")
    sb.finish()
    assert obj.read_text() == "object\n" and out == ["pkg.post: hi\n"]
    assert (root / "usr/share/data").read_text() == "object\nchanged\n"
    assert (root / "usr/share/new").read_text() == "new\n"
    assert sorted(os.listdir(root / "usr/share")) == ["data", "new"]


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

