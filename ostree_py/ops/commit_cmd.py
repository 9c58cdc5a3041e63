"""The ``commit`` porcelain: options in, a commit (and ref) out, as ``ostree commit`` does it.

The order of the steps follows the reference, since it decides which error
a user sees first and what metadata a commit gets: statoverride and skip
list, branch and parent, metadata (``--add-metadata-string`` keys, then
``--add-metadata``, then ``--keep-metadata``, then the ref binding and the
collection binding, then ``--bootable``'s keys through GVariantDict order,
then ``ostree.sizes``), the modifier, the message, the trees in the order
given, and last the commit, its detached metadata and the ref.
"""

import os
import stat

from ostree_py.ops.commit import (
    CommitBuilder,
    CommitFilter,
    CommitModifier,
    MutableTree,
    bootable_metadata,
    parse_skip_list,
    parse_statoverride,
    scan_hardlinks,
    write_commit,
)
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant
from ostree_py.core.objects import is_checksum
from ostree_py.util.fs import read_utf8_file
from ostree_py.util.text import parse_boolean

EDITOR_TEMPLATE = ("\n"
                   "# Please enter the commit message for your changes. The first line will\n"
                   "# become the subject, and the remainder the body. Lines starting\n"
                   "# with '#' will be ignored, and an empty message aborts the commit.")


class CommitRequest:
    """Everything ``ostree commit`` can be asked (the option names, with - as _)."""

    FIELDS = dict(
        parent=None, subject=None, body=None, body_file=None, editor=False, branch=None, orphan=False,
        no_bindings=False, bind_ref=(), base=None, tree=(), add_metadata_string=(), add_metadata=(),
        keep_metadata=(), add_detached_metadata_string=(), owner_uid=None, owner_gid=None,
        canonical_permissions=False, bootable=False, mode_ro_executables=False, no_xattrs=False,
        selinux_policy=None, selinux_policy_from_base=False, selinux_labeling_epoch=None, link_checkout_speedup=False,
        devino_canonical=False, tar_autocreate_parents=False, tar_pathname_filter=None,
        skip_if_unchanged=False, statoverride=None, skip_list=None, consume=False, gpg_sign=(),
        gpg_homedir=None, sign=(), sign_from_file=(), sign_type=None, generate_sizes=False, disable_fsync=False,
        fsync=None, timestamp=None, path=None, environ=None, stdin=None)

    def __init__(self, **kw):
        for k, v in self.FIELDS.items():
            setattr(self, k, list(v) if isinstance(v, tuple) else v)
        for k, v in kw.items():
            if k not in self.FIELDS:
                raise TypeError(f"unknown commit option {k}")
            setattr(self, k, v)
        if self.environ is None:
            self.environ = os.environ

    @classmethod
    def from_options(cls, opts, args, environ=None) -> "CommitRequest":
        kw = {k: getattr(opts, k) for k in cls.FIELDS if hasattr(opts, k)}
        kw["path"] = args[0] if args else None
        kw["environ"] = environ
        return cls(**kw)


class CommitResult:
    __slots__ = ("checksum", "stats", "skipped")

    def __init__(self, checksum, stats, skipped=False):
        self.checksum, self.stats, self.skipped = checksum, stats, skipped


def _keyvalues(strings, is_variant: bool):
    out = []
    for s in strings:
        key, eq, value = s.partition("=")
        if not eq:
            raise OstreeError(f"Missing '=' in KEY=VALUE metadata '{s}'")
        if is_variant:
            from ostree_py.core.gvariant_text import parse_variant
            try:
                typ, val = parse_variant(value)
            except OstreeError as e:
                raise OstreeError(f"Parsing {s}: {e.message}") from None
            out.append((key, Variant(typ, val)))
        else:
            out.append((key, Variant("s", value)))
    return out


