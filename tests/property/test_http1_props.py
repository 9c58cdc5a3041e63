"""Property tests of ostree_py.remote.http1: response heads and bodies, however framed and
however the bytes arrive, parse to what was sent; malformed ones raise http1's
errors (never hang, never return a wrong body)."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostree_py.remote import http1
from ostree_py.remote.http1 import Response, read_head


class _Trickle(io.RawIOBase):
    """A raw stream handing out at most ``step`` bytes per read, as a slow socket does."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.step, len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


class _Conn:
    def __init__(self, data: bytes, step: int = 1 << 20):
        self.fp = io.BufferedReader(_Trickle(data, step), 64)


def _body(resp: Response, n: int = 7) -> bytes:
    out = []
    while True:
        b = resp.read1(n)
        if not b:
            return b"".join(out)
        out.append(b)


def _parse(data: bytes, step: int = 1 << 20) -> Response:
    conn = _Conn(data, step)
    version, status, fields = read_head(conn.fp)
    return Response(conn, version, status, fields)


_names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda s: s not in ("content-length", "transfer-encoding", "connection"))
_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=30)


@given(body=st.binary(max_size=3000), step=st.integers(1, 100),
       fields=st.dictionaries(_names, _values, max_size=8), status=st.sampled_from([200, 206, 404, 500]))
@settings(max_examples=150, deadline=None)
def test_content_length_body(body, step, fields, status):
    head = f"HTTP/1.1 {status} Whatever\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    data = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body + b"HTTP/1.1 200 next"
    r = _parse(data, step)
    assert r.status == status
    for k, v in fields.items():
        assert r.header(k.upper()) == v.strip()
    assert _body(r) == body
    assert r.reusable


@given(chunks=st.lists(st.binary(min_size=1, max_size=500), max_size=8), step=st.integers(1, 50),
       ext=st.booleans(), trailer=st.booleans())
@settings(max_examples=150, deadline=None)
def test_chunked_body(chunks, step, ext, trailer):
    enc = b"".join(f"{len(c):x}{';x=y' if ext else ''}\r\n".encode() + c + b"\r\n" for c in chunks)
    enc += b"0\r\n" + (b"X-Sum: 1\r\n" if trailer else b"") + b"\r\n"
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + enc + b"HTTP/1.1 200 next"
    r = _parse(data, step)
    assert _body(r, 13) == b"".join(chunks)
    assert r.reusable
    assert r.conn.fp.read() == b"HTTP/1.1 200 next"   # nothing of the next response was eaten


@given(body=st.binary(min_size=1, max_size=2000), cut=st.integers(0, 1999), chunked=st.booleans())
@settings(max_examples=150, deadline=None)
def test_body_cut_short_is_an_incomplete_read(body, cut, chunked):
    cut = cut % len(body)
    if chunked:
        enc = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + enc[:cut + 3]
    else:
        data = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:cut]
    r = _parse(data, 17)
    with pytest.raises(http1.IncompleteRead):
        _body(r)


@given(body=st.binary(max_size=2000))
@settings(max_examples=50, deadline=None)
def test_no_length_reads_to_the_end_and_closes(body):
    r = _parse(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n" + body, 33)
    assert _body(r) == body
    assert not r.reusable


@given(junk=st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_garbage_raises_http_errors_only(junk):
    try:
        r = _parse(junk, 9)
        _body(r)
    except http1.HTTPException:
        pass


def test_heads():
    r = _parse(b"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\nEtag: \"b\"\r\n\r\n")
    assert r.status == 304 and r.header("etag") == '"a", "b"' and _body(r) == b"" and r.reusable
    r = _parse(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert r.status == 100
    r = _parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nab")
    assert _body(r) == b"ab" and not r.reusable
    r = _parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na")
    assert _body(r) == b"a" and r.reusable
    with pytest.raises(http1.RemoteDisconnected):
        _parse(b"")
    with pytest.raises(http1.BadStatusLine):
        _parse(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(http1.BadStatusLine):
        _parse(b"HTTP/2 200\r\n\r\n")
    with pytest.raises(http1.HTTPException):
        _parse(b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 101 + b"\r\n")
