"""ostree-py's command line: ``ostree-py COMMAND [OPTION…]``.

The framework (option parser, help, dispatch, error handling) is in
``_cli.py``; the command table in ``_table.py``; one module per command.
"""


def main(argv=None, ctx=None) -> int:
    """Entry point of ``ostree-py``: run ``argv`` and return the exit code."""
    from ._cli import main as _main
    return _main(argv, ctx)
