"""Child processes (simulators, make and its compilers) that die with accelsim.

Every command runs in its own process group (a new session, so a terminal's Ctrl-C reaches only
accelsim, which then kills the group). The group's first process is a small launcher that holds
the read end of a pipe whose write end only accelsim holds; the launcher starts the command in
its own group and waits for it. When accelsim ends in any way, kill -9 included, the pipe closes
and the launcher kills the whole group (make's compilers too, which a parent-death signal on the
direct child alone would leave running). Because the launcher holds the pipe before the command
exists, there is no moment at which accelsim can die and leave an unguarded command behind. A
command that ends normally tells the launcher "done" first. cocotb's runner launches its
commands through ``_execute_cmds``; ``guard_runner`` routes them through ``run_guarded``.
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

# Runs in a bare interpreter (-I -S) as the group leader: start the command, then read the pipe (fd argv[1])
# to its end and kill the group unless told "done"; exits with the command's code (128 + signal if killed).
LAUNCHER = """
import os, signal, subprocess, sys, threading
signal.signal(signal.SIGINT, signal.SIG_IGN)
fd = int(sys.argv[1])
try:
    child = subprocess.Popen(sys.argv[2:])
except OSError as exc:
    print(f"accelsim: cannot run {sys.argv[2]}: {exc.strerror}", file=sys.stderr)
    sys.exit(127)

def guard():
    data = b""
    while True:
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    if b"done" not in data:
        os.killpg(0, signal.SIGKILL)

threading.Thread(target=guard, daemon=True).start()
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
"""


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def run_guarded(cmd: Sequence[str], *, cwd: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None, stdout: IO[Any] | int | None = None,
                stderr: IO[Any] | int | None = None) -> int:
    """Run ``cmd`` to completion in its own process group, which dies with this process; its exit code."""
    read_end, write_end = os.pipe()  # both non-inheritable: only the launcher gets the read end
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, str(read_end), *cmd], cwd=cwd, env=env,
                                stdout=stdout, stderr=stderr, start_new_session=True, pass_fds=(read_end,))
    except BaseException:
        os.close(write_end)
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
            with contextlib.suppress(BrokenPipeError):  # the launcher has usually gone already
                os.write(write_end, b"done")
        finally:
            os.close(write_end)
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
