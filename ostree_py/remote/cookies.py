"""Cookie jars of remotes: ``NAME.cookies.txt`` in the repo, Netscape/curl text format.

One cookie per line, seven whitespace-separated fields: domain, include
subdomains (TRUE when the domain starts with "."), path, secure, expiry (unix
time), name, value. Lines are read the way the reference reads them (a
``sscanf("%ms\\t%ms\\t%ms\\t%ms\\t%llu\\t%ms\\t%ms")``): any run of
whitespace separates fields, a value ends at whitespace, and a line that does
not yield all seven fields is skipped (and dropped when the jar is rewritten).
"""

import datetime
import os
import time

from ostree_py.errors import OstreeError

_WS = " \t\n\v\f\r"


class Cookie:
    """One parsed jar line; ``line`` is the text it came from."""

    __slots__ = ("domain", "flag", "path", "secure", "expiration", "name", "value", "line")

    def __init__(self, domain, flag, path, secure, expiration, name, value, line):
        self.domain, self.flag, self.path, self.secure = domain, flag, path, secure
        self.expiration, self.name, self.value, self.line = expiration, name, value, line

    def __repr__(self):
        return f"Cookie({self.domain!r}, {self.path!r}, {self.name!r}, {self.value!r})"


def jar_name(remote: str) -> str:
    return f"{remote}.cookies.txt"


def _scan(line: str):
    """The seven fields of a jar line, or None (sscanf semantics)."""
    fields = []
    i, n = 0, len(line)
    for k in range(7):
        while i < n and line[i] in _WS:
            i += 1
        if k == 4:
            j = i
            if j < n and line[j] in "+-":
                j += 1
            d = j
            while j < n and line[j].isascii() and line[j].isdigit():
                j += 1
            if j == d:
                return None
            v = int(line[d:j])
            if line[i] == "-":
                v = -v
            fields.append(v % (1 << 64))
            i = j
            continue
        j = i
        while j < n and line[j] not in _WS:
            j += 1
        if j == i:
            return None
        fields.append(line[i:j])
        i = j
    return fields


def parse_cookies(text: str):
    """The cookies of a jar's text, in order."""
    for line in text.split("\n"):
        f = _scan(line)
        if f is not None:
            yield Cookie(*f, line)


def _read_jar(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return ""
    except OSError as e:
        raise OstreeError(os.strerror(e.errno)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise OstreeError("Invalid UTF-8") from None


def _add_years(dt: datetime.datetime, years: int) -> datetime.datetime:
    try:
        return dt.replace(year=dt.year + years)
    except ValueError:  # 29 February in a year that has none
        return dt.replace(year=dt.year + years, day=28)


def add_cookie(repo_path: str, remote: str, domain: str, path: str, name: str, value: str,
               now: float | None = None) -> None:
    """Append a cookie expiring in 25 years to the remote's jar (created 0644 if missing)."""
    jar = jar_name(remote)
    now = time.time() if now is None else now
    dt = datetime.datetime.fromtimestamp(int(now), datetime.timezone.utc)
    expires = int(_add_years(dt, 25).timestamp())
    line = "\t".join([domain, "TRUE" if domain.startswith(".") else "FALSE", path, "FALSE",
                      str(expires), name, value]) + "\n"
    try:
        fd = os.open(os.path.join(repo_path, jar), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise OstreeError(f"open({jar}): {os.strerror(e.errno)}") from None
    try:
        data = line.encode("utf-8", "surrogateescape")
        while data:
            data = data[os.write(fd, data):]
    except OSError as e:
        raise OstreeError(f"write: {os.strerror(e.errno)}") from None
    finally:
        os.close(fd)


def delete_cookie(repo_path: str, remote: str, domain: str, path: str, name: str) -> None:
    """Remove every cookie matching domain, path and name; the jar is rewritten (0600).

    As in the reference the jar is rewritten even when nothing matched (keeping
    only the lines that parse), and then "Cookie not found in jar" is raised.
    """
    jar = os.path.join(repo_path, jar_name(remote))
    text = _read_jar(jar)
    found = False
    out = []
    for c in parse_cookies(text):
        if c.domain == domain and c.path == path and c.name == name:
            found = True
            continue
        out.append(c.line + "\n")
    tmp = os.path.join(repo_path, f".{jar_name(remote)}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        data = "".join(out).encode("utf-8", "surrogateescape")
        while data:
            data = data[os.write(fd, data):]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.rename(tmp, jar)
    if not found:
        raise OstreeError("Cookie not found in jar")


def list_cookies(jar_dir: str, remote: str) -> list[Cookie]:
    """The cookies in ``jar_dir``/NAME.cookies.txt (none when the jar does not exist)."""
    return list(parse_cookies(_read_jar(os.path.join(jar_dir, jar_name(remote)))))


def format_expires(expiration: int) -> str | None:
    """'YYYY-MM-DD HH:MM:SS +0000', or None when GLib cannot represent the time."""
    t = expiration - (1 << 64) if expiration >= (1 << 63) else expiration
    if not -62135596800 <= t <= 253402300799:
        return None
    dt = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=t)
    return f"{dt.year}-{dt:%m-%d %H:%M:%S} +0000"


def cookies_for_url(cookies, host: str, path: str, secure: bool = False, now: float | None = None) -> dict:
    """The name -> value pairs a client sends to ``host`` for ``path`` from a jar's cookies."""
    now = time.time() if now is None else now
    out = {}
    for c in cookies:
        d = c.domain
        if d.startswith("#HttpOnly_"):
            d = d[len("#HttpOnly_"):]
        dom = d.lstrip(".").lower()
        h = host.lower()
        if not (h == dom or (c.flag == "TRUE" or d.startswith(".")) and h.endswith("." + dom)):
            continue
        if not (path == c.path or path.startswith(c.path.rstrip("/") + "/") or c.path == "/"):
            continue
        if c.secure == "TRUE" and not secure:
            continue
        if 0 < c.expiration < now:
            continue
        out[c.name] = c.value
    return out
