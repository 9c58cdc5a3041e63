# ostree-py: make install | demo | test | check | upstream | upstream-2025 | man | bench | boot-test
# Everything runs from the project's venv (.venv), which `make install` creates.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Debian packages the tests need: the reference ostree and its upstream test
# suite (ostree-tests pulls gjs, fuse3, gnupg, cpio, python3-yaml...), attr
# for setfattr/getfattr, man-db for `man`/`ostree-py help`, xz for test data,
# nginx for the HTTP interop tests (tests/net, started on a loopback port),
# skopeo and umoci to read and unpack the OCI images `container` writes.
SYS_PACKAGES := ostree ostree-tests attr python3-yaml python3-gi gir1.2-glib-2.0 gnupg xz-utils man-db parallel nginx rpm createrepo-c bubblewrap skopeo umoci docker-registry
STAMP  := $(VENV)/.ostree-py-installed
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install system-packages demo test check upstream upstream-2025 man bench boot-test bytecode

install: system-packages $(STAMP) bytecode

# Installs only what is missing, so it is quick when all is there.
system-packages:
	@missing=""; \
	for p in $(SYS_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if dpkg-query -W ostree-tests >/dev/null 2>&1 && [ -n "$$(dpkg -V ostree-tests 2>/dev/null)" ]; then \
	  echo "ostree-tests files were modified (e.g. its gpghome): reinstalling"; \
	  missing="$$missing --reinstall ostree-tests"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalled when the packaging or the man pages change. A wheel installs the
# pages as data files (pyproject.toml); an editable install does not, so copy them.
$(STAMP): $(PY) pyproject.toml $(wildcard man/*.1)
	$(PY) -m pip install -q -e '.[test]'
	@mkdir -p $(VENV)/share/man/man1 && install -m 644 man/*.1 $(VENV)/share/man/man1/
	@touch $@

# The guided demo (demo/demo.sh): a tree committed, served over HTTP, deployed
# into a throwaway sysroot, upgraded and rolled back, in DEMO_DIR (wiped first).
DEMO_DIR ?= demo-out
demo: install
	@DEMO_DIR='$(DEMO_DIR)' OSTREE_PY=$(CURDIR)/$(VENV)/bin/ostree-py demo/demo.sh

# Byte-compiles ostree-py (part of install; quick when nothing changed), so that
# no command compiles it again each time it starts, which happens where
# PYTHONDONTWRITEBYTECODE is set: Python then never writes byte code itself.
# The editable install imports from this tree, so the byte code lands in its
# __pycache__ directories; tests/conftest.py and tests/upstream/run refresh it.
bytecode: $(STAMP)
	@$(PY) -m compileall -q ostree_py commands

# pytest exits 5 when it collects no test: not a failure here.
test: $(STAMP) bytecode
	@rc=0; $(PY) -m pytest tests/ -q || rc=$$?; \
	if [ $$rc = 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# The upstream shell tests listed in tests/upstream/passing.txt.
upstream: $(STAMP) bytecode
	tests/upstream/run -j $(JOBS)

# ostree 2025.2's upstream shell tests listed in tests/upstream/passing-2025.txt,
# in a Debian trixie chroot (debootstrapped once into .cache/trixie; root):
# tests/upstream/trixie.py, which copies the checkout into it each run.
upstream-2025:
	$(PYTHON) tests/upstream/trixie.py -j $(JOBS)

check: install test upstream upstream-2025

# Validates every page with groff and installs them into the venv, where
# `man ostree-py-COMMAND` finds them (venv/bin on PATH).
man: $(STAMP)
	@for f in man/*.1; do \
	  out=$$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$$f" 2>&1); \
	  if [ -n "$$out" ]; then echo "$$f: $$out"; exit 1; fi; \
	done; echo "man pages OK"
	@mkdir -p $(VENV)/share/man/man1 && install -m 644 man/*.1 $(VENV)/share/man/man1/
	@echo "installed in $(VENV)/share/man/man1 (PATH=$(VENV)/bin:\$$PATH man ostree-py-COMMAND)"

# ostree-py against the reference, side by side (bench/run.py; README "Performance").
# Installs its own needs: debootstrap and nginx (apt), py-spy (venv, bench only).
# BENCH_N=runs (default 3), BENCH_QUICK=1 for small trees, BENCH_ARGS for run.py.
BENCH_PACKAGES := debootstrap nginx-light
BENCH_STAMP := $(VENV)/.ostree-py-bench-installed
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install -q -r bench/requirements.txt
	@touch $@

bench: system-packages $(BENCH_STAMP)
	@missing=""; \
	for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing bench packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
	$(PY) bench/run.py $(BENCH_ARGS)

# Boots a Debian system (real kernel, dracut initramfs, ostree-prepare-root)
# deployed and upgraded by ostree-py, with an RPM layered by rpm-ostree-py and
# then rolled back, in QEMU (tests/boot/run_boot.py). Root, Debian packages,
# minutes; not part of `check`. The debootstrapped rootfs is
# cached in BOOT_CACHE. BOOT_TEST_TOOL=ostree runs it with the reference.
BOOT_CACHE ?= $(CURDIR)/.cache/boot
BOOT_TEST_TOOL ?= ostree-py
boot-test: $(STAMP)
	$(PY) tests/boot/run_boot.py --tool '$(BOOT_TEST_TOOL)' --cache '$(BOOT_CACHE)'
