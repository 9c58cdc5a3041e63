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
VERSION = "2022.7"

# The reference's feature names, in the order ``ostree --version`` prints
# them, with what each one means for us.
KNOWN_FEATURES = (
    "initial-var",    # ostree 2023.8: a new stateroot's /var is filled from the first deployment's commit
    "libcurl",        # HTTP fetching (we use httpx; reported as libcurl for scripts)
    "libsoup",        # idem, the other HTTP backend
    "gpgme",          # GPG signing and verification of commits and summaries
    "ex-fsverity",    # fs-verity on repository objects
    "libarchive",     # commit --tree=tar=..., export
    "selinux",        # SELinux labelling on commit and checkout
    "avahi",          # LAN peer discovery (p2p)
    "libmount",       # mount inspection (admin, /etc/mtab)
    "systemd",        # systemd integration (ostree-finalize-staged, journal)
    "release",        # a release build, not a development snapshot
    "p2p",            # collection IDs, find-remotes, create-usb
    "sign-ed25519",   # ed25519 commit signatures (sign, --sign-type=ed25519)
)

# What ostree-py supports today. Keep this honest: tests skip what is absent.
FEATURES: tuple[str, ...] = ("initial-var", "gpgme", "libarchive", "sign-ed25519")


def version_text() -> str:
    """The text ``--version`` prints: YAML, in the reference's layout."""
    lines = ["libostree:", f" Version: '{VERSION}'", " Features:"]
    lines += [f"  - {name}" for name in FEATURES]
    lines += ["ostree-py:", f" Version: '{OSTREE_PY_VERSION}'"]
    return "\n".join(lines) + "\n"