def _editor_message(branch, subject, environ):
    """Run $OSTREE_EDITOR/$VISUAL/$EDITOR on a template; return (subject, body)."""
    from ostree_py.util.editor import prompt
    text = EDITOR_TEMPLATE
    if branch:
        text += "\n#\n# Branch: " + branch
    if subject:
        text += "\n" + subject
    text += "\n"
    output = prompt(text, environ)
    subject = None
    body = None
    for line in output.split("\n"):
        line = line.rstrip(" \t\n\r\f\v")
        if line.startswith("#"):
            continue
        if line == "" and body is None:
            continue
        if subject is None:
            subject = line
        elif body is None:
            body = line
        else:
            body += "\n" + line
    if subject is None:
        raise OstreeError("Aborting commit due to empty commit subject.")
    if body is not None:
        body = body.rstrip(" \t\n\r\f\v")
    return subject, body


def _selinux_policy_present(root: str) -> bool:
    return os.path.exists(os.path.join(root, "etc", "selinux", "config")) or \
        os.path.exists(os.path.join(root, "usr", "etc", "selinux", "config"))


def _reject_selinux(where: str):
    raise OstreeError(f"SELinux labeling is not supported by ostree-py (policy found in {where})")


def _check_commit_selinux(repo, rev: str) -> None:
    """--selinux-policy-from-base on a commit: only a tree without a policy can be handled."""
    c = repo.load_commit(repo.resolve_rev(rev))
    t = repo.load_dirtree(c.root_tree)
    for part in ("usr", "etc", "selinux"):
        sub = next((d for d in t.dirs if d[0] == part), None)
        if sub is None:
            return
        t = repo.load_dirtree(sub[1])
    if any(n == "config" for n, _ in t.files):
        _reject_selinux(rev)


