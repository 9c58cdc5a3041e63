"""``ostree-py remote``: the group of commands on a repository's remotes."""

USAGE = "COMMAND"
COMMAND_LIST_WIDTH = 18
