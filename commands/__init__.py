"""ostree-py's command line: ``ostree-py COMMAND [OPTION…]``.

The typer application and its GLib rules are in ``_app.py`` and ``_cli.py``;
the command table in ``_table.py``; one module per command.
"""


def main(argv=None, ctx=None) -> int:
    """Entry point of ``ostree-py``: run ``argv`` and return the exit code."""
    from ._app import Program, start
    return start(Program(), argv, ctx)
