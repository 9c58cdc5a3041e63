"""Deployment origin files (``CSUM.SERIAL.origin``): a keyfile whose
``[origin] refspec=`` says where upgrades come from.

``[libostree-transient]`` holds state that does not survive an upgrade
(``pinned=true``); ``override-commit`` and ``unlocked`` in ``[origin]`` are
transient too.
"""

from ostree_py.errors import OstreeError
from ostree_py.core.keyfile import KeyFile

TRANSIENT_GROUP = "libostree-transient"


def new_from_refspec(refspec: str) -> KeyFile:
    """An origin for ``refspec`` (``[origin] refspec=...``)."""
    kf = KeyFile()
    kf.set("origin", "refspec", refspec)
    return kf


def copy(origin: KeyFile) -> KeyFile:
    return KeyFile.parse(origin.to_text())


def remove_transient_state(origin: KeyFile) -> None:
    """Drop what must not be carried to the next deployment."""
    for fn, args in ((origin.remove_group, (TRANSIENT_GROUP,)),
                     (origin.remove_key, ("origin", "override-commit")),
                     (origin.remove_key, ("origin", "unlocked"))):
        try:
            fn(*args)
        except OstreeError:
            pass


def get_refspec(origin: KeyFile | None) -> str | None:
    if origin is None:
        return None
    try:
        return origin.get("origin", "refspec")
    except Exception:  # noqa: BLE001 - a malformed value reads as absent
        return None


def is_pinned(origin: KeyFile | None) -> bool:
    if origin is None:
        return False
    try:
        return bool(origin.get_boolean(TRANSIENT_GROUP, "pinned", False))
    except Exception:  # noqa: BLE001 - GLib: an invalid boolean reads as FALSE
        return False
