"""``ostree-py admin kargs``: kernel argument commands (all of them hidden, as in the reference)."""

USAGE = "COMMAND"
NEEDS_SYSROOT = True
COMMAND_LIST_WIDTH = 19
