"""``rpm-ostree-py kargs``: show or change the kernel arguments (a new deployment)."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    deploy_index: Annotated[str | None, typer.Option("--deploy-index", metavar="INDEX",
        help="Modify the kernel args from a specific deployment based on index. Index is in the form of a number (e.g. 0 means the first deployment in the list)")] = None,
    reboot: Annotated[bool, typer.Option("--reboot",
        help="Initiate a reboot after operation is complete")] = False,
    append: Annotated[list[str], typer.Option("--append", metavar="KEY=VALUE",
        help="Append kernel argument; useful with e.g. console= that can be used multiple times. empty value for an argument is allowed")] = [],
    replace: Annotated[list[str], typer.Option("--replace", metavar="KEY=VALUE=NEWVALUE",
        help="Replace existing kernel argument, the user is also able to replace an argument with KEY=VALUE if only one value exist for that argument ")] = [],
    delete: Annotated[list[str], typer.Option("--delete", metavar="KEY=VALUE",
        help="Delete a specific kernel argument key/val pair or an entire argument with a single key/value pair")] = [],
    append_if_missing: Annotated[list[str], typer.Option("--append-if-missing", metavar="KEY=VALUE",
        help="Like --append, but does nothing if the key is already present")] = [],
    delete_if_present: Annotated[list[str], typer.Option("--delete-if-present", metavar="KEY=VALUE",
        help="Like --delete, but does nothing if the key is already missing")] = [],
    import_proc_cmdline: Annotated[bool, typer.Option("--import-proc-cmdline",
        help="Instead of modifying old kernel arguments, we modify args from current /proc/cmdline (the booted deployment)")] = False,
    unchanged_exit_77: Annotated[bool, typer.Option("--unchanged-exit-77",
        help="If no kernel args changed, exit 77")] = False,
    editor: Annotated[bool, typer.Option("--editor",
        help="Use an editor to modify the kernel arguments")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


EDITOR_HEADER = (
    "# Current kernel arguments are shown below, and can be directly edited.\n"
    "# Empty or commented lines (starting with '#') will be ignored.\n"
    "# Individual kernel arguments should be separated by spaces, and the order \n"
    "# is relevant.\n"
    "# Also, please note that any changes to the 'ostree=' argument will not be \n"
    "# effective as they are usually regenerated when bootconfig changes.\n"
    "\n")


def _edit(ctx, current: str) -> str:
    """rpm-ostree's kargs --editor: the arguments in $EDITOR; comment and blank lines
    dropped, the others joined by spaces."""
    from ostree_py.util.editor import prompt
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot.kargs import KernelArgs
    out = prompt(EDITOR_HEADER + current, ctx.environ)
    lines = [line.strip() for line in out.split("\n")]
    new = " ".join(line for line in lines if line and not line.startswith("#")).rstrip()
    if KernelArgs.from_string(new).get_last_value("ostree") is not None:
        raise OstreeError("You have an 'ostree' argument in your input, that is not going to be handled")
    if new == "":
        raise OstreeError("The kernel arguments can not be empty")
    return new


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.sysroot.kargs import KernelArgs

    from . import _common
    if args:
        raise UsageError("This command does not take positional arguments")
    edits = opts.append or opts.replace or opts.delete or opts.append_if_missing or opts.delete_if_present
    if opts.editor and edits:
        raise OstreeError("Cannot specify --editor with --replace, --delete, --append, "
                          "--delete-if-present or --append-if-missing")
    modify = edits or opts.editor
    # no lock while the user edits: the bootloader configuration is checked again after
    sr = _common.open_sysroot(ctx, lock=bool(edits))
    osname = _common.stateroot(sr, opts.os)
    if opts.deploy_index is not None:
        from ._common_index import index
        d = sr.indexed_deployment(index(opts.deploy_index))
    else:
        d = _common.merge_deployment(sr, osname)
    current = d.bootconfig.get("options") if d.bootconfig else ""
    # ostree's own ostree=/ostree/boot... argument is not the user's: not shown, not kept
    current = " ".join(a for a in (current or "").split() if not a.startswith("ostree="))
    if not modify:
        ctx.stdout.write((current or "") + "\n")
        return 0
    if opts.editor:
        new = _edit(ctx, current)
        if new == current:
            if opts.unchanged_exit_77:
                ctx.stdout.write("No changes.\n")
                return 77
            raise OstreeError("The kernel arguments remained the same")
        sr = _common.open_sysroot(ctx)
        again = next((x for x in sr.deployments if (x.osname, x.csum, x.deployserial) ==
                      (d.osname, d.csum, d.deployserial)), None)
        before = d.bootconfig.get("options") if d.bootconfig else None
        if again is None or (again.bootconfig.get("options") if again.bootconfig else None) != before:
            raise OstreeError(f"Conflict: bootloader configuration changed. Saved kernel arguments: \n{new}")
        return _write(ctx, opts, sr, osname, again, KernelArgs.from_string(new))
    ka = KernelArgs()
    if opts.import_proc_cmdline:
        ka.append_proc_cmdline()
    else:
        ka = KernelArgs.from_string(current)
    for a in opts.delete:
        ka.delete(a)
    for a in opts.delete_if_present:
        ka.delete_if_present(a)
    for a in opts.replace:
        key, _, rest = a.partition("=")
        old, eq, new = rest.partition("=")
        if not eq:
            ka.replace(a)
        else:
            entries = [x for x in ka.to_list() if x == f"{key}={old}"]
            if not entries:
                raise OstreeError(f"No karg '{key}={old}' found")
            ka = KernelArgs([f"{key}={new}" if x == f"{key}={old}" else x for x in ka.to_list()])
    for a in opts.append:
        ka.append(a)
    for a in opts.append_if_missing:
        ka.append_if_missing(a)
    if str(ka) == (current or ""):
        ctx.stdout.write("Kernel arguments unchanged.\n")
        return 77 if opts.unchanged_exit_77 else 0
    return _write(ctx, opts, sr, osname, d, ka)


def _write(ctx, opts, sr, osname, d, ka):
    from ostree_py.rpmostree.origin import Origin

    from . import _common
    origin = Origin(d.origin).new_for_upgrade(keep_override=True)
    _common.deploy_transaction(sr, osname, d.csum, origin, d, ka.to_list(), d.overlay_initrds)
    if opts.reboot:
        _common.do_reboot(ctx)
        return 0
    ctx.stdout.write('Kernel arguments updated.\nRun "systemctl reboot" to start a reboot\n')
    return 0
