"""ostree's editor prompt (ot_editor_prompt): the text in a temporary file, opened
with $OSTREE_EDITOR, else $VISUAL (not on a dumb terminal), else $EDITOR, else vi."""

import os

from ostree_py.errors import OstreeError


def prompt(text: str, environ) -> str:
    """The file's text after the editor exited successfully."""
    import shlex
    import subprocess
    import tempfile

    from ostree_py.util.fs import read_utf8_file
    editor = environ.get("OSTREE_EDITOR")
    term = environ.get("TERM")
    dumb = not term or term == "dumb"
    if editor is None and not dumb:
        editor = environ.get("VISUAL")
    if editor is None:
        editor = environ.get("EDITOR")
    if editor is None and dumb:
        raise OstreeError("Terminal is dumb, but EDITOR unset")
    if editor is None:
        editor = "vi"
    fd, path = tempfile.mkstemp(prefix=".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        p = subprocess.run(["/bin/sh", "-c", f"{editor} {shlex.quote(path)}"], env=dict(environ), check=False)
        if p.returncode != 0:
            why = (f"Child process killed by signal {-p.returncode}" if p.returncode < 0
                   else f"Child process exited with code {p.returncode}")
            raise OstreeError(f"There was a problem with the editor '{editor}'{why}")
        return read_utf8_file(path)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
