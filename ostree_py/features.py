"""What ``ostree-py --version`` reports.

``VERSION`` is the ostree release whose command line and on-disk formats we
match; scripts (and ostree's own test suite) read it from ``ostree --version``
as YAML (``["libostree"]["Version"]``), so it stays in the reference's form.
Our own release number is reported separately, under an ``ostree-py`` key.

``FEATURES`` lists the reference's feature names, in the reference's order,
that ostree-py really supports. Scripts grep ``ostree --version`` for them
(``- libarchive``, ``- gpgme``, ``- sign-ed25519``...) to decide whether to
run a test, so a name goes here only once the whole feature works: when you
finish one, append it (keep the order of ``KNOWN_FEATURES``).
"""

# Our own release (``ostree_py.__version__``), beside the reference's that we match.
OSTREE_PY_VERSION = "0.1.0"
# The ostree release whose command line ostree-py follows (issue 17): 2025.2, with the
# 2022.7 behaviours its older suite still asserts (the man pages say where).
VERSION = "2025.2"

# The reference's feature names, in the order ``ostree --version`` prints
# them (ostree 2025.2's configure.ac), with what each one means for us.
KNOWN_FEATURES = (
    "inode64",        # 64-bit inode numbers in the devino cache (commit --link-checkout-speedup)
    "initial-var",    # the first deployment of a stateroot copies the commit's /var into it
    "libcurl",        # HTTP fetching (we use httpcore; reported as libcurl for scripts)
    "no-http2",       # a libcurl build without HTTP/2
    "libsoup3",       # the libsoup 3 HTTP backend
    "libsoup",        # idem, libsoup 2
    "gpgme",          # GPG signing and verification of commits and summaries
    "composefs",      # composefs images of deployments
    "ex-fsverity",    # fs-verity on repository objects
    "libarchive",     # commit --tree=tar=..., export
    "selinux",        # SELinux labelling on commit and checkout
    "openssl",        # OpenSSL for checksums and signatures
    "sign-ed25519",   # ed25519 commit signatures (sign, --sign-type=ed25519)
    "sign-spki",      # the spki signature type (X.509 SubjectPublicKeyInfo keys)
    "gnutls",         # GnuTLS for checksums and signatures
    "avahi",          # LAN peer discovery (p2p)
    "libmount",       # mount inspection (admin, /etc/mtab)
    "systemd",        # systemd integration (ostree-finalize-staged, journal)
    "release",        # a release build, not a development snapshot
    "p2p",            # collection IDs, find-remotes, create-usb
)

# What ostree-py supports today. Keep this honest: tests skip what is absent.
# (inode64: device and inode numbers are Python integers, never truncated to 32 bits.)
FEATURES: tuple[str, ...] = ("inode64", "initial-var", "gpgme", "libarchive", "sign-ed25519")


def version_text() -> str:
    """The text ``--version`` prints: YAML, in the reference's layout."""
    lines = ["libostree:", f" Version: '{VERSION}'", " Features:"]
    lines += [f"  - {name}" for name in FEATURES]
    lines += ["ostree-py:", f" Version: '{OSTREE_PY_VERSION}'"]
    return "\n".join(lines) + "\n"
