"""accelsim.progress: plain lines with percentage, counts, elapsed and ETA; silence when disabled."""

import io
import time

import pytest

from accelsim.errors import AccelsimError
from accelsim.progress import Progress, format_duration, interval_from_env, progress_line


def test_format_duration():
    assert format_duration(7) == "0:07"
    assert format_duration(754) == "12:34"
    assert format_duration(3723) == "1:02:03"


def test_progress_line_counts_elapsed_and_eta():
    assert progress_line("layers", 4, 10, 12) == "layers: 40% (4/10) elapsed 0:12 ETA 0:18"
    assert progress_line("layers", 0, 10, 3) == "layers: 0% (0/10) elapsed 0:03"
    assert progress_line("layers", 10, 10, 30) == "layers: 100% (10/10) elapsed 0:30"
    assert progress_line("building verilator-r2c2", 0, None, 65) == "building verilator-r2c2: elapsed 1:05"


def test_plain_lines_are_periodic_even_without_updates():
    out = io.StringIO()
    with Progress("build", None, stream=out, interval_s=0.05, tty=False):
        time.sleep(0.32)
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 8, lines
    assert all(line.startswith("build: elapsed 0:0") for line in lines)


def test_plain_lines_show_progress_and_the_end():
    out = io.StringIO()
    with Progress("tiles", 10, stream=out, interval_s=0.05, tty=False) as p:
        for i in range(10):
            p(i + 1, 10)
            time.sleep(0.02)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("tiles: 100% (10/10) elapsed")
    assert any("ETA" in line for line in lines[:-1])


def test_short_job_and_disabled_print_nothing():
    out = io.StringIO()
    with Progress("quick", 3, stream=out, interval_s=10, tty=False) as p:
        p(3)
    assert out.getvalue() == ""
    with Progress("quiet", 3, stream=out, interval_s=0.01, tty=False, enabled=False) as p:
        time.sleep(0.05)
        p(3)
    assert out.getvalue() == ""


def test_terminal_gets_a_rich_bar_for_long_jobs_only(monkeypatch):
    import accelsim.progress

    out = io.StringIO()
    with Progress("tiles", 4, stream=out, tty=True) as p:
        p(4)
    assert out.getvalue() == ""  # shorter than BAR_DELAY_S
    monkeypatch.setattr(accelsim.progress, "BAR_DELAY_S", 0.01)
    with Progress("tiles", 4, stream=out, tty=True) as p:
        p(2)
        time.sleep(0.2)
        p(4)
    assert "tiles" in out.getvalue() and "4/4" in out.getvalue()


def test_interval_env(monkeypatch):
    monkeypatch.setenv("ACCELSIM_PROGRESS_INTERVAL", "0.5")
    assert interval_from_env() == 0.5
    monkeypatch.setenv("ACCELSIM_PROGRESS_INTERVAL", "soon")
    with pytest.raises(AccelsimError, match="ACCELSIM_PROGRESS_INTERVAL"):
        interval_from_env()
