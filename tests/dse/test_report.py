"""`accelsim report`: Markdown, self-contained HTML and PNG figures from a results database."""

import re

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.dse import run_sweep, spec_from_mapping
from accelsim.report.dse_report import _memory_notes
from accelsim.workload import resolve
from accelsim.workload.profile import profile

FIGURES = ("layers.png", "roofline.png", "pareto_pes.png", "pareto_energy.png", "heatmap.png", "memory.png")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    db = tmp_path_factory.mktemp("sweep") / "lenet.db"
    spec = spec_from_mapping({"name": "tiny-dse", "model": "lenet5", "rows": [4, 8], "cols": [4, 8],
                              "dataflow": ["os", "ws"], "bandwidth": [2, 8]})
    run_sweep(spec, db, workers=0, progress=False)
    return db


def test_report_writes_markdown_html_and_figures(results, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["report", "--from", str(results)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "reports" / "tiny-dse"  # default: reports/<sweep name>/
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for f in FIGURES:
        data = (out / f).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 250_000
        assert f"]({f})" in md
    assert page.count("src='data:image/png;base64,") == len(FIGURES)
    assert not re.search(r"src=['\"](?!data:)", page)  # nothing outside the file
    assert "## Pareto fronts" in md and "| Best by |" in md and "MB = 10^6 bytes" in md
    assert "16 design points simulated" in md


def test_selection_flags_pick_the_point(results, tmp_path):
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path), "--array", "8x4",
                                  "--dataflow", "ws", "--bandwidth", "2"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "report.md").read_text()
    assert "**lenet5 (batch 1) on 8x4 WS" in md and "DRAM 2 B/cycle" in md
    assert "chosen by `dataflow=ws`, `bandwidth=2.0`, `rows=8`, `cols=4`" in md


def test_sram_selects_per_buffer(results, tmp_path):
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path), "--sram", "256,256,128",
                                  "--clock-mhz", "1000"])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "report.md").read_text()
    assert "`ifmap_sram_kib=256.0`, `filter_sram_kib=256.0`, `ofmap_sram_kib=128.0`" in text


@pytest.mark.parametrize("args, message", [
    (["--sram", "256,256"], "report: --sram: expected IFMAP,FILTER,OFMAP sizes in KiB"),
    (["--sram", "64"], "report: --sram: expected IFMAP,FILTER,OFMAP sizes in KiB"),
    (["--sram", "64,64,64"], "report: ifmap_sram_kib: no point with 64.0"),
    (["--sram-kib", "256/256/128"], "report: --sram-kib is gone: give --sram IFMAP,FILTER,OFMAP (KiB per buffer)"),
    (["--array", "7x7"], "report: rows: no point with 7"),
    (["--network", "vgg16"], "report: network: no point with 'vgg16'"),
    (["--array", "seven"], "report: --array: expected ROWSxCOLS"),
])
def test_bad_selection_is_one_line(results, tmp_path, args, message):
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path), *args])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_missing_or_foreign_database_is_one_line(tmp_path):
    r = CliRunner().invoke(main, ["report", "--from", str(tmp_path / "none.db")])
    assert r.exit_code == 2 and "no such file" in r.stderr
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite")
    r = CliRunner().invoke(main, ["report", "--from", str(junk), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "not an accelsim results database" in r.stderr


def test_vgg16_memory_sits_early_and_parameters_in_fc():
    notes = " ".join(_memory_notes(profile(resolve("vgg16"))))
    fc_share = float(re.search(r"Parameters: ([\d.]+)% of the 138,357,544 parameters sit in the FC layers", notes)[1])
    early = float(re.search(r"the first 4 conv layers alone ([\d.]+)%", notes)[1])
    assert fc_share > 85 and early > 60
    assert "the largest is `fc6` (102,764,544)" in notes
    assert "the largest output is `conv1_1`" in notes


def test_findings_are_computed_from_the_points(results):
    from accelsim.dse import load_results, pareto_front
    from accelsim.report.dse_report import findings

    df = load_results(results)
    lines = findings(df, pareto_front(df, ["latency_ms", "pe_count"]))
    assert lines[0].startswith("The latency / PE-count front has ")
    assert "Median latency by DRAM bandwidth: 2 B/cycle" in lines[2]
    m = re.search(r"over the (\d+) combinations of the other settings: (.*)\.", lines[3])
    assert int(m[1]) == 8 and sum(int(n) for n in re.findall(r"in (\d+)", m[2])) == 8  # 4 shapes x 2 bandwidths


def test_report_progress_steps_and_plain_lines(results, tmp_path, monkeypatch):
    from accelsim.report.dse_report import REPORT_STEPS, build_report

    calls = []
    build_report(results, tmp_path / "a", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, REPORT_STEPS) for i in range(1, REPORT_STEPS + 1)]
    monkeypatch.setenv("ACCELSIM_PROGRESS_INTERVAL", "0.05")
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    assert lines[-2].startswith(f"report (steps): 100% ({REPORT_STEPS}/{REPORT_STEPS}) elapsed ")
    assert lines[-1].startswith("wrote 8 files to ")
