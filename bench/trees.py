"""The input trees of the benchmark, built once and cached in bench/.cache.

``real``: a Debian bookworm minbase root made by debootstrap (about 6,000 files,
200 MB) from the apt mirror this machine is configured with, with device nodes
and other special files removed, /etc moved to /usr/etc and a stub kernel and
initramfs added in usr/lib/modules, so that ``admin deploy`` accepts it.
``many``: a generated tree of 100,000 small files.  ``BENCH_QUICK=1`` swaps
both for small generated trees (no debootstrap, for iterating).
"""

import glob
import os
import random
import shutil
import stat
import subprocess

KVER = "6.1.0-bench"


def apt_mirror(suite="bookworm"):
    """The Debian mirror URI apt uses for `suite` (read from the sources at runtime)."""
    found = []
    for path in sorted(glob.glob("/etc/apt/sources.list") + glob.glob("/etc/apt/sources.list.d/*.list")):
        with open(path, errors="replace") as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) >= 3 and words[0] == "deb":
                    words = [w for w in words[1:] if not w.startswith("[")]
                    if len(words) >= 2 and words[1] == suite:
                        found.append(words[0])
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path, errors="replace") as f:
            for stanza in f.read().split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.startswith("#") and not line[:1].isspace():
                        key, value = line.split(":", 1)
                        fields[key.strip().lower()] = value.split()
                if suite in fields.get("suites", []) and fields.get("uris"):
                    found.append(fields["uris"][0])
    if not found:
        raise SystemExit(f"error: no apt source for {suite} in /etc/apt/sources.list*")
    return found[0]


def strip_special(root):
    """Removes device nodes, fifos and sockets (ostree commits none of them)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            p = os.path.join(dirpath, name)
            m = os.lstat(p).st_mode
            if not (stat.S_ISREG(m) or stat.S_ISLNK(m)):
                os.unlink(p)


def make_deployable(root):
    """/etc -> /usr/etc and a stub kernel, as an ostree OS tree has them."""
    etc, usr_etc = os.path.join(root, "etc"), os.path.join(root, "usr", "etc")
    if os.path.isdir(etc) and not os.path.islink(etc) and not os.path.exists(usr_etc):
        os.rename(etc, usr_etc)
    mod = os.path.join(root, "usr", "lib", "modules", KVER)
    os.makedirs(mod, exist_ok=True)
    for name, size in (("vmlinuz", 8 << 20), ("initramfs.img", 16 << 20)):
        rng = random.Random(name)
        with open(os.path.join(mod, name), "wb") as f:
            f.write(rng.randbytes(size))


def debootstrap_tree(cache):
    final = os.path.join(cache, "tree-real")
    if os.path.isdir(final):
        return final
    tmp = final + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    mirror = apt_mirror()
    print("bench: debootstrap --variant=minbase bookworm (once; cached in bench/.cache)", flush=True)
    log = os.path.join(cache, "debootstrap.log")
    with open(log, "wb") as out:
        rc = subprocess.call(["debootstrap", "--variant=minbase", "bookworm", tmp, mirror],
                             stdout=out, stderr=subprocess.STDOUT)
    if rc != 0:
        raise SystemExit(f"error: debootstrap failed (rc={rc}); see {log}")
    # Files apt leaves that differ between runs and are not part of an OS image.
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "debootstrap"):
        shutil.rmtree(os.path.join(tmp, sub), ignore_errors=True)
    strip_special(tmp)
    make_deployable(tmp)
    os.rename(tmp, final)
    return final


def generated_tree(path, nfiles, big=0, deployable=False):
    """nfiles small files (0-4 KiB, distinct) in directories of 100, plus `big` 4 MiB files."""
    if os.path.isdir(path):
        return path
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    print(f"bench: generating {nfiles} files in {os.path.basename(path)} (once)", flush=True)
    rng = random.Random(nfiles)
    for i in range(nfiles):
        d = os.path.join(tmp, "usr", "share", f"d{i // 10000}", f"e{(i // 100) % 100}")
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}"), "wb") as f:
            f.write(b"%d\n" % i + rng.randbytes(rng.randrange(4096)))
        if i % 7 == 0:
            os.chmod(os.path.join(d, f"f{i}"), 0o755)
        if i % 50 == 0:
            os.symlink(f"f{i}", os.path.join(d, f"l{i}"))
    os.makedirs(os.path.join(tmp, "usr", "bin"), exist_ok=True)
    for i in range(big):
        with open(os.path.join(tmp, "usr", "bin", f"big{i}"), "wb") as f:
            f.write(rng.randbytes(4 << 20))
    if deployable:
        os.makedirs(os.path.join(tmp, "usr", "etc"), exist_ok=True)
        with open(os.path.join(tmp, "usr", "etc", "os-release"), "w") as f:
            f.write("ID=bench\n")
        make_deployable(tmp)
    os.rename(tmp, path)
    return path


def tree_stats(root):
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            files += 1
            size += st.st_size if stat.S_ISREG(st.st_mode) else 0
    return files, size


def get_trees(cache, quick):
    """[(name, path)] of the trees to benchmark."""
    os.makedirs(cache, exist_ok=True)
    if quick:
        return [("real", generated_tree(os.path.join(cache, "tree-quick-real"), 1500, big=6,
                                        deployable=True)),
                ("many", generated_tree(os.path.join(cache, "tree-quick-many"), 10000))]
    return [("real", debootstrap_tree(cache)),
            ("many", generated_tree(os.path.join(cache, "tree-many"), 100000))]


def overlay_tree(base, dest, count=300):
    """A small tree of changed versions of `count` files of `base` (and a few new files),
    committed on top of the base commit to make the second commit for static deltas."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    picked = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and 64 <= st.st_size <= 1 << 20:
                picked.append(p)
    step = max(1, len(picked) // count)
    for p in picked[::step][:count]:
        rel = os.path.relpath(p, base)
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(p, "rb") as f:
            data = bytearray(f.read())
        # A small edit in the middle, as an update of a package does.
        mid = len(data) // 2
        data[mid:mid + 8] = b"bench-v2"
        with open(out, "wb") as f:
            f.write(data)
        os.chmod(out, os.lstat(p).st_mode & 0o7777)
    new = os.path.join(dest, "usr", "share", "bench-v2")
    os.makedirs(new, exist_ok=True)
    for i in range(20):
        with open(os.path.join(new, f"new{i}"), "w") as f:
            f.write(f"new file {i}\n" * 100)
    return dest
