"""Collections across implementations: find-remotes prints what the reference prints and
pulls the same refs; a USB repository made by either create-usb is the same, and the
reference's mount finder (its repo-finder-mount test program) finds refs on ours."""

import os
import shutil
import subprocess
import tempfile

import pytest

GPGHOME_SRC = "/usr/libexec/installed-tests/libostree/gpghome"
REPO_FINDER_MOUNT = "/usr/libexec/installed-tests/libostree/repo-finder-mount"
KEYID_1 = "7FCA23D8472CDAFA"
APPS, OS = "org.example.AppsCollection", "org.example.OsCollection"

pytestmark = pytest.mark.skipif(not (shutil.which("gpg") and os.path.isdir(GPGHOME_SRC)),
                                reason="needs gpg and the ostree-tests GPG keys")


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.delenv("OSTREE_GPG_HOME", raising=False)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("OSTREE_PY_PRGNAME", "ostree")


@pytest.fixture(scope="module")
def world(ours):
    d = tempfile.mkdtemp(prefix="ostree-py-coll-")
    home = os.path.join(d, "gpghome")
    shutil.copytree(GPGHOME_SRC, home)
    os.chmod(home, 0o700)
    files = os.path.join(d, "files")
    os.mkdir(files)
    with open(os.path.join(files, "a"), "w") as f:
        f.write("a\n")
    w = {"dir": d, "home": home, "files": files}
    sign = [f"--gpg-homedir={home}", f"--gpg-sign={KEYID_1}"]
    for name, cid, refs in (("apps", APPS, ("app1", "app2", "app3")), ("os", OS, ("os/amd64/main",))):
        r = os.path.join(d, name)
        ours("init", f"--repo={r}", "--mode=archive", f"--collection-id={cid}")
        for ref in refs:
            w[ref] = ours(f"--repo={r}", "commit", "-b", ref, "-s", ref, f"--tree=dir={files}", *sign).stdout.strip()
        ours(f"--repo={r}", "summary", "-u", *sign)
    local = os.path.join(d, "local")
    ours("init", f"--repo={local}")
    for name, cid in (("apps", APPS), ("os", OS), ("os2", OS)):
        src = "os" if name == "os2" else name
        ours(f"--repo={local}", "remote", "add", f"{name}-remote", f"file://{d}/{src}", f"--collection-id={cid}",
             f"--gpg-import={home}/key1.asc")
    w["local"] = local
    yield w
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


def copy(world, name):
    dst = os.path.join(world["dir"], name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(world["local"], dst, symlinks=True)
    return dst


@pytest.mark.parametrize("refs", [
    [APPS, "app1"],
    [APPS, "app1", APPS, "app2", OS, "os/amd64/main", APPS, "app3", APPS, "not-an-app"],
    [OS, "os/amd64/main", APPS, "app2", OS, "os/amd64/main"],
    [APPS, "not-an-app"],
])
def test_find_remotes_prints_what_the_reference_prints(world, ours, ref, refs):
    a = ours(f"--repo={world['local']}", "find-remotes", "--finders=config", *refs)
    b = ref(f"--repo={world['local']}", "find-remotes", "--finders=config", *refs)
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


@pytest.mark.parametrize("mirror", [False, True])
def test_find_remotes_pull_gives_the_references_refs(world, ours, ref, mirror):
    refs = [APPS, "app1", OS, "os/amd64/main", APPS, "not-an-app"]
    extra = ["--mirror"] if mirror else []
    r_ours, r_ref = copy(world, "pull-ours"), copy(world, "pull-ref")
    a = ours(f"--repo={r_ours}", "find-remotes", "--finders=config", "--pull", *extra, *refs)
    b = ref(f"--repo={r_ref}", "find-remotes", "--finders=config", "--pull", *extra, *refs)
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)
    assert "Pulled 3/3 refs successfully.\n" in a.stdout
    for r in (r_ours, r_ref):
        listing = ref(f"--repo={r}", "refs", "--collections").stdout
        assert sorted(listing.splitlines()) == [f"({APPS}, app1)", f"({OS}, os/amd64/main)"]
        ref(f"--repo={r}", "fsck")
    assert ref(f"--repo={r_ours}", "refs").stdout == ref(f"--repo={r_ref}", "refs").stdout
    if mirror:
        with open(os.path.join(r_ours, "refs", "mirrors", APPS, "app1")) as f:
            assert f.read() == world["app1"] + "\n"


def _tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if rel.endswith("summary") or rel.startswith(".ostree/repo/tmp/") or "/tmp/" in rel:
                continue
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode & 0o7777)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o7777, f.read())
    return out


@pytest.mark.parametrize("dest", [None, "some-dest"])
def test_create_usb_makes_the_references_volume(world, ours, ref, dest):
    src = os.path.join(world["dir"], "apps")
    vols = []
    for run, name in ((ours, "usb-ours"), (ref, "usb-ref")):
        mnt = os.path.join(world["dir"], name)
        shutil.rmtree(mnt, ignore_errors=True)
        os.mkdir(mnt)
        extra = [f"--destination-repo={dest}"] if dest else []
        p = run(f"--repo={src}", "create-usb", *extra, mnt, APPS, "app1", APPS, "app2")
        assert p.stdout == (f"Copied 2/2 refs successfully from \u2018{src}\u2019 to "
                            f"\u2018{dest or '.ostree/repo'}\u2019 repository in \u2018{mnt}\u2019.\n")
        vols.append(mnt)
    assert _tree(vols[0]) == _tree(vols[1])
    repo = os.path.join(vols[0], dest or ".ostree/repo")
    ref(f"--repo={repo}", "fsck")
    a = ref(f"--repo={repo}", "summary", "-v").stdout
    b = ref(f"--repo={os.path.join(vols[1], dest or '.ostree/repo')}", "summary", "-v").stdout
    strip = [line for line in a.splitlines() if "last-modified" not in line]
    assert strip == [line for line in b.splitlines() if "last-modified" not in line]


@pytest.mark.skipif(not os.access(REPO_FINDER_MOUNT, os.X_OK), reason="needs ostree-tests' repo-finder-mount")
def test_reference_mount_finder_finds_our_usb(world, ours, ref):
    mnt = os.path.join(world["dir"], "usb-finder")
    shutil.rmtree(mnt, ignore_errors=True)
    os.mkdir(mnt)
    ours(f"--repo={world['dir']}/apps", "create-usb", mnt, APPS, "app1", APPS, "app2")
    finder_repo = copy(world, "finder")
    p = subprocess.run([REPO_FINDER_MOUNT, finder_repo, mnt, APPS, "app1", APPS, "app2"],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    for r in ("app1", "app2"):
        assert f"_2F.ostree_2Frepo_apps-remote.trustedkeys.gpg {APPS} {r} {world[r]}" in out, out
