"""``ostree-py container image``: the container image store of a repository."""

USAGE = "COMMAND"
COMMAND_LIST_WIDTH = 16
