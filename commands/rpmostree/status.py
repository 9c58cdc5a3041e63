"""``rpm-ostree-py status``: the deployments, in rpm-ostree's layout or as JSON."""

from .._cli import Option

SUMMARY = "Get the version of the booted system"
USAGE = ""
OPTIONS = [
    Option("pretty", "p", hidden=True, help="This option is deprecated and no longer has any effect"),
    Option("verbose", "v", help="Print additional fields (e.g. StateRoot); implies -a"),
    Option("advisories", "a", help="Expand advisories listing"),
    Option("json", help="Output JSON"),
    Option("jsonpath", "J", kind="string", arg="EXPRESSION", help="Filter JSONPath expression"),
    Option("booted", "b", help="Only print the booted deployment"),
    Option("pending-exit-77", help="If pending deployment available, exit 77"),
]

MAX_KEY = len("InactiveBaseReplacements")


def _ts(t: int) -> str:
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def deployment_info(sr, d) -> dict:
    """One deployment as rpm-ostree's D-Bus/JSON dictionary."""
    from ostree_py.errors import OstreeError
    from ostree_py.rpmostree import core
    from ostree_py.rpmostree.origin import Origin
    repo = sr.repo
    info = {"id": f"{d.osname}-{d.csum}.{d.deployserial}", "osname": d.osname, "serial": d.deployserial,
            "checksum": d.csum}
    try:
        c = repo.load_commit(d.csum)
        meta = c.metadata
    except OstreeError:
        c, meta = None, {}

    def s(m, key):
        v = m.get(key)
        return getattr(v, "value", v) if v is not None else None
    if c is not None:
        info["timestamp"] = c.timestamp
        if s(meta, "version") is not None:
            info["version"] = s(meta, "version")
    layered = bool(s(meta, "rpmostree.clientlayer"))
    if layered and c.parent:
        info["base-checksum"] = c.parent
        try:
            bc = repo.load_commit(c.parent)
            info["base-timestamp"] = bc.timestamp
            if s(bc.metadata, "version") is not None:
                info["base-version"] = s(bc.metadata, "version")
            info["base-commit-meta"] = _jsonable(bc.metadata)
        except OstreeError:
            info["base-commit-meta"] = {}
        info["layered-commit-meta"] = _jsonable(meta)
    else:
        info["base-commit-meta"] = _jsonable(meta)
    o = None
    if d.origin is not None:
        try:
            o = Origin(d.origin)
        except OstreeError:
            o = None
    if o is not None:
        info["origin"] = o.refspec
        active = list(s(meta, "rpmostree.packages") or []) if layered else []
        info["packages"] = sorted(active)
        info["requested-packages"] = sorted(o.requested)
        info["requested-local-packages"] = sorted(o.local_nevras)
        info["base-removals"] = []
        info["requested-base-removals"] = sorted(o.removals)
        info["base-local-replacements"] = []
        info["requested-base-local-replacements"] = sorted(o.replace_local_nevras)
        info["base-remote-replacements"] = {}
        info["requested-base-remote-replacements"] = [[src, names] for src, names in
                                                      (("repo=" + r, n) for r, n in o.replace_repo_map.items())]
        if layered:
            info["base-local-replacements"] = [[list(_jv(n)), list(_jv(old))] for n, old in
                                               (s(meta, "rpmostree.replaced-base-packages") or [])]
            remote = s(meta, "rpmostree.replaced-base-remote-packages") or {}
            info["base-remote-replacements"] = {src: [[list(_jv(n)), list(_jv(old))] for n, old in _jv(v)]
                                                for src, v in dict(remote).items()}
        info["requested-local-fileoverride-packages"] = []
        if layered:
            removed = set(s(meta, "rpmostree.removed-base-packages") or [])
            if removed and c.parent:
                info["base-removals"] = [[core.nevra_str(t), t[0], t[1], t[2], t[3], t[4]]
                                         for t in core.pkglist(repo, c.parent) if t[0] in removed]
        info["regenerate-initramfs"] = o.regenerate_initramfs
        if o.regenerate_initramfs:
            info["initramfs-args"] = list(o.initramfs_args)
        if o.initramfs_etc:
            info["initramfs-etc"] = list(o.initramfs_etc)
        info["modules"] = []
        info["requested-modules"] = []
        info["requested-modules-enabled"] = []
        info["modules-enabled"] = []
    info["unlocked"] = d.unlocked
    info.setdefault("regenerate-initramfs", False)
    info["pinned"] = d.is_pinned
    info["booted"] = d is sr.booted_deployment
    info["staged"] = bool(d.staged)
    info["gpg-enabled"] = False
    return info


