"""``ostree config``: read and change the repository's config file."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError, UsageError

USAGE = "(get KEY|set KEY VALUE|unset KEY)"
NEEDS_REPO = True


def options(
    group: Annotated[str | None, typer.Option("--group", help="Group name")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _split_key(k: str):
    if "." not in k:
        raise OstreeError('Key must be of the form "sectionname.keyname"')
    section, _, key = k.partition(".")
    return section, key


def run(ctx, opts, args):
    from ostree_py.core.keyfile import KeyFileError
    repo = ctx.repo
    if not args:
        raise UsageError("OPERATION must be specified")
    op = args[0]
    argc = len(args) + 1
    if argc > (4 if op == "set" else 3):
        raise UsageError("Too many arguments given")
    if op == "set":
        if argc < 4:
            raise OstreeError("GROUP name, KEY and VALUE must be specified" if opts.group is not None
                              else "KEY and VALUE must be specified")
        if opts.group is not None:
            section, key = opts.group, args[1]
        else:
            section, key = _split_key(args[1])
        repo.config.set(section, key, args[2])
        _write_config(repo)
    elif op == "get":
        section, key = _section_key(opts, args, argc)
        ctx.stdout.write(repo.config.get_string(section, key) + "\n")
    elif op == "unset":
        section, key = _section_key(opts, args, argc)
        try:
            repo.config.remove_key(section, key)
        except KeyFileError:
            return 0  # a missing key or group is fine: nothing to do
        _write_config(repo)
    else:
        raise OstreeError(f"Unknown operation {op}")
    return 0


def _section_key(opts, args, argc):
    if argc < 3:
        raise OstreeError("Group name and key must be specified" if opts.group is not None
                          else "KEY must be specified")
    if opts.group is not None:
        return opts.group, args[1]
    return _split_key(args[1])


def _write_config(repo):
    """ostree_repo_write_config: a remote defined in a remotes.d file cannot be set here."""
    from ostree_py.repo.remotes import find_remote
    for group in repo.config.groups():
        if group.startswith('remote "') and group.endswith('"') and len(group) > len('remote ""'):
            cur = find_remote(repo, group[len('remote "'):-1], inherited=False)
            if cur is not None and cur.file is not None:
                raise OstreeError(f'Remote "{cur.name}" is defined in {cur.file}')
    repo.save_config()
