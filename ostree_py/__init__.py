"""ostree-py: ostree reimplemented in Python, byte-compatible on disk."""

__version__ = "0.1.0"

