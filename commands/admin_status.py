"""``ostree-py admin status``: list the deployments; ``--json`` (ostree 2025.3 on), ``-S``
and ``-D`` (ostree 2023.x)."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    verify: Annotated[bool, typer.Option("--verify", "-V",
        help="Print the commit verification status")] = False,
    json: Annotated[bool, typer.Option("--json", "-J", help="Emit JSON")] = False,
    skip_signatures: Annotated[bool, typer.Option("--skip-signatures", "-S",
        help="Skip signatures in output")] = False,
    is_default: Annotated[bool, typer.Option("--is-default", "-D",
        help="Output \"default\" if booted into the default deployment, otherwise \"not-default\"")] = False,
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
        ctx.stdout.write(_status_json(sr, repo, booted, pending, rollback))
        return 0
    if opts.is_default:
        if not sr.deployments:
            raise OstreeError("Not in a booted OSTree system")
        ctx.stdout.write("default\n" if sr.deployments[0] is booted else "not-default\n")
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
        if not opts.skip_signatures and not opts.verify and _gpg_verify(repo, d.origin):
            # the deployment's signatures, checked with the keys of its origin's remote (ostree
            # 2024.1; 2022.7 used the remote named after the stateroot); an unsigned commit is
            # an error, prefixed with the deployment's index since 2023.8
            from ostree_py.signing.gpg import commit_signatures_for_remote_text
            remote = _origin.get_refspec(d.origin).partition(":")[0]
            try:
                w(commit_signatures_for_remote_text(repo, d.csum, remote))
            except OstreeError as e:
                raise OstreeError(f"Deployment {d.index}: {e.message}") from None
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


def _json_string(text: str) -> str:
    """util-linux's fputs_quoted_json, which ostree's status uses: only the quote, the
    backslash and control characters are escaped; everything else goes out as is."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) >= 0x20:
            out.append(c)
        else:
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}.get(c, f"\\u00{ord(c):02x}"))
    return '"' + "".join(out) + '"'


def _status_json(sr, repo, booted, pending, rollback) -> str:
    """``admin status --json``: ostree's fields and util-linux's JSON layout (ul_jsonwrt:
    three-space indents, ``},{`` between objects, null for a missing or empty string)."""
    from ostree_py.sysroot import origin as _origin

    def value(v):
        if v is None or v == "":
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return _json_string(v)

    objects = []
    for d in sr.deployments:
        meta = repo.load_commit(d.csum).metadata   # unlike the text, a missing commit is an error
        fields = [("checksum", d.csum), ("stateroot", d.osname), ("refspec", _origin.get_refspec(d.origin)),
                  ("serial", d.deployserial), ("index", d.index), ("booted", d is booted),
                  ("pending", d is pending), ("rollback", d is rollback),
                  ("finalization-locked", d.finalization_locked),
                  # no soft reboot is ever prepared here (admin prepare-soft-reboot is absent)
                  ("soft-reboot-target", False), ("staged", d.staged), ("pinned", d.is_pinned),
                  ("unlocked", d.unlocked)]
        for key in ("version", "ostree.source-title"):
            v = meta.get(key)
            if v is not None and getattr(v, "type", "s") == "s":
                fields.append((key.replace("ostree.", ""), getattr(v, "value", v)))
        objects.append(",\n".join(f"         {_json_string(k)}: {value(v)}" for k, v in fields))
    body = "},{\n".join(f"{o}\n      " for o in objects)
    if objects:
        body = "      {\n" + body + "}"
    return '{\n   "deployments": [\n' + body + "\n   ]\n}\n"
