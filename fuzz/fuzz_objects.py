"""Fuzz target: the parsers of stored objects must only ever raise OstreeError.

Not part of ``make test``; run it by hand.

With atheris (``pip install -e '.[fuzz]'``; it installs from PyPI as a
wheel), coverage-guided::

    .venv/bin/python fuzz/fuzz_objects.py -atheris_runs=200000 [CORPUS_DIR]

(any libFuzzer flag works: -max_len=4096, -jobs=N, a corpus directory...).
Without atheris, or with ``--plain``, the same target runs as a plain loop
over random inputs, half of them mutations of valid objects::

    .venv/bin/python fuzz/fuzz_objects.py --plain [ITERATIONS] [SEED]

Each input goes through every parser of bytes read from a repository:
Commit / DirTree / DirMeta, the content file and archive headers, a whole
.filez stream, bare-user ``user.ostreemeta``, the summary (as ``summary
--view`` and ``--raw`` print it) and the ``show --raw`` text of metadata
objects. An exception that is not an OstreeError is a bug: atheris reports
it with the crashing input; the plain loop prints the input (hex) and the
traceback, and exits 1.
"""

import io
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ostree_py.core import gvariant  # noqa: E402
from ostree_py.core.content import (ArchiveReader, FileInfo, archive_header, bareuser_meta,  # noqa: E402
                               file_header, parse_archive_header, parse_bareuser_meta, parse_file_header)
from ostree_py.ops.dump import object_text, summary_text  # noqa: E402
from ostree_py.errors import OstreeError  # noqa: E402
from ostree_py.core.gvariant import Variant  # noqa: E402
from ostree_py.core.objects import SUMMARY_TYPE, Commit, DirMeta, DirTree  # noqa: E402

_ZERO = "00" * 32
PARSERS = [
    Commit.from_bytes,
    DirTree.from_bytes,
    DirMeta.from_bytes,
    parse_file_header,
    parse_archive_header,
    parse_bareuser_meta,
    summary_text,
    lambda d: summary_text(d, raw=True),
    lambda d: object_text("commit", _ZERO, d),
    lambda d: object_text("commit", _ZERO, d, raw=True),
    lambda d: object_text("dirtree", _ZERO, d, raw=True),
    lambda d: object_text("dirmeta", _ZERO, d, raw=True),
    lambda d: ArchiveReader(io.BytesIO(d)).read(),
]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris's name
    """Run every parser on ``data``; anything but an OstreeError propagates."""
    for parse in PARSERS:
        try:
            parse(data)
        except OstreeError:
            pass


# ---------------------------------------------------------------- the plain loop

def _seeds():
    """A few valid objects of each kind, to mutate."""
    import zlib
    csum = "ab" * 32
    info = FileInfo(0o100644, 0, 0, 11, "", [(b"user.x", b"1")])
    link = FileInfo(0o120777, 0, 0, 0, "../target")
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return [
        Commit({"version": Variant("s", "1"), "ostree.ref-binding": Variant("as", ["main"])}, csum,
               [("x", csum)], "subject", "body", 1700000000, csum, csum).to_bytes(),
        DirTree([("a", csum), ("b", csum)], [("d", csum, csum)]).to_bytes(),
        DirTree().to_bytes(),
        DirMeta(0, 0, 0o40755, [(b"security.selinux", b"system_u:object_r:usr_t:s0\0")]).to_bytes(),
        file_header(info), file_header(link), archive_header(link),
        archive_header(info) + z.compress(b"hello world") + z.flush(),
        bareuser_meta(info),
        gvariant.serialize(SUMMARY_TYPE, ([("main", (100, bytes(32), {"ostree.commit.timestamp":
                                                                      Variant("t", 1)}))],
                                          {"ostree.summary.last-modified": Variant("t", 2)})),
    ]


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(6)
        pos = rnd.randrange(len(b)) if b else 0
        if op == 0:
            del b[pos:]
        elif op == 1 and b:
            b[pos] ^= 1 << rnd.randrange(8)
        elif op == 2 and b:
            b[pos] = rnd.choice((0, 1, 0x7f, 0x80, 0xff))
        elif op == 3:
            b[pos:pos] = rnd.randbytes(rnd.randint(1, 8))
        elif op == 4 and b:
            del b[pos:pos + rnd.randint(1, 8)]
        else:
            b += rnd.randbytes(rnd.randint(1, 16))
    return bytes(b)


def plain_loop(iterations: int, seed: int) -> int:
    import traceback
    rnd = random.Random(seed)
    seeds = _seeds()
    for i in range(iterations):
        if rnd.random() < 0.5:
            data = _mutate(rnd, rnd.choice(seeds))
        else:
            data = rnd.randbytes(rnd.randint(0, 512))
        try:
            TestOneInput(data)
        except Exception:  # noqa: BLE001 - what the fuzzer looks for
            print(f"iteration {i} (seed {seed}): input {data.hex()}", file=sys.stderr)
            traceback.print_exc()
            return 1
    print(f"{iterations} inputs, no exception other than OstreeError (seed {seed})")
    return 0


def main(argv) -> int:
    if argv[1:2] != ["--plain"]:
        try:
            import atheris
        except ImportError:
            print("atheris is not installed: running the plain loop", file=sys.stderr)
        else:
            atheris.instrument_all()  # coverage feedback from the (already imported) parsers
            atheris.Setup(argv, TestOneInput)
            atheris.Fuzz()
            return 0
        args = argv[1:]
    else:
        args = argv[2:]
    iterations = int(args[0]) if args else 100000
    seed = int(args[1]) if len(args) > 1 else random.randrange(2 ** 32)
    return plain_loop(iterations, seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
