"""``ostree-py admin instutil``: deprecated helpers for installer programs."""

USAGE = "COMMAND"
NEEDS_SYSROOT = True
COMMAND_LIST_WIDTH = 24
