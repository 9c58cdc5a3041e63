"""The sysroot side of ostree: deployments, boot configuration, /etc merge, upgrades.

See sysroot.py (loading, writing deployment lists), deploy.py (checkouts,
kernels, the boot swap, cleanup), bootloader/ (BLS, syslinux, U-Boot, GRUB),
kargs.py, origin.py and upgrader.py.
"""

from ostree_py.sysroot.sysroot import (
    Deployment,
    Sysroot,
    SysrootError,
    current_deployment_dir,
    default_sysroot_path,
    open_sysroot_repo,
)

__all__ = ["Deployment", "Sysroot", "SysrootError", "current_deployment_dir", "default_sysroot_path",
           "open_sysroot_repo"]
