"""Metalink (version 3) documents: where a remote's ``summary`` can be fetched.

A remote configured with ``metalink=URL`` gets its summary through a metalink
file listing the summary's size, sha256/sha512 and mirror URLs. This follows
the reference's reader: only the first ``<file>`` with the requested name
counts, only http(s) ``<url>`` resources, unknown elements are skipped, and
each URL is tried in order until one serves content of the right size and
hash. Error texts are the reference's.
"""

import hashlib

from ostree_py.errors import OstreeError
from ostree_py.remote.fetcher import URI, FetchError

_HEX = set("0123456789abcdef")


class MetalinkNotFound(FetchError):
    """The metalink has no <file> for the requested name."""

    def __init__(self, message):
        super().__init__(message, "not-found")


class _Parser:
    """The reference's state machine over start/end/text events."""

    def __init__(self, requested: str):
        self.requested = requested
        self.state = "initial"
        self.passthrough_depth = 0
        self.passthrough_previous = None
        self.found_a_file = False
        self.found_our_file = False
        self.verification_known = False
        self.in_verification_type = None
        self.size = 0
        self.sha256 = None
        self.sha512 = None
        self.urls: list[URI] = []
        self._text: list[str] = []

    def _go(self, new):
        if new == "passthrough":
            self.passthrough_previous = self.state
        self.state = new

    def _unknown(self):
        self._go("passthrough")

    def flush_text(self):
        if not self._text:
            return
        text = "".join(self._text)
        self._text = []
        st = self.state
        if st == "size":
            digits = text.lstrip()
            n = 0
            for ch in digits:
                if not ch.isdigit():
                    break
                n = n * 10 + int(ch)
            self.size = n
        elif st == "hash" and self.verification_known:
            if self.in_verification_type == "sha256":
                self.sha256 = text
            else:
                self.sha512 = text
        elif st == "url":
            try:
                self.urls.append(URI.parse(text))
            except OstreeError:
                pass

    def start(self, name, attrs):
        self.flush_text()
        st = self.state
        if st == "initial":
            self._go("metalink") if name == "metalink" else self._unknown()
        elif st == "metalink":
            self._go("files") if name == "files" else self._unknown()
        elif st == "files":
            if self.urls:
                self._go("passthrough")
            elif name == "file":
                fname = attrs.get("name")
                if fname is None:
                    raise OstreeError("element 'file' requires attribute 'name'")
                self.found_a_file = True
                if fname != self.requested:
                    self._go("passthrough")
                else:
                    self.found_our_file = True
                    self._go("file")
            else:
                self._unknown()
        elif st == "file":
            new = {"size": "size", "verification": "verification", "resources": "resources"}.get(name)
            self._go(new) if new else self._unknown()
        elif st == "verification":
            if name == "hash":
                self._go("hash")
                htype = attrs.get("type")
                if htype is None:
                    raise OstreeError("element 'hash' requires attribute 'type'")
                self.verification_known = htype in ("sha256", "sha512")
                self.in_verification_type = htype if self.verification_known else None
            else:
                self._unknown()
        elif st == "resources":
            if self.size == 0:
                raise OstreeError("No <size> element found or it is zero")
            if not self.verification_known:
                raise OstreeError("No <verification> element with known <hash type=> found")
            if name == "url":
                protocol = attrs.get("protocol")
                if protocol is None:
                    raise OstreeError("element 'url' requires attribute 'protocol'")
                self._go("url" if protocol in ("http", "https") else "passthrough")
            else:
                self._unknown()
        elif st == "passthrough":
            self.passthrough_depth += 1
        else:  # size, hash, url: no children expected
            self._unknown()

    def end(self, name):
        self.flush_text()
        st = self.state
        back = {"metalink": "initial", "files": "metalink", "file": "files", "size": "file",
                "verification": "file", "resources": "file", "hash": "verification", "url": "resources"}
        if st == "passthrough":
            if self.passthrough_depth > 0:
                self.passthrough_depth -= 1
            else:
                self.state = self.passthrough_previous
        elif st in back:
            self.state = back[st]

    def text(self, data):
        self._text.append(data)


def parse_metalink(data: bytes, requested: str) -> _Parser:
    """Parse a metalink document; raise OstreeError (GMarkup-style positions) if malformed."""
    import xml.parsers.expat
    p = _Parser(requested)
    text = data.decode("utf-8", "replace")
    body = text.lstrip()
    if body.startswith("<?xml"):
        end = body.find("?>")
        body = body[end + 2:].lstrip() if end >= 0 else body
    if not body.startswith("<"):
        raise OstreeError("Error on line 1 char 1: Document must begin with an element (e.g. <book>)")
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = p.start
    parser.EndElementHandler = p.end
    parser.CharacterDataHandler = p.text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise OstreeError(f"Error on line {e.lineno} char {e.offset + 1}: "
                          f"{xml.parsers.expat.ErrorString(e.code)}") from None
    return p


def _valid_hex(s: str, n: int) -> bool:
    return len(s) == n and all(c in _HEX for c in s)


def metalink_request(fetcher, metalink_uri: URI, requested: str, max_size: int, n_retries: int):
    """Fetch the metalink and then ``requested`` from its URLs: (target URI, bytes)."""
    res = fetcher.fetch([metalink_uri], None, max_size=max_size, retries=n_retries)
    p = parse_metalink(res.data, requested)
    if not p.found_a_file:
        raise OstreeError("No <file> element found")
    if not p.found_our_file:
        raise MetalinkNotFound(f"No <file name='{requested}'> found")
    if not (p.sha256 or p.sha512):
        raise OstreeError("No <verification> hash for sha256 or sha512 found")
    if p.sha256 and not _valid_hex(p.sha256, 64):
        raise OstreeError("Invalid hash digest for sha256")
    if p.sha512 and not _valid_hex(p.sha512, 128):
        raise OstreeError("Invalid hash digest for sha512")
    if not p.urls:
        raise OstreeError("No <url method='http'> elements found")
    last_error = None
    for uri in p.urls:
        try:
            r = fetcher.fetch([uri], None, max_size=max_size, retries=n_retries)
        except OstreeError as e:
            last_error = e.message
            continue
        data = r.data
        if len(data) != p.size:
            last_error = f"Expected size is {p.size} bytes but content is {len(data)} bytes"
            continue
        if p.sha512:
            want, actual = p.sha512, hashlib.sha512(data).hexdigest()
        else:
            want, actual = p.sha256, hashlib.sha256(data).hexdigest()
        if want != actual:
            last_error = f"Expected checksum is {want} but actual is {actual}"
            continue
        return uri, data
    raise OstreeError(f"Exhausted {len(p.urls)} metalink targets, last error: {last_error}")
