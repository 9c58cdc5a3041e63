"""rpm-ostree's client side over ostree-py's sysroot: package layering.

A layered deployment is a commit whose parent is the base commit and whose
tree is the base plus the requested RPMs (``rpmostree.clientlayer``). The
origin file says what was asked for (``baserefspec``, ``[packages]
requested=``, ``[overrides] remove=``); every operation recomputes the
layered tree from the base and the requests, so the layers follow the base.

origin.py (the origin keys), rpm.py (the ``rpm`` tool: headers, rpmdb),
repos.py (yum.repos.d, rpm-md metadata over HTTP / file:// with a cache),
solve.py (libsolv), assemble.py (checkout, unpack, scripts, commit) and
core.py (the operations the commands call).
"""

from ostree_py.errors import OstreeError


class RpmOstreeError(OstreeError):
    """A failure of a layering operation; nothing was deployed."""
