"""Progress of long work: a rich bar on a terminal, periodic plain lines in a log, nothing when quiet.

Library code never prints: it takes an optional ``progress(done, total)`` callback
(``ProgressCallback``) and calls it as work completes; work in several phases takes a
``ProgressFactory`` instead, ``progress(label, total)`` giving a context manager whose value is
the phase's callback (``no_progress`` is the silent one). The CLI supplies the display, a
``Progress``: on a terminal (stderr) a rich bar with elapsed time and ETA; otherwise a line such
as ``simulating: 40% (4/10) elapsed 0:12 ETA 0:18`` at most every ``interval_s`` seconds (also
while no update arrives, so a blocking step such as a compiler run still shows it is alive);
with ``enabled=False`` nothing at all. A leaf module (it imports only ``accelsim.errors``), and
rich only when a terminal shows the bar.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Any, Self

from accelsim.errors import AccelsimError

ProgressCallback = Callable[[int, int], None]
ProgressFactory = Callable[[str, "int | None"], AbstractContextManager[ProgressCallback]]
DEFAULT_INTERVAL_S = 5.0
BAR_DELAY_S = 1.0  # a terminal shows the bar only for jobs longer than this


@contextmanager
def no_progress(label: str, total: int | None = None) -> Iterator[ProgressCallback]:
    """The silent ``ProgressFactory``."""
    yield lambda done, total: None


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``: like rich's elapsed column, without the leading hours when zero."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_line(label: str, done: int, total: int | None, elapsed_s: float) -> str:
    """One plain progress line: percentage and counts when the total is known, ETA once something is done."""
    if not total:
        counted = f" ({done:,} done)" if done else ""
        return f"{label}:{counted} elapsed {format_duration(elapsed_s)}"
    done = min(done, total)
    text = f"{label}: {100 * done // total}% ({done:,}/{total:,}) elapsed {format_duration(elapsed_s)}"
    if 0 < done < total:
        text += f" ETA {format_duration(elapsed_s * (total - done) / done)}"
    return text


class Progress:
    """A context manager showing one job's progress; call it (or ``update``) with ``(done, total)``.

    ``total`` None means unknown (a build): the bar pulses and the lines show elapsed time only.
    ``tty`` None asks the stream; ``transient`` removes the bar when done (e.g. before JSON output).
    """

    def __init__(self, label: str, total: int | None = None, *, enabled: bool = True, stream: IO[str] | None = None,
                 interval_s: float = DEFAULT_INTERVAL_S, tty: bool | None = None, transient: bool = False):
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.tty = self._isatty() if tty is None else tty
        self.transient = transient
        self.done = 0
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._task: Any = None
        self._lines = 0
        self._last: tuple[int, int | None] | None = None

    def _isatty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._t0

    def __enter__(self) -> Self:
        self._t0 = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name=f"progress:{self.label}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.__exit__(*exc)
        elif self._lines and exc[0] is None and self._last != (self.done, self.total):
            self._write()  # a log that saw lines also sees the end

    def _run(self) -> None:
        """Plain lines every ``interval_s``; on a terminal, the bar once the job has lasted ``BAR_DELAY_S``
        (a job shorter than that leaves the terminal as it was)."""
        if not self.tty:
            while not self._stop.wait(self.interval_s):
                self._write()
            return
        if self._stop.wait(BAR_DELAY_S):
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        with self._lock:
            bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                               console=Console(file=self.stream), transient=self.transient)
            bar.__enter__()
            self._task = bar.add_task(self.label, total=self.total, completed=self.done)
            bar.tasks[0].start_time = bar.get_time() - self.elapsed_s  # elapsed counts from the job's start
            self._bar = bar

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` (unchanged when None) units complete. Thread-safe."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            bar = self._bar
        if bar is not None:
            bar.update(self._task, completed=done, total=self.total)

    __call__ = update

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def note(self, text: str) -> None:
        """A line for the user (above the bar on a terminal), also when progress itself is disabled."""
        bar = self._bar
        if bar is not None:
            bar.console.print(text, highlight=False, markup=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _write(self) -> None:
        with self._lock:
            line = progress_line(self.label, self.done, self.total, self.elapsed_s)
            self._lines += 1
            self._last = (self.done, self.total)
        self.stream.write(line + "\n")
        self.stream.flush()


def interval_from_env() -> float:
    """``ACCELSIM_PROGRESS_INTERVAL`` in seconds (0.05 to 3600), else the default."""
    text = os.environ.get("ACCELSIM_PROGRESS_INTERVAL")
    if text is None:
        return DEFAULT_INTERVAL_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.05 <= value <= 3600:
        raise AccelsimError(f"ACCELSIM_PROGRESS_INTERVAL: expected seconds from 0.05 to 3600, got {text!r}")
    return value


def stderr_progress(label: str, total: int | None = None, *, enabled: bool = True, transient: bool = False,
                    interval_s: float | None = None) -> Progress:
    """The CLI's display on stderr; ``ACCELSIM_PROGRESS_INTERVAL`` (seconds) sets the plain lines' period."""
    if interval_s is None:
        interval_s = interval_from_env()
    return Progress(label, total, enabled=enabled, transient=transient, interval_s=interval_s)


def stderr_phases(enabled: bool = True, transient: bool = False) -> ProgressFactory:
    """A ``ProgressFactory`` showing each phase on stderr."""
    def factory(label: str, total: int | None = None) -> AbstractContextManager[ProgressCallback]:
        return stderr_progress(label, total, enabled=enabled, transient=transient)
    return factory
