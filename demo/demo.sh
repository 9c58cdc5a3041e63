#!/bin/bash
# The ostree-py guided demo (`make demo`): build a small bootable tree, commit
# it into a server repository, serve that over HTTP, deploy it into a
# throwaway sysroot in a folder, upgrade it while keeping a local /etc change,
# then roll back. Uses ostree-py only (never /usr/bin/ostree).
#
#   DEMO_DIR=...   where everything goes (default ./demo-out; wiped first)
#   OSTREE_PY=...  the ostree-py to run (default: the project's .venv/bin/ostree-py)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OSTREE_PY=${OSTREE_PY:-$here/../.venv/bin/ostree-py}
DEMO_DIR=${DEMO_DIR:-./demo-out}
MARKER=.ostree-py-demo  # marks a folder as the demo's, so wiping it is safe

if ! [ -x "$OSTREE_PY" ]; then
    echo "demo: $OSTREE_PY not found; run 'make install' first (or set OSTREE_PY)" >&2
    exit 1
fi
OSTREE_PY=$(cd "$(dirname "$OSTREE_PY")" && pwd)/$(basename "$OSTREE_PY")

# Refuse to wipe a folder that is not empty and not from an earlier demo run.
if [ -d "$DEMO_DIR" ] && [ -n "$(ls -A "$DEMO_DIR")" ] && ! [ -e "$DEMO_DIR/$MARKER" ]; then
    echo "demo: $DEMO_DIR exists and is not a demo folder; not wiping it (choose another DEMO_DIR)" >&2
    exit 1
fi

step() { echo; echo "==> $*"; }
say() { echo "    $*"; }
# Shows an ostree-py command line, runs it, and indents what it prints.
run() {
    local shown
    shown=$(printf ' %q' "$@")
    echo "    \$ ostree-py${shown}"
    "$OSTREE_PY" "$@" 2>&1 | sed -e 's/^/    | /'
}

OS=demo                 # the "stateroot": one OS install inside the sysroot
REF=demo/x86_64/stable  # the branch the server publishes
REMOTE=demo             # the sysroot repo's name for the server
KVER=6.1.0-demo

# A sysroot in a folder is not the running system, so two things a real
# install gets for free are set up by hand (they are explained as they run):
#  - OSTREE_SYSROOT_DEBUG=mutable-deployments: ostree normally makes each
#    deployment directory immutable (chattr +i) so nothing edits it by
#    mistake; in a demo folder we want plain `rm -rf` to work.
#  - a stub bootloader config (boot/loader/syslinux.cfg, step 4) so ostree
#    has a bootloader to write boot entries for.
export OSTREE_SYSROOT_DEBUG=mutable-deployments
unset OSTREE_SYSROOT OSTREE_REPO

# ---------------------------------------------------------------- 0. folder
# Removing the folder also stops a server left by an earlier run (--autoexit).
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
cd "$DEMO_DIR"
DEMO_DIR=$(pwd)
touch "$MARKER"

cleanup() {
    # trivial-httpd --autoexit watches the folder it serves: removing it
    # (only a symlink to the server repo lives there) stops the server.
    rm -rf "$DEMO_DIR/httpd"
}
trap cleanup EXIT

echo "ostree-py demo in $DEMO_DIR"
echo "(ostree-py is $OSTREE_PY; the paths below are relative to the demo folder)"

# ---------------------------------------------------------------- 1. tree
step "1. Build a small bootable OS tree in tree/"
mkdir -p tree/usr/bin tree/usr/etc/demo tree/usr/lib/modules/$KVER tree/usr/share/demo
printf '#!/bin/sh\necho "hello from demo OS version 1"\n' > tree/usr/bin/hello
printf '#!/bin/sh\ncat /etc/os-release\n' > tree/usr/bin/os-info
chmod 755 tree/usr/bin/hello tree/usr/bin/os-info
cat > tree/usr/etc/os-release <<EOF
NAME="Demo OS"
ID=demo
VERSION_ID=1
PRETTY_NAME="Demo OS 1"
EOF
printf '# demo daemon configuration\ncolor=blue\n' > tree/usr/etc/demo/demo.conf
echo "a kernel for $KVER (dummy)" > tree/usr/lib/modules/$KVER/vmlinuz
echo "an initramfs for $KVER (dummy)" > tree/usr/lib/modules/$KVER/initramfs.img
echo "shared data, version 1" > tree/usr/share/demo/data.txt
say "usr/bin/hello and usr/bin/os-info, usr/etc/os-release, usr/etc/demo/demo.conf,"
say "usr/lib/modules/$KVER/vmlinuz and initramfs.img (dummy kernel and initramfs)."
say "An ostree OS keeps its default configuration in /usr/etc; each deployment"
say "gets its own writable /etc made from it."

