"""Child processes (simulators, make and its compilers) that die with accelsim.

Every command runs in its own process group (a new session, so a terminal's Ctrl-C reaches only
accelsim, which then kills the group). A small watchdog process holds the read end of a pipe
whose write end only accelsim holds: when accelsim ends in any way, kill -9 included, the pipe
closes and the watchdog kills the whole group (make's compilers too, which a parent-death signal
on the direct child alone would leave running). A command that ends normally tells the
watchdog "done" first. cocotb's runner launches its commands through ``_execute_cmds``;
``guard_runner`` routes them through ``run_guarded``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import types
from collections.abc import Mapping, Sequence
from typing import IO, Any

from accelsim.rtlsim.env import CosimError

# Runs in a bare interpreter (-I -S): read the pipe to its end, then kill the group unless told "done".
WATCHDOG = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
data = b""
while True:
    chunk = os.read(0, 64)
    if not chunk:
        break
    data += chunk
if b"done" not in data:
    try:
        os.killpg(int(sys.argv[1]), signal.SIGKILL)
    except OSError:
        pass
"""


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def run_guarded(cmd: Sequence[str], *, cwd: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None, stdout: IO[Any] | int | None = None,
                stderr: IO[Any] | int | None = None) -> int:
    """Run ``cmd`` to completion in its own process group, which dies with this process; its exit code."""
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    read_end, write_end = os.pipe()  # both non-inheritable: only the watchdog gets the read end, as stdin
    try:
        watchdog = subprocess.Popen([sys.executable, "-I", "-S", "-c", WATCHDOG, str(proc.pid)], stdin=read_end,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except BaseException:
        os.close(write_end)
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        os.close(read_end)
    try:
        code = proc.wait()
    except BaseException:  # Ctrl-C or an error in this process: the group goes first
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        _kill_group(proc.pid)  # anything the command left behind in its group
        try:
            os.write(write_end, b"done")
        finally:
            os.close(write_end)
        watchdog.wait()
    return code


def _execute_cmds(self: Any, cmds: Sequence[Sequence[str]], cwd: Any, stdout: IO[str] | None = None) -> None:
    """cocotb runner's ``_execute_cmds`` with every command run through ``run_guarded``."""
    for cmd in cmds:
        stderr = None if stdout is None else subprocess.STDOUT
        code = run_guarded(cmd, cwd=cwd, env=self.env, stdout=stdout, stderr=stderr)
        if code != 0:
            raise RuntimeError(f"Command failed with return code: {code}")


def guard_runner(runner: Any) -> Any:
    """``runner`` (a ``cocotb_tools.runner`` Runner) with its commands run in guarded process groups."""
    if not callable(getattr(runner, "_execute_cmds", None)):
        raise CosimError(f"{type(runner).__name__} has no _execute_cmds: cocotb's runner changed; "
                           f"accelsim.rtlsim.proc must follow it")
    runner._execute_cmds = types.MethodType(_execute_cmds, runner)
    return runner
