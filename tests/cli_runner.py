"""The ``shoprelay`` CLI run in this process: ``proxy.cli.main(argv)`` with its
own environment, working directory, umask and stdin, its stdout, stderr and
exit status captured, as a subprocess would give them.

A process per command cost about a second each (interpreter start and
imports); the CLI tests now run here and one smoke test keeps the real
console script (tests/proxy/test_cli.py). What a process would have given
for free is put back after each run: os.environ, the working directory, the
umask, sys.std*, and the ``shoprelay`` logger that ``main`` configures.

``main`` runs its own event loop (asyncio.run), so it runs in a thread of
its own: an async test's thread already has a loop. Like subprocess.run, a
call blocks the caller; an async test whose local upstream must answer the
command meanwhile calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator
from unittest import mock

from proxy import cli


class CliResult:
    """What subprocess.run(capture_output=True, text=True) returns, in short."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return f"CliResult({self.args!r}, returncode={self.returncode}, stderr={self.stderr!r})"


def run_cli(
    *args: str,
    env: dict[str, str],
    cwd: str | os.PathLike[str],
    stdin: str = "",
    umask: int = -1,
) -> CliResult:
    """``shoprelay *args`` with exactly ``env`` as its environment (the
    caller builds it, as for a subprocess). ``umask`` -1 keeps this one."""
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = list(args)
    with _isolated(env, pathlib.Path(cwd), umask):
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        ):
            try:
                with ThreadPoolExecutor(1) as thread:
                    thread.submit(cli.main, argv).result()
                code = 0
            except SystemExit as exc:
                code = _exit_status(exc.code, stderr)
    return CliResult(argv, code, stdout.getvalue(), stderr.getvalue())


def _exit_status(code: object, stderr: io.StringIO) -> int:
    """As the interpreter turns ``SystemExit(code)`` into an exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    stderr.write(f"{code}\n")
    return 1


@contextlib.contextmanager
def _isolated(env: dict[str, str], cwd: pathlib.Path, umask: int) -> Iterator[None]:
    logger = logging.getLogger("shoprelay")
    saved_logger = (logger.handlers[:], logger.level, logger.propagate)
    saved_cwd = os.getcwd()
    saved_umask = os.umask(umask) if umask != -1 else None
    # `serve` must stop before uvicorn in these tests (a refused keyring...):
    # were it to start, it would serve here forever instead of failing.
    started = AssertionError("`serve` started a server in the test process; use tests.support.serve_command")
    try:
        with mock.patch.dict(os.environ, env, clear=True), mock.patch("uvicorn.run", side_effect=started):
            os.chdir(cwd)
            yield
    finally:
        os.chdir(saved_cwd)
        if saved_umask is not None:
            os.umask(saved_umask)
        handlers, level, propagate = saved_logger
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
