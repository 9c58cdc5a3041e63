"""Commit timestamps: ``--timestamp`` (date(1)-style strings) and SOURCE_DATE_EPOCH.

The reference parses ``--timestamp`` with gnulib's parse_datetime, the parser
behind ``date -d``. This module understands the forms people write in
practice: ``@SECONDS``, ISO 8601 dates and times (``2005-10-29 12:43:29 +0000``,
``2005-10-29T12:43:29Z``), RFC 2822 dates (``Sat, 29 Oct 2005 12:43:29 +0200``),
``MM/DD/YYYY``, ``29 Oct 2005``, ``Oct 29 2005``, times alone (``12:00``,
``3pm``), time zones (``Z``, ``UTC``, ``+02:00``, ``EST``...), weekdays,
``now``/``today``/``yesterday``/``tomorrow`` and relative items
(``1 day ago``, ``+2 hours``, ``last week``, ``next month``). Fields not given
take the current local time's (a date without a time means midnight), and
the local zone is ``$TZ``'s, as for the reference.
"""

import calendar
import re
import time

from ostree_py.errors import OstreeError

_U64 = 1 << 64

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"])}
_DAYS = {d: i for i, d in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
# Zones gnulib knows by name, as offsets from UTC in minutes (daylight ones included).
_ZONES = {
    "gmt": 0, "ut": 0, "utc": 0, "wet": 0, "west": 60, "bst": 60, "art": -180, "brt": -180,
    "brst": -120, "nst": -210, "ndt": -150, "ast": -240, "adt": -180, "clt": -240, "clst": -180,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480,
    "pdt": -420, "akst": -540, "akdt": -480, "hst": -600, "hast": -600, "hadt": -540, "sst": -720,
    "wat": 60, "cet": 60, "cest": 120, "met": 60, "mez": 60, "mesz": 120, "eet": 120,
    "eest": 180, "cat": 120, "sast": 120, "eat": 180, "msk": 180, "msd": 240, "ist": 330,
    "sgt": 480, "kst": 540, "jst": 540, "gst": 600, "nzst": 720, "nzdt": 780,
}
_MILITARY = {c: (0 if c == "z" else None) for c in "abcdefghiklmnopqrstuvwxyz"}
_RELUNITS = {
    "year": ("months", 12), "month": ("months", 1), "fortnight": ("seconds", 14 * 86400),
    "week": ("seconds", 7 * 86400), "day": ("days", 1), "hour": ("seconds", 3600),
    "minute": ("seconds", 60), "min": ("seconds", 60), "second": ("seconds", 1), "sec": ("seconds", 1),
}
_ORDINALS = {"last": -1, "this": 0, "next": 1, "first": 1, "third": 3, "fourth": 4, "fifth": 5,
             "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
             "twelfth": 12}

_TOKEN = re.compile(r"\s*(?:(?P<num>[-+]?\d+(?:[.,]\d+)?)|(?P<word>[A-Za-z]+\.?)|(?P<punct>[-+:/,@().]))")


class _Parse:
    def __init__(self):
        self.date = None        # (year or None, month, day)
        self.time = None        # (hour, minute, second, frac)
        self.zone = None        # minutes east of UTC
        self.weekday = None     # (ordinal, day index)
        self.rel = {"months": 0, "days": 0, "seconds": 0}
        self.have_rel = False


def _bad(text):
    return OstreeError(f"Could not parse '{text}'")


def _month_of(word):
    w = word.lower().rstrip(".")
    if w in ("sept",):
        return 9
    for name, n in _MONTHS.items():
        if w == name or (len(w) == 3 and name.startswith(w)):
            return n
    return None


def _day_of(word):
    w = word.lower().rstrip(".")
    for name, n in _DAYS.items():
        if w == name or (len(w) >= 3 and name.startswith(w) and len(w) in (3, 4)) or w == name[:3]:
            return n
    if w in ("tues", "wednes", "thur", "thurs"):
        return {"tues": 1, "wednes": 2, "thur": 3, "thurs": 3}[w]
    return None


def _year_fix(y: int, ndigits: int) -> int:
    if ndigits == 2:
        return y + (1900 if y >= 69 else 2000)
    return y


def _tokenize(text):
    toks = []
    pos = 0
    s = text.rstrip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            raise _bad(text)
        pos = m.end()
        if m.group("num") is not None:
            toks.append(("num", m.group("num")))
        elif m.group("word") is not None:
            toks.append(("word", m.group("word")))
        else:
            toks.append(("p", m.group("punct")))
    return toks


def _parse_zone_number(sign: str, digits: str, colon_minutes: str | None) -> int:
    if colon_minutes is not None:
        return (1 if sign == "+" else -1) * (int(digits) * 60 + int(colon_minutes))
    if len(digits) <= 2:
        return (1 if sign == "+" else -1) * int(digits) * 60
    if len(digits) == 4:
        return (1 if sign == "+" else -1) * (int(digits[:2]) * 60 + int(digits[2:]))
    raise ValueError(digits)


def _parse_tokens(text, toks):
    p = _Parse()
    i = 0
    n = len(toks)

    def peek(k=0):
        return toks[i + k] if i + k < n else (None, None)

    while i < n:
        kind, val = toks[i]
        if kind == "p" and val in (",", "."):
            i += 1
            continue
        if kind == "p" and val == "(":
            # comments in parentheses are ignored
            depth = 0
            while i < n:
                if toks[i] == ("p", "("):
                    depth += 1
                elif toks[i] == ("p", ")"):
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
            continue
        if kind == "num":
            sign = val[0] if val[0] in "+-" else ""
            digits = val.lstrip("+-")
            # a time: H:MM[:SS[.frac]]
            if peek(1) == ("p", ":") and peek(2)[0] == "num" and not sign:
                if p.time is not None:
                    raise _bad(text)
                hh = int(digits)
                mm = int(peek(2)[1].lstrip("+-"))
                i += 3
                ss, frac = 0, 0.0
                if peek() == ("p", ":") and peek(1)[0] == "num":
                    sv = peek(1)[1].replace(",", ".")
                    ss = int(float(sv))
                    frac = float(sv) - ss
                    i += 2
                # am/pm
                w = peek()
                if w[0] == "word" and w[1].lower().replace(".", "") in ("am", "pm", "a", "p"):
                    ap = w[1].lower().replace(".", "")
                    if hh < 1 or hh > 12:
                        raise _bad(text)
                    hh = hh % 12 + (12 if ap.startswith("p") else 0)
                    i += 1
                if hh > 23 or mm > 59 or ss > 60:
                    raise _bad(text)
                p.time = (hh, mm, ss, frac)
                # a numeric zone right after the time
                t = peek()
                if t[0] == "num" and t[1][0] in "+-":
                    zs, zd = t[1][0], t[1][1:]
                    colon = None
                    if peek(1) == ("p", ":") and peek(2)[0] == "num":
                        colon = peek(2)[1]
                        i += 2
                    try:
                        p.zone = _parse_zone_number(zs, zd, colon)
                    except ValueError:
                        raise _bad(text) from None
                    i += 1
                continue
            # ISO date YYYY-MM-DD (tokenised as num, num(-MM), num(-DD))
            if not sign and peek(1)[0] == "num" and peek(1)[1].startswith("-") and \
                    peek(2)[0] == "num" and peek(2)[1].startswith("-") and len(digits) >= 1:
                y, mo, d = int(digits), int(peek(1)[1][1:]), int(peek(2)[1][1:])
                if p.date is not None:
                    raise _bad(text)
                p.date = (_year_fix(y, len(digits)), mo, d)
                i += 3
                # ISO 'T' separator
                w = peek()
                if w[0] == "word" and w[1].upper() == "T":
                    i += 1
                elif w[0] == "word" and w[1][:1].upper() == "T" and w[1][1:].isdigit():
                    i += 1
                continue
            # M/D[/Y]
            if not sign and peek(1) == ("p", "/") and peek(2)[0] == "num":
                a, b = int(digits), int(peek(2)[1].lstrip("+-"))
                i += 3
                if peek() == ("p", "/") and peek(1)[0] == "num":
                    ytxt = peek(1)[1].lstrip("+-")
                    i += 2
                    if len(digits) >= 3:  # Y/M/D
                        p.date = (int(digits), b, int(ytxt))
                    else:
                        p.date = (_year_fix(int(ytxt), len(ytxt)), a, b)
                else:
                    p.date = (None, a, b)
                continue
            # D Month [Y]  /  D-Mon-Y
            w = peek(1)
            if not sign and w == ("p", "-") and peek(2)[0] == "word" and _month_of(peek(2)[1]):
                d, mo = int(digits), _month_of(peek(2)[1])
                i += 3
                y = None
                if peek()[0] == "num" and peek()[1].startswith("-"):
                    yt = peek()[1][1:]
                    y = _year_fix(int(yt), len(yt))
                    i += 1
                p.date = (y, mo, d)
                continue
            # H am/pm
            if not sign and w[0] == "word" and w[1].lower().replace(".", "") in ("am", "pm", "a", "p") \
                    and p.time is None:
                hh = int(digits)
                if hh < 1 or hh > 12:
                    raise _bad(text)
                p.time = (hh % 12 + (12 if w[1].lower().startswith("p") else 0), 0, 0, 0.0)
                i += 2
                continue
            if not sign and w[0] == "word" and _month_of(w[1]) and len(digits) <= 2:
                d = int(digits)
                mo = _month_of(w[1])
                i += 2
                y = None
                if peek()[0] == "num":
                    yt = peek()[1]
                    if yt.startswith("-"):
                        yt = yt[1:]
                    if ":" != (peek(1)[1] if peek(1)[0] == "p" else None):
                        y = _year_fix(int(yt), len(yt))
                        i += 1
                p.date = (y, mo, d)
                continue
            # relative: N unit [ago]
            if w[0] == "word" and w[1].lower().rstrip("s") in _RELUNITS:
                unit, mult = _RELUNITS[w[1].lower().rstrip("s")]
                amount = int(float(val))
                i += 2
                if peek()[0] == "word" and peek()[1].lower() == "ago":
                    amount = -amount
                    i += 1
                p.rel[unit] += amount * mult
                p.have_rel = True
                continue
            # a signed number after a time is a zone; handled above. Bare numbers:
            if not sign and len(digits) == 8 and digits.isdigit() and p.date is None:
                p.date = (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
                i += 1
                continue
            if not sign and len(digits) == 4 and digits.isdigit():
                if p.date is not None and p.date[0] is None:
                    p.date = (int(digits), p.date[1], p.date[2])
                elif p.date is not None and p.time is None:
                    p.time = (int(digits[:2]), int(digits[2:]), 0, 0.0)
                elif p.date is None and p.time is not None:
                    p.date = (int(digits), None, None)
                    raise _bad(text)
                else:
                    raise _bad(text)
                i += 1
                continue
            if sign and p.time is not None and p.zone is None:
                try:
                    p.zone = _parse_zone_number(sign, digits, None)
                except ValueError:
                    raise _bad(text) from None
                i += 1
                continue
            raise _bad(text)
        if kind == "word":
            w = val.lower().rstrip(".")
            if w in ("now", "today"):
                i += 1
                continue
            if w == "yesterday":
                p.rel["days"] -= 1
                p.have_rel = True
                i += 1
                continue
            if w == "tomorrow":
                p.rel["days"] += 1
                p.have_rel = True
                i += 1
                continue
            if w == "ago":
                for k in p.rel:
                    p.rel[k] = -p.rel[k]
                i += 1
                continue
            if w in ("am", "pm", "a", "p") and p.time is None and i > 0 and toks[i - 1][0] == "num":
                hh = int(toks[i - 1][1])
                if hh < 1 or hh > 12:
                    raise _bad(text)
                p.time = (hh % 12 + (12 if w.startswith("p") else 0), 0, 0, 0.0)
                i += 1
                continue
            if w in _ORDINALS:
                nxt = peek(1)
                if nxt[0] == "word":
                    nw = nxt[1].lower().rstrip(".")
                    unit = nw.rstrip("s")
                    if unit in _RELUNITS:
                        u, mult = _RELUNITS[unit]
                        p.rel[u] += _ORDINALS[w] * mult
                        p.have_rel = True
                        i += 2
                        continue
                    d = _day_of(nw)
                    if d is not None:
                        p.weekday = (_ORDINALS[w], d)
                        i += 2
                        continue
                raise _bad(text)
            if w.rstrip("s") in _RELUNITS:
                u, mult = _RELUNITS[w.rstrip("s")]
                amount = 1
                i += 1
                if peek()[0] == "word" and peek()[1].lower() == "ago":
                    amount = -1
                    i += 1
                p.rel[u] += amount * mult
                p.have_rel = True
                continue
            mo = _month_of(w)
            if mo is not None:
                i += 1
                d = None
                y = None
                if peek()[0] == "num" and peek(1) != ("p", ":"):
                    d = int(peek()[1].lstrip("+-"))
                    i += 1
                    if peek() == ("p", ","):
                        i += 1
                    if peek()[0] == "num" and peek(1) != ("p", ":"):
                        yt = peek()[1].lstrip("+-")
                        y = _year_fix(int(yt), len(yt))
                        i += 1
                p.date = (y, mo, d if d is not None else 1)
                continue
            d = _day_of(w)
            if d is not None:
                if p.weekday is None:
                    p.weekday = (0, d)
                i += 1
                continue
            if w in _ZONES:
                p.zone = _ZONES[w]
                i += 1
                # "UTC+2", "GMT-0500"
                t = peek()
                if t[0] == "num" and t[1][0] in "+-":
                    try:
                        p.zone += _parse_zone_number(t[1][0], t[1][1:], None)
                    except ValueError:
                        raise _bad(text) from None
                    i += 1
                if peek()[0] == "word" and peek()[1].lower() == "dst":
                    p.zone += 60
                    i += 1
                continue
            if len(w) == 1 and w in _MILITARY and _MILITARY[w] is not None:
                p.zone = 0
                i += 1
                continue
            if w == "t" and p.date is not None:
                i += 1
                continue
            raise _bad(text)
        raise _bad(text)
    return p


def _add_months(y, mo, months):
    total = y * 12 + (mo - 1) + months
    return total // 12, total % 12 + 1


def parse_datetime(text: str, now: float | None = None) -> int:
    """Seconds since the epoch for ``text``, as the reference's ``--timestamp`` reads it.

    Raises OstreeError("Could not parse 'TEXT'") when the text is not a date.
    The result is truncated to whole seconds (``@1.5`` is 1).
    """
    if now is None:
        now = time.time()
    s = text.strip()
    if s.startswith("@"):
        m = re.fullmatch(r"@\s*([-+]?\d+)(?:[.,](\d*))?", s)
        if not m:
            raise _bad(text)
        v = int(m.group(1))
        if not -(1 << 63) <= v < (1 << 63):
            raise _bad(text)
        return v
    if s.upper().startswith("TZ=\""):
        raise _bad(text)
    try:
        toks = _tokenize(s)
        p = _parse_tokens(text, toks)
    except (ValueError, IndexError):
        raise _bad(text) from None

    lt = time.localtime(now)
    if p.date is not None:
        y, mo, d = p.date
        if y is None:
            y = lt.tm_year
        if mo is None or d is None:
            raise _bad(text)
    else:
        y, mo, d = lt.tm_year, lt.tm_mon, lt.tm_mday
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        raise _bad(text)
    if p.time is not None:
        hh, mi, ss, _frac = p.time
    elif p.date is not None or p.weekday is not None or (p.have_rel and not any(p.rel.values())) \
            or (not toks):
        hh = mi = ss = 0
    else:
        hh, mi, ss = lt.tm_hour, lt.tm_min, lt.tm_sec
    if s == "" or (p.have_rel and p.date is None and p.time is None and not any(p.rel.values())):
        hh = mi = ss = 0
    # relative months/years apply to the calendar date
    y, mo = _add_months(y, mo, p.rel["months"])
    days = p.rel["days"]

    if p.zone is not None:
        base = calendar.timegm((y, mo, 1, hh, mi, ss, 0, 0, 0)) + (d - 1) * 86400 - p.zone * 60
    else:
        base = int(time.mktime((y, mo, d, hh, mi, ss, 0, 0, -1)))
    if p.weekday is not None:
        ordinal, wd = p.weekday
        cur = time.gmtime(base + (p.zone or 0) * 60).tm_wday if p.zone is not None else time.localtime(base).tm_wday
        delta = (wd - cur) % 7
        if ordinal > 0:
            delta += 7 * (ordinal - 1) if delta else 7 * ordinal if ordinal > 1 else 0
        elif ordinal < 0:
            delta = delta - 7 if delta else -7
        days += delta
    if days:
        if p.zone is not None:
            base += days * 86400
        else:
            t = time.localtime(base)
            base = int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday + days, t.tm_hour, t.tm_min, t.tm_sec,
                                    0, 0, -1)))
    return base + p.rel["seconds"]


def source_date_epoch(value: str) -> int:
    """The commit time from a SOURCE_DATE_EPOCH value, read as the reference reads it (strtoll)."""
    m = re.match(r"[ \t\n\v\f\r]*([-+]?)(\d+)", value)
    if not m:
        raise OstreeError("Failed to convert SOURCE_DATE_EPOCH")
    v = int(m.group(2))
    if m.group(1) == "-":
        v = -v
    if not -(1 << 63) <= v < (1 << 63):
        raise OstreeError("Parsing SOURCE_DATE_EPOCH: Numerical result out of range")
    return v


def commit_time(timestamp: str | None, environ) -> int:
    """The timestamp a commit gets: --timestamp, else $SOURCE_DATE_EPOCH, else now (as u64)."""
    if timestamp is not None:
        v = parse_datetime(timestamp)
    else:
        env = environ.get("SOURCE_DATE_EPOCH")
        v = source_date_epoch(env) if env is not None else int(time.time())
    return v % _U64
