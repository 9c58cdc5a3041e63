"""``ostree-py admin finalize-staged``: finish a staged deployment at shutdown (hidden).

Run by ostree-finalize-staged.service. Like the reference, it does nothing
unless the system was booted with ostree (/run/ostree-booted). ``--hold``
keeps /boot open until the process gets SIGTERM (the service's stop), so an
automounted /boot stays mounted until finalization.
"""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    hold: Annotated[bool, typer.Option("--hold", hidden=True,
        help="Hold /boot open during finalization")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import os

    from ostree_py.sysroot import sysroot as _sr
    if not os.path.exists(_sr.PATH_BOOTED):
        return 0
    from ._sysroot import open_sysroot
    if opts.hold:
        import signal
        sr = open_sysroot(ctx, opts, lock=False)
        fd = os.open(sr.p("boot"), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            signal.pause()
        finally:
            os.close(fd)
        return 0
    from ostree_py.sysroot.stage import finalize_staged
    sr = open_sysroot(ctx, opts)
    finalize_staged(sr)   # what it did goes to the journal in the reference: nothing printed
    return 0
