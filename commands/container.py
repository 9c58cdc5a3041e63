"""``ostree-py container``: ostree commits in OCI container images (ostree-ext's commands)."""

USAGE = "COMMAND"
COMMAND_LIST_WIDTH = 16
