"""``ostree-py remote``: the group of commands on a repository's remotes."""

SUMMARY = "Remote commands that may involve internet access"
USAGE = "COMMAND"
COMMAND_LIST_WIDTH = 18