# ---------------------------------------------------------------- 2. server repo
step "2. Create the server repository and commit the tree as version 1"
run --repo=server-repo init --mode=archive
say "a repository in archive mode (compressed objects, for serving over HTTP)"
run --repo=server-repo commit --branch=$REF --subject="Demo OS 1" \
    --add-metadata-string version=1 --tree=dir=tree
V1=$("$OSTREE_PY" --repo=server-repo rev-parse $REF)
say "the commit above (its checksum) is version 1 of branch $REF"
run --repo=server-repo summary -u
say "summary -u: writes the summary file that clients read to list the branches"
run --repo=server-repo log $REF

# ---------------------------------------------------------------- 3. serve it
step "3. Serve the repository over HTTP with the built-in server"
mkdir httpd
ln -s ../server-repo httpd/repo
run trivial-httpd --daemonize --autoexit --port-file=httpd-port --log-file=httpd.log httpd
PORT=$(cat httpd-port)
URL=http://127.0.0.1:$PORT/repo
say "serving the folder httpd/ (a symlink repo -> ../server-repo) on port $PORT,"
say "so the repository is at $URL; requests are logged in httpd.log."
say "--autoexit: the server exits when httpd/ is removed (at the end of the demo)."

# ---------------------------------------------------------------- 4. sysroot
step "4. Create a sysroot in a folder and deploy version 1 into it"
mkdir sysroot
run admin init-fs sysroot
say "init-fs: the top-level layout of an ostree system (boot/, ostree/repo, sysroot/, ...)"
run admin os-init --sysroot=sysroot $OS
say "os-init: the stateroot ostree/deploy/$OS, where deployments of this OS and its /var live"
mkdir -p sysroot/boot/loader.0 sysroot/boot/syslinux
ln -s loader.0 sysroot/boot/loader
touch sysroot/boot/loader/syslinux.cfg
ln -s ../loader/syslinux.cfg sysroot/boot/syslinux/syslinux.cfg
say "stub bootloader: an empty boot/loader/syslinux.cfg and its usual link"
say "boot/syslinux/syslinux.cfg (as ostree's own tests do), so ostree detects syslinux"
say "and writes its menu there; a real system has them from the installer."
say "OSTREE_SYSROOT_DEBUG=mutable-deployments is set: deployments stay deletable (no chattr +i)."
run --repo=sysroot/ostree/repo remote add --no-gpg-verify $REMOTE "$URL" $REF
say "the sysroot's repository now knows the server as '$REMOTE' (unsigned demo commits)"
run --repo=sysroot/ostree/repo pull $REMOTE $REF
say "pull: downloaded $REF over HTTP into the sysroot's repository"
run admin deploy --sysroot=sysroot --os=$OS --karg=root=LABEL=demo-root --karg=rw $REMOTE:$REF
say "deploy: checked out version 1 as ostree/deploy/$OS/deploy/<checksum>.0, made its"
say "/etc from /usr/etc, copied the kernel and initramfs to boot/ and wrote a boot entry."
say "(the 'Relabeling /var' line is ostree's SELinux step on a new /var; no policy here)"
run admin status --sysroot=sysroot

DEP1=sysroot/ostree/deploy/$OS/deploy/$V1.0
test -d "$DEP1"

