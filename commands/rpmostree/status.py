"""``rpm-ostree-py status``: the deployments, in rpm-ostree's layout or as JSON."""

from typing import Annotated

import typer

USAGE = ""


def options(
    pretty: Annotated[bool, typer.Option("--pretty", "-p", hidden=True,
        help="This option is deprecated and no longer has any effect")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
        help="Print additional fields (e.g. StateRoot); implies -a")] = False,
    advisories: Annotated[bool, typer.Option("--advisories", "-a",
        help="Expand advisories listing")] = False,
    json: Annotated[bool, typer.Option("--json", help="Output JSON")] = False,
    jsonpath: Annotated[str | None, typer.Option("--jsonpath", "-J", metavar="EXPRESSION",
        help="Filter JSONPath expression")] = None,
    booted: Annotated[bool, typer.Option("--booted", "-b", help="Only print the booted deployment")] = False,
    pending_exit_77: Annotated[bool, typer.Option("--pending-exit-77",
        help="If pending deployment available, exit 77")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


MAX_KEY = max(len("InactiveRemoteOverrides"), len("InterruptedLiveCommit"))

# commit metadata keys rpm-ostree leaves out of base-commit-meta / layered-commit-meta
_FILTERED_META = ("rpmostree.rpmdb.pkglist", "rpmostree.advisories", "rpmostree.packages", "rpmostree.modules",
                  "rpmostree.spec", "rpmostree.removed-base-packages", "rpmostree.replaced-base-packages",
                  "rpmostree.replaced-base-remote-packages")


def _ts(t: int) -> str:
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _commit_details(info: dict, prefix: str, commit) -> None:
    v = commit.metadata.get("version")
    if v is not None:
        info[prefix + "version"] = getattr(v, "value", v)
    if commit.timestamp > 0:
        info[prefix + "timestamp"] = commit.timestamp


def deployment_info(sr, d) -> dict:
    """One deployment as rpm-ostree's D-Bus/JSON dictionary (rpmostreed_deployment_generate_variant)."""
    from ostree_py.errors import OstreeError
    from ostree_py.core.objects import is_checksum, parse_refspec
    from ostree_py.rpmostree.origin import Origin
    repo = sr.repo
    info = {"id": f"{d.osname}-{d.csum}.{d.deployserial}", "osname": d.osname, "checksum": d.csum,
            "serial": d.deployserial, "booted": d.equal(sr.booted_deployment), "staged": bool(d.staged),
            "pinned": d.is_pinned, "unlocked": d.unlocked or "none"}
    o = None
    if d.origin is not None:
        try:
            o = Origin(d.origin)
        except OstreeError:
            o = None
    if o is not None:
        info["requested-packages"] = sorted(set(o.requested))
        info["requested-local-packages"] = sorted(o.nevras(o.requested_local))
        info["requested-local-fileoverride-packages"] = sorted(o.fileoverride_nevras)
        info["requested-base-removals"] = sorted(set(o.removals))
        info["requested-base-local-replacements"] = sorted(o.replace_local_nevras)
        info["requested-base-remote-replacements"] = [["repo=" + r, n] for r, n in o.replace_repo_map.items()]
        regen = (d.origin.get("rpmostree", "regenerate-initramfs") or "").lower() == "true"
        etc = _strlist(d.origin, "initramfs-etc")
        args = _strlist(d.origin, "initramfs-args")
        info["regenerate-initramfs"] = regen
        if regen or etc is not None or args is not None:
            info["initramfs-args"] = args or []
            info["initramfs-etc"] = sorted(set(etc or []))
    try:
        c = repo.load_commit(d.csum)
    except OstreeError:
        return info
    meta = c.metadata

    def s(m, key):
        v = m.get(key)
        return getattr(v, "value", v) if v is not None else None
    layered = bool(s(meta, "rpmostree.clientlayer")) and bool(c.parent)
    base_commit = c
    if layered:
        info["base-checksum"] = c.parent
        try:
            base_commit = repo.load_commit(c.parent)
        except OstreeError:
            base_commit = None
        if base_commit is not None:
            _commit_details(info, "base-", base_commit)
        info["layered-commit-meta"] = _jsonable(meta, filtered=True)
    base_checksum = c.parent if layered else d.csum
    if base_commit is not None:
        eol = s(base_commit.metadata, "ostree.endoflife")
        if isinstance(eol, str):
            info["endoflife"] = eol
        info["base-commit-meta"] = _jsonable(base_commit.metadata, filtered=True)
    else:
        info["base-commit-meta"] = {}
    _commit_details(info, "", c)
    if o is not None:
        info["origin"] = o.refspec
        if not is_checksum(o.refspec):
            remote, _ref = parse_refspec(o.refspec)
            _remote_status(repo, remote, info)
            pending = repo.resolve_rev(o.refspec, allow_noent=True)
            if pending and pending != base_checksum:
                try:
                    pc = repo.load_commit(pending)
                except OstreeError:
                    pc = None
                if pc is not None:
                    info["pending-base-checksum"] = pending
                    _commit_details(info, "pending-base-", pc)
        url = d.origin.get("origin", "custom-url")
        if url:
            info["custom-origin"] = [url, d.origin.get("origin", "custom-description") or ""]
        info["packages"] = sorted(s(meta, "rpmostree.packages") or []) if layered else []
        info["base-removals"] = _base_removals(repo, meta, c.parent) if layered else []
        info["base-local-replacements"] = []
        info["base-remote-replacements"] = {}
        if layered:
            info["base-local-replacements"] = [[list(_jv(n)), list(_jv(old))] for n, old in
                                               (s(meta, "rpmostree.replaced-base-packages") or [])]
            remote = s(meta, "rpmostree.replaced-base-remote-packages") or {}
            info["base-remote-replacements"] = {src: [[list(_jv(n)), list(_jv(old))] for n, old in _jv(v)]
                                                for src, v in dict(remote).items()}
    return info


def _strlist(kf, key):
    if kf.get("rpmostree", key) is None:
        return None
    try:
        return [v for v in kf.get_list("rpmostree", key, []) if v]
    except Exception:  # noqa: BLE001 - malformed reads as empty
        return []


def _remote_status(repo, remote, info) -> None:
    """gpg-enabled (the remote's gpg-verify), or remote-error when the remote is gone."""
    from ostree_py.errors import OstreeError
    if not remote:
        info["gpg-enabled"] = False
        return
    from ostree_py.repo.remotes import get_remote
    try:
        info["gpg-enabled"] = bool(get_remote(repo, remote).gpg_verify)
    except OstreeError as e:
        info["remote-error"] = e.message


def _base_removals(repo, meta, base) -> list:
    """[nevra, name, epoch, version, release, arch] of the base packages the layer removed."""
    from ostree_py.rpmostree import core
    v = meta.get("rpmostree.removed-base-packages")
    v = getattr(v, "value", v) or []
    out = []
    names = set()
    for x in v:
        x = getattr(x, "value", x)
        if isinstance(x, (list, tuple)) and len(x) == 6:
            out.append(list(x))
        elif isinstance(x, str):
            names.add(x)
    if names:
        out += [[core.nevra_str(t), t[0], t[1], t[2], t[3], t[4]] for t in core.pkglist(repo, base) if t[0] in names]
    return out


def _jsonable(meta: dict, filtered: bool = False) -> dict:
    out = {}
    for k, v in meta.items():
        if filtered and k in _FILTERED_META:
            continue
        out[k] = _jv(getattr(v, "value", v))
    return out


def _jv(v):
    if isinstance(v, (bytes, bytearray)):
        return list(v)
    if isinstance(v, dict):
        return {str(k): _jv(getattr(x, "value", x)) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jv(getattr(x, "value", x)) for x in v]
    if hasattr(v, "value"):
        return _jv(v.value)
    return v


def _evr(gv) -> str:
    return (f"{gv[2]}:" if gv[2] else "") + f"{gv[3]}-{gv[4]}"


def _overrides(i, utf8: bool, verbose: bool) -> str:
    """LocalOverrides (grouped by version change), with -v the inactive ones, and
    RemoteOverrides (per source)."""
    out = ""
    groups = {}
    for new, old in i.get("base-local-replacements", []):
        groups.setdefault(f"{_evr(old)} -> {_evr(new)}", []).append(new[1])
    if groups:
        out += kv("LocalOverrides", " ".join(sorted(" ".join(names) + " " + diff for diff, names in groups.items())))
    if verbose:
        active = {new[0] for new, _old in i.get("base-local-replacements", [])}
        out += values("InactiveLocalOverrides", [n for n in i.get("requested-base-local-replacements", [])
                                                    if n not in active])
    for src, pairs in sorted(i.get("base-remote-replacements", {}).items()):
        vals = sorted(f"{new[1]} {_evr(old)} -> {_evr(new)}" for new, old in pairs)
        if not vals:
            continue
        out += kv("RemoteOverrides", src)
        for n, v in enumerate(vals):
            last = n == len(vals) - 1
            glyph = ("└─" if last else "├─") if utf8 else ("`-" if last else "|-")
            out += kv("", f"{glyph} {v}")
    return out


def kv(key: str, value: str) -> str:
    return f"  {key:>{MAX_KEY}}{':' if key else ' '} {value}\n"


def _quote(v: str) -> str:
    import shlex
    return shlex.quote(v)


def values(key: str, vals, omit=(), quote=True, header=None, glyphs=("├─", "└─")) -> str:
    """rpm-ostree's print_values: sorted (case-insensitively), wrapped to 80 columns, or one
    per line under ``header``."""
    vals = sorted((_quote(v) if quote else v for v in vals if v not in omit), key=str.lower)
    if not vals:
        return ""
    out = f"  {key:>{MAX_KEY}}{':' if key else ' '} "
    if header is not None:
        out += header + "\n"
        for i, v in enumerate(vals):
            out += f"  {'':>{MAX_KEY}}  {glyphs[1] if i == len(vals) - 1 else glyphs[0]} {v}\n"
        return out
    area = max(64, 80 - (MAX_KEY + 2 + 2))
    width = 0
    for v in vals:
        if width == 0:
            out += v
            width = len(v)
        elif width + len(v) + 1 <= area:
            out += " " + v
            width += len(v) + 1
        else:
            out += f"\n  {'':>{MAX_KEY}}  {v}"
            width = len(v)
    return out + "\n"


def _commit_line(key, checksum, meta, verbose, glyphs) -> str:
    repos = []
    for r in (meta or {}).get("rpmostree.rpmmd-repos", []) if verbose else []:
        if isinstance(r, dict) and "id" in r and "timestamp" in r:
            repos.append(f"{r['id']} ({_ts(r['timestamp'])})")
    if not repos:
        return kv(key, checksum)
    return values(key, repos, quote=False, header=checksum, glyphs=glyphs)


def automatic_update_policy(sr, osname) -> str:
    """AutomaticUpdatePolicy of rpm-ostreed.conf in the reference deployment's /etc (none)."""
    from ostree_py.core.keyfile import KeyFile
    from ostree_py.rpmostree.update import reference_deployment
    d = reference_deployment(sr, osname) if osname else None
    if d is None:
        return "none"
    try:
        with open(f"{sr.deployment_dirpath(d)}/etc/rpm-ostreed.conf", encoding="utf-8") as f:
            kf = KeyFile.parse(f.read())
        return kf.get("Daemon", "AutomaticUpdatePolicy") or "none"
    except (OSError, ValueError):
        return "none"
    except Exception:  # noqa: BLE001 - a malformed file reads as the default
        return "none"


def run(ctx, opts, args):
    import json

    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import update

    from ._common import open_sysroot, print_cached_update, print_diff_variant
    if opts.json and opts.jsonpath:
        raise UsageError("Cannot specify both --json and --jsonpath")
    sr = open_sysroot(ctx, lock=False)
    infos = [deployment_info(sr, d) for d in sr.deployments]
    osname = sr.booted_deployment.osname if sr.booted_deployment is not None else \
        (sr.deployments[0].osname if sr.deployments else None)
    cached = update.load_cached(sr, osname) if osname else None
    rc = 0
    if opts.pending_exit_77 and len(infos) > 1 and not infos[0]["booted"]:
        rc = 77
    if opts.json or opts.jsonpath:
        shown = [i for i in infos if i["booted"]] if opts.booted else infos
        doc = {"deployments": shown, "transaction": None,
               "cached-update": _jv(cached) if cached is not None else None, "update-driver": None}
        if opts.jsonpath:
            doc = _jsonpath(doc, opts.jsonpath)
        ctx.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return rc
    w = ctx.stdout.write
    w("State: idle\n")
    policy = automatic_update_policy(sr, osname)
    if policy == "none":
        if opts.verbose:
            w("AutomaticUpdates: disabled\n")
    else:
        # rpm-ostree asks systemd about its timer; a folder sysroot has none to ask
        w(f"AutomaticUpdates: {policy}; rpm-ostreed-automatic.timer: unknown state\n")
    w("BootedDeployment:\n" if opts.booted else "Deployments:\n")
    enc = (getattr(ctx.stdout, "encoding", None) or "").lower().replace("-", "")
    utf8 = enc == "utf8"
    bullet = "●" if utf8 else "*"
    glyphs = ("├─", "└─") if utf8 else ("|-", "`-")
    multiple = len({i["osname"] for i in infos}) > 1
    booted_osname = sr.booted_deployment.osname if sr.booted_deployment is not None else None
    cached_id = update.value(cached, "deployment") if cached is not None else None
    printed_cached = False
    from ostree_py.core.objects import is_checksum
    for index, i in enumerate(infos):
        if opts.booted and not i["booted"]:
            continue
        first = index == 0
        if not first and not opts.booted:
            w("\n")
        custom_url, custom_desc = i.get("custom-origin") or (None, None)
        shown = i.get("origin") or i["checksum"]
        if custom_url and "origin" in i and is_checksum(i["origin"]):
            shown = custom_url
        head = f"{bullet if i['booted'] else ' '} {shown}"
        w(head + (f" (index: {index})" if opts.verbose else "") + "\n")
        if custom_url and custom_desc:
            w(kv("CustomOrigin", custom_desc))
        if i.get("remote-error"):
            w(kv("OstreeRemoteStatus", i["remote-error"]))
        layered = "base-checksum" in i
        t = i.get("base-timestamp" if layered else "timestamp", i.get("timestamp", 0))
        version = i.get("version")
        w(kv("Version", f"{version} ({_ts(t)})") if version is not None else kv("Timestamp", _ts(t)))
        is_ostree = "origin" in i and not is_checksum(i["origin"])
        if layered and (opts.verbose or is_ostree):
            w(_commit_line("BaseCommit", i["base-checksum"], i.get("base-commit-meta"), opts.verbose, glyphs))
            if opts.verbose:
                w(_commit_line("Commit", i["checksum"], i.get("layered-commit-meta"), opts.verbose, glyphs))
        elif opts.verbose or is_ostree:
            w(_commit_line("Commit", i["checksum"], i.get("base-commit-meta"), opts.verbose, glyphs))
        if opts.verbose and (i["staged"] or first):
            w(kv("Staged", "yes" if i["staged"] else "no"))
        if opts.verbose or multiple:
            w(kv("StateRoot", i["osname"]))
        pending = first and not i["booted"] and i["osname"] == booted_osname
        if pending and cached is not None and cached_id == i["id"]:
            rpm_diff = update.value(cached, "rpm-diff")
            if rpm_diff is not None:
                print_diff_variant(ctx, rpm_diff, MAX_KEY, opts.verbose)
            printed_cached = True
        removals = i.get("base-removals", [])
        grouped = {}
        for r in removals:
            grouped.setdefault((f"{r[2]}:" if r[2] else "") + f"{r[3]}-{r[4]}", []).append(r[1])
        w(values("RemovedBasePackages", [" ".join(names) + " " + evr for evr, names in grouped.items()],
                 quote=False))
        w(_overrides(i, bullet == "●", opts.verbose))
        if opts.verbose:
            w(values("InactiveBaseRemovals", i.get("requested-base-removals", []), omit={r[1] for r in removals}))
            w(values("InactiveRequests", i.get("requested-packages", []), omit=set(i.get("packages", []))))
        w(values("LayeredPackages", i.get("packages", [])))
        w(values("LocalPackages", i.get("requested-local-packages", [])))
        w(values("LocalForcedPackages", i.get("requested-local-fileoverride-packages", [])))
        if i.get("regenerate-initramfs"):
            w(kv("Initramfs", "".join(_quote(a) + " " for a in i.get("initramfs-args", [])) or "regenerate"))
        w(values("InitramfsEtc", i.get("initramfs-etc", [])))
        if i["pinned"]:
            w(kv("Pinned", "yes"))
        if i["unlocked"] not in ("none", None):
            w(kv("Unlocked", i["unlocked"]))
        if i.get("endoflife"):
            w(kv("EndOfLife", i["endoflife"]))
    if cached is not None and not printed_cached and policy != "none":
        w("\n")
        print_cached_update(ctx, cached, opts.verbose)
    return rc


def _jsonpath(doc, expr: str):
    """A small JSONPath subset: $, .key, ['key'], [N], [*]."""
    import re

    from ostree_py.errors import OstreeError
    if not expr.startswith("$"):
        raise OstreeError("While compiling jsonpath: Invalid JSONPath: expression must start with $")
    nodes = [doc]
    for m in re.finditer(r"\.([A-Za-z0-9_-]+)|\[(\d+|\*|'[^']*'|\"[^\"]*\")\]|\.\*", expr[1:]):
        key, idx = m.group(1), m.group(2)
        new = []
        for n in nodes:
            if key is not None:
                if isinstance(n, dict) and key in n:
                    new.append(n[key])
            elif idx == "*" or m.group(0) == ".*":
                new.extend(n.values() if isinstance(n, dict) else n if isinstance(n, list) else [])
            elif idx.isdigit():
                if isinstance(n, list) and int(idx) < len(n):
                    new.append(n[int(idx)])
            else:
                k = idx[1:-1]
                if isinstance(n, dict) and k in n:
                    new.append(n[k])
        nodes = new
    return nodes
