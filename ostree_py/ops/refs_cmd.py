"""The operations behind ``ostree refs``: list, --create (also aliases), --delete, --collections.

They follow ot-builtin-refs.c's rules: a new ref must not exist unless
``--force`` (or it replaces an alias with ``-A``); an alias must name an
existing local ref; a ref with an alias pointing at it cannot be deleted.
"""

from ostree_py.errors import OstreeError
from ostree_py.core.objects import parse_refspec, validate_collection_id, validate_ref
from ostree_py.repo.reflist import list_collection_refs, list_refs_ext, write_ref
from ostree_py.repo.refs import RefIsDirectoryError


def _sorted(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8", "surrogateescape") if isinstance(k, str)
                  else tuple(x.encode("utf-8", "surrogateescape") for x in k))


def list_lines(repo, prefix: str | None, full: bool = False, aliases: bool = False,
               revision: bool = False) -> list[str]:
    """The lines ``refs [--list] [-A] [-r] [PREFIX]`` prints (``-r``: REF<TAB>CHECKSUM; -A wins)."""
    if full or aliases:
        refs = list_refs_ext(repo, prefix, cut_prefix=False, aliases=aliases)
    else:
        refs = list_refs_ext(repo, prefix, cut_prefix=True)
    out = []
    for name in _sorted(refs):
        if aliases:
            v = refs[name]
            out.append(f"{name} -> {v[1] if isinstance(v, tuple) else v}\n")
        elif revision:
            out.append(f"{name}\t{refs[name]}\n")
        else:
            out.append(f"{name}\n")
    return out


def _existing(repo, refspec: str) -> str | None:
    """What --create would overwrite (resolve_rev_ext with allow_noent; a directory counts as none)."""
    try:
        return repo.resolve_rev_ext(refspec, True, True)
    except RefIsDirectoryError:
        return None


def create_ref(repo, target: str, new: str, alias: bool = False, force: bool = False) -> None:
    """``refs TARGET --create=NEW [-A] [--force]``."""
    all_aliases = list_refs_ext(repo, None, aliases=True) if alias else {}
    existing = _existing(repo, new)
    replacing_alias = alias and new in all_aliases
    if not replacing_alias and not force and existing is not None:
        raise OstreeError(f"--create specified but ref {new} already exists")
    remote, ref = parse_refspec(new)
    if alias:
        if remote:
            raise OstreeError(f"Cannot create alias to remote ref: {remote}")
        if target not in list_refs_ext(repo, None):
            raise OstreeError(f"Cannot create alias to non-existent ref: {target}")
        write_ref(repo, None, ref, alias=target)
    else:
        checksum = repo.resolve_rev(target)
        write_ref(repo, remote, ref, checksum)


def delete_refs(repo, prefix: str) -> None:
    """``refs --delete PREFIX``: every ref the prefix lists, unless an alias points at one."""
    aliases = list_refs_ext(repo, None, aliases=True)
    refs = list_refs_ext(repo, prefix)
    for refspec in _sorted(refs):
        remote, ref = parse_refspec(refspec)
        for alias_name in _sorted(aliases):
            if aliases[alias_name][1] == ref:
                raise OstreeError(f"Ref '{ref}' has an active alias: '{alias_name}'")
        write_ref(repo, remote, ref, None)


def list_collection_lines(repo, prefix: str | None, revision: bool = False) -> list[str]:
    """The lines ``refs -c [-r] [COLLECTION-ID]`` prints (``-r``: a tab and the checksum after each)."""
    refs = list_collection_refs(repo, prefix)
    if revision:
        return [f"({cid}, {ref})\t{refs[(cid, ref)]}\n" for cid, ref in _sorted(refs)]
    return [f"({cid}, {ref})\n" for cid, ref in _sorted(refs)]


def create_collection_ref(repo, target: str, new: str, force: bool = False) -> None:
    """``refs -c TARGET --create=COLLECTION:REF``."""
    list_collection_refs(repo, None)
    existing = _existing(repo, new)
    if not force and existing is not None:
        raise OstreeError(f"--create specified but ref {new} already exists")
    checksum = repo.resolve_rev(target)
    cid, _, ref = new.partition(":")
    validate_collection_id(cid)
    if ":" not in new:
        raise OstreeError("Invalid ref name (null)")
    validate_ref(ref)
    write_ref(repo, None, ref, checksum, collection_id=cid)


def delete_collection_refs(repo, collection_id: str) -> None:
    for cid, ref in _sorted(list_collection_refs(repo, collection_id)):
        write_ref(repo, None, ref, None, collection_id=cid)
