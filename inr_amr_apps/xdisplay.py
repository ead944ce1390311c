"""A private X server for rendering without a display.

Run a command under it with ``python -m inr_amr_apps.xdisplay COMMAND [ARGS...]``, or in Python::

    with virtual_display() as display:
        subprocess.run(cmd, env={**os.environ, "DISPLAY": display})

Why not ``xvfb-run -a``: it picks a display number by looking for lock files and waits for the server
with a signal, and in CI one of several servers started in a row refused its client ("bad X server
connection", pvbatch aborted). Xvfb's own ``-displayfd`` chooses a free number itself and reports it only
once the server accepts connections, so there is neither a race for the number nor one for readiness.
And the server runs with ``-noreset``: by default an X server resets when its last client disconnects,
and pvbatch closes its first connection (the OpenGL capability check) and opens another at once, which
a resetting server refuses now and then (measured: 28 of 1,000 immediate reconnections).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from inr_amr_core.torch_blas import other_preloads

__all__ = ["SCREEN", "main", "virtual_display"]

SCREEN = "1280x1024x24"
"""Default screen of the server: width x height x depth."""


def _server_environment() -> dict[str, str]:
    """This environment without the torch library a ParaView launcher preloads (the X server needs none)."""
    env = dict(os.environ)
    kept = other_preloads(env.get("LD_PRELOAD", ""))
    if kept:
        env["LD_PRELOAD"] = ":".join(kept)
    else:
        env.pop("LD_PRELOAD", None)
    return env


def _read_display_number(fd: int, server: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The number Xvfb writes to ``fd`` when it is ready, or None if it exits or times out first."""
    deadline = time.monotonic() + timeout
    text = b""
    while not text.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            if server.poll() is not None:
                return None
            continue
        chunk = os.read(fd, 64)
        if not chunk:  # the server closed the pipe without a number: it failed to start
            return None
        text += chunk
    number = text.strip().decode("ascii", "replace")
    return number if number.isdigit() else None


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def virtual_display(screen: str = SCREEN, *, timeout: float = 30.0, attempts: int = 3) -> Iterator[str]:
    """Start Xvfb on a free display and yield its name (``":N"``); stop the server on exit.

    Parameters
    ----------
    screen : str, default ``"1280x1024x24"``
        Width x height x depth of screen 0.
    timeout : float, default 30.0
        Seconds to wait for one server to report that it is ready.
    attempts : int, default 3
        Servers to try before giving up.

    Raises
    ------
    FileNotFoundError
        Xvfb is not installed.
    RuntimeError
        No server became ready; the message quotes the last server's output.
    """
    exe = shutil.which("Xvfb")
    if exe is None:
        raise FileNotFoundError("Xvfb is not on PATH: install it (apt-get install xvfb) to render without a display")
    last_log = ""
    for _ in range(attempts):
        read_fd, write_fd = os.pipe()
        with tempfile.TemporaryFile() as log:
            try:
                server = subprocess.Popen(
                    [exe, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp", "-noreset"],
                    pass_fds=(write_fd,),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=_server_environment(),
                )
            finally:
                os.close(write_fd)
            try:
                number = _read_display_number(read_fd, server, timeout)
            finally:
                os.close(read_fd)
            if number is None:
                _stop(server)
                log.seek(0)
                last_log = log.read().decode("utf-8", "replace")[-2000:]
                continue
            try:
                yield f":{number}"
            finally:
                _stop(server)
            return
    raise RuntimeError(f"Xvfb did not become ready in {attempts} attempts; its last output:\n{last_log}")


def main(argv: list[str] | None = None) -> int:
    """Run a command with ``$DISPLAY`` set to a private X server; return the command's exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m inr_amr_apps.xdisplay COMMAND [ARGS...]", file=sys.stderr)
        return 2

    def stop_on_term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through virtual_display, which stops the server

    previous = signal.signal(signal.SIGTERM, stop_on_term)
    try:
        with virtual_display() as display:
            return subprocess.call(args, env={**os.environ, "DISPLAY": display})
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