def _gregex_replacement(template: str):
    """A function expanding a GRegex replacement string (\\N, \\g<N>, \\g<name>, \\n, \\t, \\l\\u\\L\\U\\E)."""
    def expand(m):
        out = []
        i = 0
        case = None      # "L" / "U" until \E
        once = None      # "l" / "u" for the next character
        n = len(template)

        def emit(s):
            nonlocal once
            for ch in s:
                if once == "l":
                    ch, once = ch.lower(), None
                elif once == "u":
                    ch, once = ch.upper(), None
                elif case == "L":
                    ch = ch.lower()
                elif case == "U":
                    ch = ch.upper()
                out.append(ch)
        while i < n:
            c = template[i]
            if c != "\\" or i + 1 >= n:
                emit(c)
                i += 1
                continue
            d = template[i + 1]
            if d.isdigit():
                j = i + 1
                while j < n and j < i + 3 and template[j].isdigit():
                    j += 1
                g = int(template[i + 1:j])
                try:
                    emit(m.group(g) or "")
                except IndexError:
                    pass
                i = j
            elif d == "g" and i + 2 < n and template[i + 2] == "<":
                k = template.find(">", i + 3)
                if k < 0:
                    emit(template[i:])
                    break
                ref = template[i + 3:k]
                try:
                    emit(m.group(int(ref) if ref.isdigit() else ref) or "")
                except (IndexError, error_type()):
                    pass
                i = k + 1
            elif d in "ntrfva0":
                emit({"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}.get(d, d))
                i += 2
            elif d in "lu":
                once = d
                i += 2
            elif d in "LU":
                case, once = d, None
                i += 2
            elif d == "E":
                case = None
                i += 2
            else:
                emit(d)
                i += 2
        return "".join(out)
    return expand


def error_type():
    import re
    return re.error


def _pathname_translator(spec: str):
    import re
    comma = spec.find(",")
    if comma < 0:
        raise OstreeError("Missing ',' in --tar-pathname-filter")
    regex, replacement = spec[:comma], spec[comma + 1:]
    try:
        rx = re.compile(regex)
    except re.error as e:
        msg = str(e.msg)
        if "missing )" in msg:
            msg = "missing terminating )"
        pos = (e.pos if e.pos is not None else 0) + 1
        raise OstreeError(f"--tar-pathname-filter: Error while compiling regular expression ‘{regex}’ "
                          f"at char {pos}: {msg}") from None
    expand = _gregex_replacement(replacement)
    return lambda path: rx.sub(expand, path)


def _open_archive(tree: str, stdin):
    from ostree_py.ops.archive_input import ArchiveError, open_archive
    if tree == "-":
        src = stdin if stdin is not None else os.fdopen(os.dup(0), "rb")
        return open_archive(src, "archive_read_open_fd"), src
    abspath = os.path.abspath(tree)
    try:
        f = open(abspath, "rb")
    except IsADirectoryError:
        raise ArchiveError(f"archive_read_open_filename: Error reading '{abspath}'") from None
    except OSError:
        raise ArchiveError(f"archive_read_open_filename: Failed to open '{abspath}'") from None
    try:
        os.fstat(f.fileno())
        if stat.S_ISDIR(os.fstat(f.fileno()).st_mode):
            raise ArchiveError(f"archive_read_open_filename: Error reading '{abspath}'")
        return open_archive(f, "archive_read_open_filename"), f
    except BaseException:
        f.close()
        raise


def _write_branch_ref(repo, branch: str, csum: str) -> None:
    """Set the branch. A directory in its place is removed first when it holds no refs (as the
    reference does); refs under it are a conflict, reported with the first one's name."""
    import shutil
    from ostree_py.core.objects import parse_refspec
    # the branch is a refspec: REMOTE:REF writes refs/remotes/REMOTE/REF
    remote, ref = parse_refspec(branch)
    p = repo.ref_path(ref, remote)
    if os.path.isdir(p) and not os.path.islink(p):
        if remote is None:
            below = sorted(name[len(ref) + 1:] for name in repo.list_refs(ref, remotes=False)
                           if name.startswith(ref + "/"))
        else:
            below = sorted(os.path.relpath(os.path.join(d, f), p) for d, _, fs in os.walk(p) for f in fs)
        if below:
            raise OstreeError(f"Conflict: {below[0]} exists under {ref} when attempting write")
        shutil.rmtree(p)
    repo.set_ref(ref, csum, remote)


def commit(repo, path: str, **options) -> CommitResult:
    """Commit the directory ``path`` into ``repo`` as ``ostree commit PATH`` does.

    ``options`` are ``ostree commit``'s, named as CommitRequest's fields
    (``branch="main"``, ``subject="..."``, ``add_metadata_string=["k=v"]``...).
    The result's ``checksum`` names the new commit."""
    return run_commit(repo, CommitRequest(path=path, **options))


def run_commit(repo, req: CommitRequest, warn=None, progress=None) -> CommitResult:
    """Do what ``ostree commit`` does; return the checksum and the transaction statistics.

    ``progress``, if given, is called with the number of files imported so far."""
    env = req.environ
    warn = warn or (lambda msg: None)

    disable_fsync = req.disable_fsync
    if req.fsync is not None:
        disable_fsync = not parse_boolean(req.fsync)

    if not os.access(repo.path, os.W_OK):
        raise OstreeError(f"Repository '{repo.path}' is read-only")

    mode_adds = mode_overrides = skip_list = None
    if req.statoverride:
        mode_adds, mode_overrides = parse_statoverride(read_utf8_file(req.statoverride))
    if req.skip_list:
        skip_list = parse_skip_list(read_utf8_file(req.skip_list))

    if not (req.branch or req.orphan):
        raise OstreeError("A branch must be specified with --branch, or use --orphan")

    parent = None
    if req.parent is not None:
        if req.parent != "none":
            _validate_checksum_string(req.parent)
            parent = req.parent
    elif not req.orphan:
        from ostree_py.repo.refs import RefIsDirectoryError
        try:
            parent = repo.resolve_rev(req.branch, allow_noent=True)
        except RefIsDirectoryError:
            parent = None

    if not parent and req.keep_metadata:
        raise OstreeError("Either --branch or --parent must be specified when using --keep-metadata")

    metadata = None
    if req.add_metadata_string or req.add_metadata or req.keep_metadata or req.bootable:
        metadata = []
        if req.add_metadata_string:
            metadata += _keyvalues(req.add_metadata_string, False)
        if req.add_metadata:
            metadata += _keyvalues(req.add_metadata, True)
        if req.keep_metadata:
            pmeta = repo.load_commit(parent).metadata
            for key in req.keep_metadata:
                if key not in pmeta:
                    raise OstreeError(f"Missing metadata key '{key}' from commit '{parent}'")
                metadata.append((key, pmeta[key]))

    detached = None
    if req.add_detached_metadata_string:
        detached = _keyvalues(req.add_detached_metadata_string, False)

    owner_uid = req.owner_uid if req.owner_uid is not None else -1
    owner_gid = req.owner_gid if req.owner_gid is not None else -1
    if req.canonical_permissions and owner_uid > 0:
        raise OstreeError("Cannot specify both --canonical-permissions and non-zero --owner-uid")
    if req.canonical_permissions and owner_gid > 0:
        raise OstreeError("Cannot specify both --canonical-permissions and non-zero --owner-gid")
    if req.selinux_policy and req.selinux_policy_from_base:
        raise OstreeError("Cannot specify both --selinux-policy and --selinux-policy-from-base")
    # ostree 2023.8+: epoch 1 labels /usr/etc as /etc; it only matters when labeling,
    # which ostree-py refuses (see _reject_selinux), so it is checked and accepted
    if req.selinux_labeling_epoch not in (None, 0, 1):
        raise OstreeError(f"Unknown SELinux labeling epoch: {req.selinux_labeling_epoch}")

    bareuseronly = repo.mode == "bare-user-only"
    canonical = req.canonical_permissions or bareuseronly
    skip_xattrs = req.no_xattrs or bareuseronly
    link_speedup = req.link_checkout_speedup or req.devino_canonical
    flags = canonical or skip_xattrs or req.consume or req.devino_canonical or req.generate_sizes
    cfilter = None
    modifier = None
    if (flags or owner_uid >= 0 or owner_gid >= 0 or req.statoverride or req.skip_list or req.no_xattrs
            or req.mode_ro_executables or req.selinux_policy or req.selinux_policy_from_base):
        cfilter = CommitFilter(owner_uid, owner_gid, req.mode_ro_executables, mode_adds, mode_overrides,
                               skip_list)
        modifier = CommitModifier(canonical_permissions=canonical, skip_xattrs=skip_xattrs,
                                  consume=req.consume, devino_canonical=req.devino_canonical,
                                  generate_sizes=req.generate_sizes, filter=cfilter)
        if req.selinux_policy:
            if not os.path.isdir(req.selinux_policy):
                raise OstreeError(f"opendir({req.selinux_policy}): "
                                  f"{os.strerror(2 if not os.path.exists(req.selinux_policy) else 20)}")
            if _selinux_policy_present(req.selinux_policy):
                _reject_selinux(req.selinux_policy)

    subject = req.subject
    body = None
    if req.editor:
        subject, body = _editor_message(req.branch, subject, env)
    elif req.body_file:
        body = read_utf8_file(req.body_file)
    elif req.body is not None:
        body = req.body

    if disable_fsync:
        repo.fsync = False

    trees = list(req.tree)
    if not trees:
        trees = ["dir=" + (req.path if req.path is not None else ".")]

    translate = _pathname_translator(req.tar_pathname_filter) if req.tar_pathname_filter else None

    with repo.lock():
        with repo.transaction():
            stats = repo.txn_stats
            builder = CommitBuilder(repo, modifier, progress=progress)
            with builder:
                if link_speedup:
                    builder.devino_cache = scan_hardlinks(repo)
                selinux_from_base = req.selinux_policy_from_base
                if req.base:
                    mtree = MutableTree.from_commit(repo, req.base)
                    if selinux_from_base:
                        _check_commit_selinux(repo, req.base)
                        selinux_from_base = False
                else:
                    mtree = MutableTree()
                for i, spec in enumerate(trees):
                    first = i == 0
                    kind, eq, arg = spec.partition("=")
                    if not eq:
                        raise OstreeError(f"Missing type in tree specification '{spec}'")
                    if kind == "dir":
                        if first and selinux_from_base:
                            if not os.path.isdir(arg):
                                raise OstreeError(f"opendir({arg}): No such file or directory")
                            if _selinux_policy_present(arg):
                                _reject_selinux(arg)
                        builder.write_dir_to_mtree(mtree, arg)
                    elif kind == "tar":
                        if first and selinux_from_base:
                            raise OstreeError("Cannot use --selinux-policy-from-base with tar")
                        entries, src = _open_archive(arg, req.stdin)
                        try:
                            builder.write_archive_to_mtree(mtree, entries, req.tar_autocreate_parents, translate)
                        finally:
                            if src is not req.stdin:
                                src.close()
                    elif kind == "ref":
                        if first and selinux_from_base:
                            _check_commit_selinux(repo, arg)
                        builder.write_commit_to_mtree(mtree, arg)
                    else:
                        raise OstreeError(f"Invalid tree type specification '{kind}'")

                if cfilter is not None and mode_adds is not None:
                    unmatched = cfilter.unmatched_statoverrides()
                    if unmatched:
                        for p in unmatched:
                            warn(f"Unmatched statoverride path: {p}")
                        raise OstreeError("Unmatched statoverride paths")
                if cfilter is not None and skip_list is not None:
                    unmatched = cfilter.unmatched_skips()
                    if unmatched:
                        for p in unmatched:
                            warn(f"Unmatched skip-list path: {p}")
                        raise OstreeError("Unmatched skip-list paths")

                root_tree, root_meta = builder.write_mtree(mtree)
                sizes = builder.sizes_metadata()

            if req.skip_if_unchanged and parent:
                pc = repo.load_commit(parent)
                if (pc.root_tree, pc.root_meta) == (root_tree, root_meta):
                    from ostree_py.repo import TxnStats
                    return CommitResult(parent, TxnStats(), skipped=True)

            if not req.no_bindings:
                metadata = list(metadata or [])
                refs = sorted(([req.branch] if req.branch else []) + list(req.bind_ref))
                metadata.append(("ostree.ref-binding", Variant("as", refs)))
                cid = repo.collection_id
                if cid is not None and not any(k == "ostree.collection-binding" for k, _ in metadata):
                    metadata.append(("ostree.collection-binding", Variant("s", cid)))

            if req.bootable:
                from ostree_py.core.ghash import variant_dict
                metadata = list(variant_dict(metadata or [], bootable_metadata(repo, root_tree, root_meta)).items())

            from ostree_py.core.timestamp import commit_time
            timestamp = commit_time(req.timestamp, env)
            csum = write_commit(repo, root_tree, root_meta, parent, subject, body, metadata, timestamp,
                                sizes=sizes)

            if detached is not None:
                from ostree_py.ops.commit import _MetadataItems
                repo.write_commitmeta(csum, _MetadataItems(detached))

            if req.sign or req.sign_from_file:
                from ostree_py import signing
                engine = signing.get_by_name(req.sign_type or signing.DEFAULT_SIGN_TYPE)
                for key in req.sign:
                    engine.set_sk(key)
                    signing.sign_commit(repo, engine, csum)
                # then each key read from a file (ostree 2023.6+), as bytes
                for path in req.sign_from_file:
                    engine.set_sk(signing.read_secret_key_file(engine, path))
                    signing.sign_commit(repo, engine, csum)
            if req.gpg_sign:
                from ostree_py.signing import gpg
                for key_id in req.gpg_sign:
                    gpg.sign_commit(repo, csum, key_id, req.gpg_homedir)

        if req.branch:
            # (set_ref regenerates the summary when core.auto-update-summary is set)
            _write_branch_ref(repo, req.branch, csum)
    return CommitResult(csum, stats)


def _validate_checksum_string(s: str) -> None:
    """ostree_validate_checksum_string's messages."""
    if len(s) != 64:
        raise OstreeError(f"Invalid rev {s}")
    for ch in s:
        if ch not in "0123456789abcdef":
            raise OstreeError(f"Invalid character '{ord(ch.encode('utf-8', 'surrogateescape')[:1])}' in rev '{s}'")
    if not is_checksum(s):
        raise OstreeError(f"Invalid rev {s}")
