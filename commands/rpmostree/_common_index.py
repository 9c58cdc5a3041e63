"""--deploy-index parsing."""


def index(text: str) -> int:
    from ostree_py.errors import OstreeError
    try:
        return int(text)
    except ValueError:
        raise OstreeError(f"Invalid deploy index '{text}'") from None