# ---------------------------------------------------------------- 5. upgrade
step "5. Change /etc locally, publish version 2 on the server, upgrade"
sed -i -e 's/^color=blue$/color=green/' "$DEP1/etc/demo/demo.conf"
echo "written by the local admin" > "$DEP1/etc/demo/local.conf"
say "edited the deployment's /etc: demo/demo.conf now says color=green, new file demo/local.conf"
run admin config-diff --sysroot=sysroot --os=$OS
say "config-diff: how /etc differs from the defaults in /usr/etc (M modified, A added)"

printf '#!/bin/sh\necho "hello from demo OS version 2"\n' > tree/usr/bin/hello
printf '#!/bin/sh\necho "a tool new in version 2"\n' > tree/usr/bin/newtool
chmod 755 tree/usr/bin/hello tree/usr/bin/newtool
sed -i -e 's/VERSION_ID=1/VERSION_ID=2/; s/Demo OS 1/Demo OS 2/' tree/usr/etc/os-release
echo "shared data, version 2" > tree/usr/share/demo/data.txt
say "on the server side: changed usr/bin/hello, usr/etc/os-release and usr/share/demo/data.txt,"
say "added usr/bin/newtool"
run --repo=server-repo commit --branch=$REF --subject="Demo OS 2" \
    --add-metadata-string version=2 --tree=dir=tree
V2=$("$OSTREE_PY" --repo=server-repo rev-parse $REF)
run --repo=server-repo summary -u
say "version 2 is published"

run admin upgrade --sysroot=sysroot --os=$OS
say "upgrade: pulled the new commit of $REF from '$REMOTE' and deployed it next to version 1."
say "Its /etc is a 3-way merge: version 2's defaults plus your local changes."
run admin status --sysroot=sysroot
say "two deployments; the first one (version 2) is the default for the next boot"

DEP2=sysroot/ostree/deploy/$OS/deploy/$V2.0
say "in the new deployment, $DEP2:"
say "  etc/demo/demo.conf:  $(grep '^color' "$DEP2/etc/demo/demo.conf")     (your change, kept)"
say "  etc/demo/local.conf: $(cat "$DEP2/etc/demo/local.conf")     (your file, kept)"
say "  etc/os-release:      $(grep '^PRETTY_NAME' "$DEP2/etc/os-release")     (new default from version 2)"
say "  usr/bin/newtool:     $(tail -n 1 "$DEP2/usr/bin/newtool")"
grep -q '^color=green' "$DEP2/etc/demo/demo.conf"
test -f "$DEP2/etc/demo/local.conf"
grep -q 'VERSION_ID=2' "$DEP2/etc/os-release"
test -x "$DEP2/usr/bin/newtool"
test ! -e "$DEP1/usr/bin/newtool"
say "boot entries: $(cd sysroot/boot/loader/entries && echo *) (one per deployment),"
say "and the syslinux menu, boot/loader/syslinux.cfg:"
sed -e 's/^/    | /' sysroot/boot/loader/syslinux.cfg

# ---------------------------------------------------------------- 6. rollback
step "6. Roll back to version 1"
run admin undeploy --sysroot=sysroot 0
say "undeploy 0: removed deployment 0 (version 2, the default); version 1, with your"
say "/etc changes, is the default again. (On a booted system you would now reboot.)"
run admin status --sysroot=sysroot
test -d "$DEP1"
test ! -e "$DEP2"

# ---------------------------------------------------------------- summary
cleanup
step "Done"
cat <<EOF
    - tree/ was committed twice into the archive repository server-repo/
      (branch $REF: version 1 ${V1:0:12}..., version 2 ${V2:0:12}...)
      and served over HTTP by ostree-py trivial-httpd;
    - sysroot/ became an ostree sysroot: version 1 was pulled and deployed,
      /etc was edited, version 2 was installed by 'admin upgrade' with the
      /etc change merged in, then undeployed to roll back to version 1.
    Everything is in $DEMO_DIR; look around with:
      cd $DEMO_DIR
      $OSTREE_PY --repo=server-repo log $REF
      $OSTREE_PY admin status --sysroot=sysroot
      ls sysroot/ostree/deploy/$OS/deploy/ sysroot/boot/loader/entries/
      cat sysroot/boot/loader/syslinux.cfg
    The HTTP server has stopped (its log is httpd.log). Remove it all with: rm -rf $DEMO_DIR
EOF