def _jsonable(meta: dict) -> dict:
    out = {}
    for k, v in meta.items():
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
        out += _packages("InactiveLocalOverrides", [n for n in i.get("requested-base-local-replacements", [])
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


def _shell_quote(s: str) -> str:
    """rpm-ostree's maybe_shell_quote: quoted only when needed."""
    import shlex
    return shlex.quote(s)


def kv(key: str, value: str) -> str:
    return f"  {key:>{MAX_KEY}}: {value}\n" if key else f"  {'':>{MAX_KEY}}  {value}\n"


def _packages(key: str, pkgs) -> str:
    if not pkgs:
        return ""
    return kv(key, " ".join(pkgs))


def run(ctx, opts, args):
    import json

    from ostree_py.errors import UsageError
    from ._common import open_sysroot
    if opts.json and opts.jsonpath:
        raise UsageError("Cannot specify both --json and --jsonpath")
    sr = open_sysroot(ctx, lock=False)
    infos = [deployment_info(sr, d) for d in sr.deployments]
    rc = 0
    if opts.pending_exit_77 and len(infos) > 1 and not infos[0]["booted"]:
        rc = 77
    if opts.json or opts.jsonpath:
        doc = {"deployments": infos, "transaction": None, "cached-update": None, "update-driver": None}
        if opts.jsonpath:
            doc = _jsonpath(doc, opts.jsonpath)
        ctx.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return rc
    w = ctx.stdout.write
    w("State: idle\n")
    if opts.verbose:
        w("AutomaticUpdates: disabled\n")
    w("BootedDeployment:\n" if opts.booted else "Deployments:\n")
    enc = (getattr(ctx.stdout, "encoding", None) or "").lower().replace("-", "")
    bullet = "●" if enc == "utf8" else "*"
    multiple = len({i["osname"] for i in infos}) > 1
    first = True
    for i in infos:
        if opts.booted and not i["booted"]:
            continue
        if not first and not opts.booted:
            w("\n")
        w(f"{bullet if i['booted'] else ' '} {i.get('origin') or i['checksum']}\n")
        layered = "base-checksum" in i
        t = i.get("base-timestamp" if layered else "timestamp")
        version = i.get("base-version" if layered else "version") if layered else i.get("version")
        if t is not None:
            w(kv("Version", f"{version} ({_ts(t)})") if version else kv("Timestamp", _ts(t)))
        if layered:
            w(kv("BaseCommit", i["base-checksum"]))
            if opts.verbose:
                w(kv("Commit", i["checksum"]))
        else:
            w(kv("Commit", i["checksum"]))
        if opts.verbose and (i["staged"] or first):
            w(kv("Staged", "yes" if i["staged"] else "no"))
        if opts.verbose or multiple:
            w(kv("StateRoot", i["osname"]))
        if i.get("base-removals"):
            w(kv("RemovedBasePackages", ", ".join(f"{r[1]} {r[3]}-{r[4]}" for r in i["base-removals"])))
        w(_overrides(i, bullet == "●", opts.verbose))
        if opts.verbose:
            active_rm = {r[1] for r in i.get("base-removals", [])}
            w(_packages("InactiveBaseRemovals", [x for x in i.get("requested-base-removals", [])
                                                  if x not in active_rm]))
            w(_packages("InactiveRequests", [x for x in i.get("requested-packages", [])
                                              if x not in i.get("packages", [])]))
        w(_packages("LayeredPackages", i.get("packages", [])))
        w(_packages("LocalPackages", i.get("requested-local-packages", [])))
        if i.get("regenerate-initramfs"):
            w(kv("Initramfs", "".join(_shell_quote(a) + " " for a in i.get("initramfs-args", [])) or "regenerate"))
        w(_packages("InitramfsEtc", i.get("initramfs-etc", [])))
        if i["pinned"]:
            w(kv("Pinned", "yes"))
        if i["unlocked"] not in ("none", None):
            w(kv("Unlocked", i["unlocked"]))
        first = False
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
