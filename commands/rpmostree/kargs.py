"""``rpm-ostree-py kargs``: show or change the kernel arguments (a new deployment)."""

from .._cli import Option

SUMMARY = "Query or modify kernel arguments"
USAGE = ""
NEEDS_OS = True
OPTIONS = [
    Option("deploy-index", kind="string", arg="INDEX", help="Modify the kernel args from a specific deployment based on index. Index is in the form of a number (e.g. 0 means the first deployment in the list)"),
    Option("reboot", help="Initiate a reboot after operation is complete"),
    Option("append", kind="string-array", arg="KEY=VALUE", help="Append kernel argument; useful with e.g. console= that can be used multiple times. empty value for an argument is allowed"),
    Option("replace", kind="string-array", arg="KEY=VALUE=NEWVALUE", help="Replace existing kernel argument, the user is also able to replace an argument with KEY=VALUE if only one value exist for that argument "),
    Option("delete", kind="string-array", arg="KEY=VALUE", help="Delete a specific kernel argument key/val pair or an entire argument with a single key/value pair"),
    Option("append-if-missing", kind="string-array", arg="KEY=VALUE", help="Like --append, but does nothing if the key is already present"),
    Option("delete-if-present", kind="string-array", arg="KEY=VALUE", help="Like --delete, but does nothing if the key is already missing"),
    Option("import-proc-cmdline", help="Instead of modifying old kernel arguments, we modify args from current /proc/cmdline (the booted deployment)"),
    Option("unchanged-exit-77", help="If no kernel args changed, exit 77"),
]


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.sysroot.kargs import KernelArgs

    from . import _common
    if args:
        raise UsageError("This command does not take positional arguments")
    if opts.reboot:
        raise OstreeError("--reboot: rebooting is not supported by rpm-ostree-py; reboot yourself")
    modify = opts.append or opts.replace or opts.delete or opts.append_if_missing or opts.delete_if_present
    sr = _common.open_sysroot(ctx, lock=bool(modify))
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
    from ostree_py.rpmostree.origin import Origin
    origin = Origin(d.origin).new_for_upgrade(keep_override=True)
    new = sr.deploy_tree(osname, d.csum, origin.to_keyfile(), d, ka.to_list(), overlay_initrds=d.overlay_initrds)
    sr.simple_write_deployment(osname, new, d)
    ctx.stdout.write('Kernel arguments updated.\nRun "systemctl reboot" to start a reboot\n')
    return 0
