"""``ostree trivial-httpd``: serve a directory over HTTP for tests (see ostree_py.remote.httpd)."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

import os
from ostree_py.errors import OstreeError, UsageError

USAGE = "[DIR]"
NEEDS_REPO = False


def options(
    daemonize: Annotated[bool, typer.Option("--daemonize", "-d",
        help="Fork into background when ready")] = False,
    autoexit: Annotated[bool, typer.Option("--autoexit",
        help="Automatically exit when directory is deleted")] = False,
    port: Annotated[int | None, typer.Option("--port", "-P", metavar="PORT",
        help="Use the specified TCP port")] = None,
    port_file: Annotated[str | None, typer.Option("--port-file", "-p", metavar="PATH", parser=filename,
        help="Write port number to PATH (- for standard output)")] = None,
    force_range_requests: Annotated[bool, typer.Option("--force-range-requests",
        help="Force range requests by only serving half of files")] = False,
    require_basic_auth: Annotated[bool, typer.Option("--require-basic-auth",
        help="Require username foouser, password barpw")] = False,
    random_500s: Annotated[int | None, typer.Option("--random-500s", metavar="PERCENTAGE",
        help="Generate random HTTP 500 errors approximately for PERCENTAGE requests")] = None,
    random_500s_max: Annotated[int | None, typer.Option("--random-500s-max", metavar="MAX",
        help="Limit HTTP 500 errors to MAX (default 100)")] = None,
    random_408s: Annotated[int | None, typer.Option("--random-408s", metavar="PERCENTAGE",
        help="Generate random HTTP 408 errors approximately for PERCENTAGE requests")] = None,
    random_408s_max: Annotated[int | None, typer.Option("--random-408s-max", metavar="MAX",
        help="Limit HTTP 408 errors to MAX (default 100)")] = None,
    log_file: Annotated[str | None, typer.Option("--log-file", metavar="PATH", parser=filename,
        help="Put logs here (use - for stdout)")] = None,
    expected_cookies: Annotated[list[str], typer.Option("--expected-cookies", metavar="KEY=VALUE",
        help="Expect given cookies in the http request")] = [],
    expected_header: Annotated[list[str], typer.Option("--expected-header", metavar="KEY=VALUE",
        help="Expect given headers in the http request")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """prctl(PR_SET_PDEATHSIG, SIGTERM): a foreground server ends with whoever started it."""
    import ctypes
    import signal
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _flush(ctx):
    for s in (ctx.stdout, ctx.stderr):
        try:
            s.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _validate(opts, args):
    dirpath = args[0] if args else "."
    try:
        fd = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise OstreeError(f"opendir({dirpath}): {os.strerror(e.errno)}") from None
    os.close(fd)
    for name in ("random_500s", "random_408s"):
        v = getattr(opts, name) or 0
        if not 0 <= v <= 99:
            raise OstreeError(f"Invalid --{name.replace('_', '-')}={v % (1 << 32)}")
    for kv in opts.expected_cookies + opts.expected_header:
        if "=" not in kv:
            raise OstreeError(f"Missing '=' in KEY=VALUE {kv}")
    if opts.daemonize and opts.log_file == "-":
        raise UsageError("Cannot use --log-file=- and --daemonize at the same time")
    return dirpath


def _open_log(path):
    if path is None:
        return None
    if path == "-":
        return 1
    full = os.path.abspath(path)
    try:
        return os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise OstreeError(f"Error opening file “{full}”: {os.strerror(e.errno)}") from None


def _write_port_file(ctx, path, port):
    text = f"{port}\n"
    if path == "-":
        ctx.stdout.write(text)
        _flush(ctx)
        return
    from ostree_py.util.fs import write_atomic
    try:
        write_atomic(path, text.encode())
    except OSError as e:
        raise OstreeError(f"Failed to create file “{path}”: {os.strerror(e.errno)}") from None


def _setup(ctx, opts, dirpath):
    from ostree_py.remote.httpd import HttpdOptions, TrivialHttpd
    log_fd = _open_log(opts.log_file)
    options = HttpdOptions(
        force_ranges=opts.force_range_requests, require_basic_auth=opts.require_basic_auth,
        random_500s=opts.random_500s or 0,
        random_500s_max=100 if opts.random_500s_max is None else opts.random_500s_max,
        random_408s=opts.random_408s or 0,
        random_408s_max=100 if opts.random_408s_max is None else opts.random_408s_max,
        expected_cookies=opts.expected_cookies, expected_headers=opts.expected_header)
    port = opts.port or 0
    try:
        httpd = TrivialHttpd(dirpath, port=port, options=options, log_fd=log_fd)
    except OSError as e:
        raise OstreeError(f"Error binding to address 127.0.0.1:{port}: {os.strerror(e.errno)}") from None
    if opts.port_file:
        _write_port_file(ctx, opts.port_file, httpd.port)
    return httpd


def _detach():
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def run(ctx, opts, args):
    dirpath = _validate(opts, args)
    wfd = None
    if opts.daemonize:
        rfd, wfd = os.pipe()
        _flush(ctx)
        pid = os.fork()
        if pid > 0:
            os.close(wfd)
            with os.fdopen(rfd, "rb") as r:
                status = r.read(1)
            if not status:
                raise OstreeError("Child process closed pipe without writing status")
            if status[0] > 0:
                raise OstreeError("Child process failed during setup")
            return 0
        os.close(rfd)
    else:
        _die_with_parent()
    try:
        httpd = _setup(ctx, opts, dirpath)
    except BaseException:
        if wfd is not None:
            os.write(wfd, b"\x01")
            os.close(wfd)
        raise
    if wfd is not None:
        os.write(wfd, b"\x00")
        os.close(wfd)
        _flush(ctx)
        _detach()
    if opts.autoexit:
        httpd.watch_for_removal(dirpath)
    httpd.log.write(f"serving at root {dirpath}\n")
    try:
        httpd.serve_forever()
    finally:
        httpd.close()
    return 0
