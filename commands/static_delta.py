"""``ostree-py static-delta``: the group of static delta commands.

Unlike the other groups, the reference does not parse options here: it takes
the first non-option argument as the subcommand, answers --help/-h seen
before it, and prints a plain listing ("simple" style).
"""

USAGE = "COMMAND"
GROUP_STYLE = "simple"
COMMAND_LIST_WIDTH = 17
