"""Guarded child processes: a command's whole process group dies with accelsim, kill -9 included."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from accelsim.rtlsim.proc import guard_runner, run_guarded

CHILD = textwrap.dedent("""
    import sys
    from accelsim.rtlsim.proc import run_guarded
    # a parent (like make) with a grandchild (like cc1plus) in the same group
    run_guarded(["sh", "-c", "sleep 60 & echo $$ > " + sys.argv[1] + "; sleep 60"])
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _group(pgid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getpgid(int(d)) == pgid and _alive(int(d)):
                    out.append(int(d))
            except OSError:
                pass
    return out


def test_exit_code_and_output(tmp_path):
    log = tmp_path / "log"
    with open(log, "w") as fh:
        assert run_guarded(["sh", "-c", "echo hi; pwd; exit 3"], stdout=fh, cwd=tmp_path) == 3
    assert log.read_text() == f"hi\n{tmp_path}\n"
    assert run_guarded(["sh", "-c", "kill -9 $$"]) == 128 + signal.SIGKILL
    with open(log, "w") as fh:
        assert run_guarded(["no-such-command-here"], stderr=fh) == 127
    assert "cannot run no-such-command-here" in log.read_text()


def _with_arg(text: str) -> list[int]:
    """Live processes with ``text`` in their command line."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as fh:
                    if text.encode() in fh.read() and _alive(int(d)):
                        out.append(int(d))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_command_starts_only_once_guarded(tmp_path):
    # kill -9 of the parent at any moment (here: as soon as the command has started) leaves nothing behind:
    # the launcher and sh carry the pid file's path in their command lines, the sleeps are sh's children
    for i in range(5):
        pidfile = tmp_path / f"pid{i}"
        parent = subprocess.Popen([sys.executable, "-c", CHILD, str(pidfile)])
        deadline = time.monotonic() + 20
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while (_with_arg(str(pidfile)) or _group_of(pidfile)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _with_arg(str(pidfile)) == [] and _group_of(pidfile) == []


def _group_of(pidfile) -> list[int]:
    """The live processes of the group of the pid that ``pidfile`` names (none if it names none yet)."""
    text = pidfile.read_text().strip()
    try:
        return _group(os.getpgid(int(text))) if text else []
    except ProcessLookupError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_parent_kills_the_whole_group(tmp_path):
    pidfile = tmp_path / "pid"
    parent = subprocess.Popen([sys.executable, "-c", CHILD, str(pidfile)])
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pgid = os.getpgid(int(pidfile.read_text()))  # the launcher's group, which sh joined
    assert len(_group(pgid)) >= 3  # the launcher, sh and its background sleep (and the foreground one once started)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10  # a loaded machine
    while _group(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _group(pgid) == []


def test_guard_runner_routes_cocotb_commands(tmp_path):
    class Runner:
        def __init__(self):
            self.env = dict(os.environ)

        def _execute_cmds(self, cmds, cwd, stdout=None):
            raise AssertionError("not guarded")

    r = guard_runner(Runner())
    r._execute_cmds([["true"]], tmp_path)
    with pytest.raises(RuntimeError, match="return code: 1"):
        r._execute_cmds([["false"]], tmp_path)
