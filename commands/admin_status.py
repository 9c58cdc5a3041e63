"""``ostree-py admin status``: list the deployments (``--json`` for a machine-readable list)."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    verify: Annotated[bool, typer.Option("--verify", "-V",
        help="Print the commit verification status")] = False,
    json: Annotated[bool, typer.Option("--json", hidden=True, help="Print the deployments as JSON")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _commit_info(repo, csum):
    """(version, source title, loaded) of a deployment's commit; missing commits read as None."""
    from ostree_py.errors import OstreeError
    try:
        meta = repo.load_commit(csum).metadata
    except OstreeError:
        return None, None, False

    def s(key):
        v = meta.get(key)
        if v is None or getattr(v, "type", "s") != "s":
            return None
        return getattr(v, "value", v)
    return s("version"), s("ostree.source-title"), True


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot import origin as _origin

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts, lock=False)
    repo = sr.repo
    booted = sr.booted_deployment
    pending = rollback = None
    if booted is not None:
        pending, rollback = sr.query_deployments_for(None)
    if opts.json:
        import json
        out = []
        for d in sr.deployments:
            version, title, _ok = _commit_info(repo, d.csum)
            out.append({
                "index": d.index, "stateroot": d.osname, "checksum": d.csum, "serial": d.deployserial,
                "bootcsum": d.bootcsum, "bootserial": d.bootserial,
                "refspec": _origin.get_refspec(d.origin), "version": version, "source-title": title,
                "booted": d is booted, "pending": d is pending, "rollback": d is rollback,
                "staged": d.staged, "pinned": d.is_pinned, "unlocked": d.unlocked,
                "path": sr.deployment_dirpath(d),
                "options": d.bootconfig.get("options") if d.bootconfig else None,
            })
        ctx.stdout.write(json.dumps({"bootversion": sr.bootversion, "subbootversion": sr.subbootversion,
                                     "deployments": out}, indent=2) + "\n")
        return 0
    if not sr.deployments:
        ctx.stdout.write("No deployments.\n")
        return 0
    tty = ctx.stdout_isatty
    for d in sr.deployments:
        version, source_title, loaded = _commit_info(repo, d.csum)
        status = " (finalization locked)" if d.finalization_locked else " (staged)" if d.staged else " (pending)" if d is pending else " (rollback)" if d is rollback else ""
        w = ctx.stdout.write
        w(f"{'*' if d is booted else ' '} {d.osname} {d.csum}.{d.deployserial}{status}\n")
        if version:
            w(f"    Version: {version}\n")
        if d.unlocked != "none":
            red, bold, end = ("\x1b[31m", "\x1b[1m", "\x1b[22m\x1b[0m") if tty else ("", "", "")
            w(f"    {red}{bold}Unlocked: {d.unlocked}{end}\n")
        if d.is_pinned:
            w("    Pinned: yes\n")
        if d.origin is None:
            w("    origin: none\n")
        else:
            refspec = _origin.get_refspec(d.origin)
            if refspec is None:
                w("    origin: <unknown origin type>\n")
            else:
                w(f"    origin refspec: {refspec}\n")
            if source_title:
                w(f"    `- {source_title}\n")
        if not opts.verify and _gpg_verify(repo, d.origin):
            # the deployment's signatures, checked with the keys of the remote named after the
            # OS (sic, as the reference); an unsigned commit is an error there too
            from ostree_py.signing.gpg import commit_signatures_for_remote_text
            w(commit_signatures_for_remote_text(repo, d.csum, d.osname))
        if opts.verify:
            if not loaded:
                raise OstreeError("Cannot verify, failed to load commit")
            if d.origin is None:
                raise OstreeError("Cannot verify deployment with no origin")
            refspec = _origin.get_refspec(d.origin)
            if refspec is None:
                raise OstreeError("No origin/refspec, cannot verify")
            remote = refspec.partition(":")[0] if ":" in refspec else None
            if remote is None:
                raise OstreeError("Cannot verify deployment without remote")
            from ostree_py.signing import signature_verify_commit_data
            data = repo.load_metadata_bytes("commit", d.csum)
            w(signature_verify_commit_data(repo, remote, data, repo.load_commitmeta(d.csum)) + "\n")
    return 0


def _gpg_verify(repo, origin) -> bool:
    """deployment_get_gpg_verify: the origin's remote has gpg-verify (false on any doubt)."""
    if origin is None:
        return False
    from ostree_py.errors import OstreeError
    from ostree_py.repo.remotes import find_remote
    from ostree_py.sysroot import origin as _origin
    refspec = _origin.get_refspec(origin)
    if refspec is None or ":" not in refspec:
        return False
    try:
        remote = find_remote(repo, refspec.partition(":")[0])
        return remote is not None and remote.get_bool("gpg-verify", True)
    except OstreeError:
        return False
