"""One error hierarchy for ostree-py: each error carries its message and exit code.

The CLI turns any OstreeError into ``error: MESSAGE`` on stderr and exits with
``exit_code``; the library never prints or exits.
"""


class OstreeError(Exception):
    """A failure reported to the user as ``error: MESSAGE``."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class GVariantError(OstreeError):
    """Malformed or oversized serialized GVariant data."""


class InvalidObjectError(OstreeError):
    """An object that is corrupt, truncated or of the wrong type."""


class ObjectNotFoundError(OstreeError):
    """An object that the repository does not hold."""


class RefNotFoundError(OstreeError):
    """A ref or revision that cannot be resolved."""


class UsageError(OstreeError):
    """Bad command-line usage."""


class ContainerError(OstreeError):
    """An OCI image or ostree-ext tar stream that cannot be written or is refused."""
