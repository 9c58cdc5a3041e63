"""rpm-ostree's origin keys, on top of the deployment origin keyfile.

``[origin] refspec=`` for a pure ostree deployment, ``baserefspec=`` once it
needs local assembly (packages requested or base packages removed), plus
``override-commit=`` to pin the base to a commit (``deploy REV``).
``[packages] requested=`` names, ``requested-local=SHA256:NEVRA`` local RPMs
(``requested-local-fileoverride=`` those allowed to replace files of the tree),
``[overrides] remove=`` base packages left out, ``replace-local=SHA256:NEVRA``
base packages replaced by local RPMs, ``replace=repo=NAME,PKG,...`` base
packages replaced from an rpm-md repo; ``[rpmostree]
regenerate-initramfs=true`` with ``initramfs-args=`` (dracut run on the
client) and ``initramfs-etc=`` (/etc files shipped in an overlay initrd).
"""

from ostree_py.core.keyfile import KeyFile
from ostree_py.sysroot import origin as _ostree_origin
from ostree_py.rpmostree import RpmOstreeError


class Origin:
    def __init__(self, kf: KeyFile | None):
        if kf is None:
            raise RpmOstreeError("No origin known for deployment")
        self.kf = _ostree_origin.copy(kf)
        refspec = self.kf.get("origin", "refspec")
        base = self.kf.get("origin", "baserefspec")
        self.refspec = refspec if refspec is not None else base
        if self.refspec is None:
            raise RpmOstreeError("No origin/refspec or origin/baserefspec in current deployment origin; "
                                 "cannot handle via rpm-ostree")
        self.override_commit = self.kf.get("origin", "override-commit")
        self.requested = self._list("packages", "requested")
        self.requested_local = self._list("packages", "requested-local")
        self.requested_local_fileoverride = self._list("packages", "requested-local-fileoverride")
        self.removals = self._list("overrides", "remove")
        self.replace_local = self._list("overrides", "replace-local")
        self.replace_repo = self._list("overrides", "replace")
        try:
            self.regenerate_initramfs = self.kf.get_boolean("rpmostree", "regenerate-initramfs", False)
        except Exception:  # noqa: BLE001 - malformed reads as unset
            self.regenerate_initramfs = False
        self.initramfs_args = self._list("rpmostree", "initramfs-args")
        self.initramfs_etc = sorted(set(self._list("rpmostree", "initramfs-etc")))

    def _list(self, group, key) -> list[str]:
        try:
            return [v for v in self.kf.get_list(group, key, []) if v]
        except Exception:  # noqa: BLE001 - malformed reads as empty
            return []

    @staticmethod
    def nevras(items) -> dict:
        out = {}
        for item in items:
            sha, _, nevra = item.partition(":")
            out[nevra] = sha
        return out

    @property
    def local_nevras(self) -> dict:
        """NEVRA -> sha256 of the requested local packages (file-overriding ones too)."""
        return self.nevras(self.requested_local + self.requested_local_fileoverride)

    @property
    def fileoverride_nevras(self) -> dict:
        """NEVRA -> sha256 of the local packages allowed to replace files."""
        return self.nevras(self.requested_local_fileoverride)

    def may_require_local_assembly(self) -> bool:
        return bool(self.requested or self.requested_local or self.requested_local_fileoverride
                    or self.removals or self.replace_local
                    or self.replace_repo or self.regenerate_initramfs or self.initramfs_etc)

    @property
    def replace_local_nevras(self) -> dict:
        """NEVRA -> sha256 of the local replacement packages."""
        out = {}
        for item in self.replace_local:
            sha, _, nevra = item.partition(":")
            out[nevra] = sha
        return out

    @property
    def replace_repo_map(self) -> dict:
        """repo -> [package names] of the replacements from rpm-md repos."""
        out = {}
        for item in self.replace_repo:
            src, *names = item.split(",")
            kind, _, repo = src.partition("=")
            if kind != "repo" or not repo:
                raise RpmOstreeError(f"Unknown repo replacement source: {src}")
            out.setdefault(repo, []).extend(n for n in names if n)
        return out

    def set_replace_repo_map(self, m: dict) -> None:
        self.replace_repo = [",".join([f"repo={repo}"] + names) for repo, names in m.items() if names]

    def set_regenerate_initramfs(self, enabled: bool, args=()) -> None:
        """rpm-ostree's rule: enabling sets the args given (none clears them); disabling
        clears both."""
        self.regenerate_initramfs = enabled
        self.initramfs_args = list(args) if enabled else []

    def to_keyfile(self) -> KeyFile:
        kf = _ostree_origin.copy(self.kf)
        for key in ("refspec", "baserefspec"):
            try:
                kf.remove_key("origin", key)
            except Exception:  # noqa: BLE001
                pass
        kf.set("origin", "baserefspec" if self.may_require_local_assembly() else "refspec", self.refspec)
        if self.override_commit:
            kf.set("origin", "override-commit", self.override_commit)
        else:
            try:
                kf.remove_key("origin", "override-commit")
            except Exception:  # noqa: BLE001
                pass
        if self.regenerate_initramfs:
            kf.set("rpmostree", "regenerate-initramfs", "true")
        else:
            try:
                kf.remove_key("rpmostree", "regenerate-initramfs")
            except Exception:  # noqa: BLE001
                pass
        for group, key, values in (("packages", "requested", self.requested),
                                   ("packages", "requested-local", self.requested_local),
                                   ("packages", "requested-local-fileoverride",
                                    self.requested_local_fileoverride),
                                   ("overrides", "remove", self.removals),
                                   ("overrides", "replace-local", self.replace_local),
                                   ("overrides", "replace", self.replace_repo),
                                   ("rpmostree", "initramfs-args", self.initramfs_args),
                                   ("rpmostree", "initramfs-etc", self.initramfs_etc)):
            if values and key in ("initramfs-args", "replace"):
                kf.set_list(group, key, list(values))      # dracut's order matters
            elif values:
                kf.set_list(group, key, sorted(set(values)))
            else:
                try:
                    kf.remove_key(group, key)
                except Exception:  # noqa: BLE001
                    pass
                try:
                    if not kf.keys(group):
                        kf.remove_group(group)
                except Exception:  # noqa: BLE001
                    pass
        return kf

    def copy(self) -> "Origin":
        return Origin(self.to_keyfile())

    def new_for_upgrade(self, keep_override: bool = False) -> "Origin":
        """The origin of a new deployment: no pin, not unlocked, and (unless
        ``keep_override``: install, uninstall, override, kargs) no override-commit."""
        o = self.copy()
        for group, key in ((_ostree_origin.TRANSIENT_GROUP, None), ("origin", "unlocked")):
            try:
                if key is None:
                    o.kf.remove_group(group)
                else:
                    o.kf.remove_key(group, key)
            except Exception:  # noqa: BLE001 - absent
                pass
        if not keep_override:
            o.override_commit = None
        return o
