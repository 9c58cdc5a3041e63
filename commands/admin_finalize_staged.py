"""``ostree-py admin finalize-staged``: finish a staged deployment at shutdown (hidden).

Like the reference, this does nothing unless the system is booted with
ostree (/run/ostree-booted); ostree-py does not stage deployments.
"""

from ._cli import Option

SUMMARY = "Internal command to run at shutdown time"
USAGE = ""
NEEDS_SYSROOT = True
OPTIONS = [Option("hold", hidden=True, help="Hold /boot open during finalization")]


def run(ctx, opts, args):
    import os

    from ostree_py.errors import OstreeError
    if not os.path.exists("/run/ostree-booted"):
        return 0
    raise OstreeError("Finalizing staged deployments is not supported by ostree-py")
