"""`accelsim report`: Markdown, self-contained HTML and PNG/SVG/PDF figures from a results database; the
four Pareto fronts, the selected design (best EDP, knee or fastest) and its per-layer mappings."""

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.dse import load_results, pareto_front, run_sweep, spec_from_mapping
from accelsim.report.dse_report import FIGURE_FILES, FRONTS, _memory_notes
from accelsim.workload import resolve
from accelsim.workload.profile import profile

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A small sweep with real trade-offs (120 points, ~2 s): array shapes, dataflows, DRAM bandwidths and SRAM
    sizes (a larger SRAM re-reads less from DRAM but costs more per access and leaks more)."""
    db = tmp_path_factory.mktemp("sweep") / "alexnet.db"
    spec = spec_from_mapping({"name": "tiny-dse", "model": "alexnet", "rows": [32, 128], "cols": [32, 128],
                              "dataflow": ["os", "ws", "is"], "bandwidth": [8, 32],
                              "sram_kib": [32, 64, 128, 256, 512]})
    run_sweep(spec, db, workers=0, progress=False)
    return db


@pytest.fixture(scope="module")
def points(results):
    return load_results(results)


@pytest.fixture(scope="module")
def default_report(results, tmp_path_factory):
    """`accelsim report --from DB` run once in an empty folder: (report folder, stderr)."""
    cwd = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        r = CliRunner().invoke(main, ["report", "--from", str(results)])
    assert r.exit_code == 0, r.output
    return cwd / "reports" / "tiny-dse", r.stderr  # default: reports/<sweep name>/


def test_report_writes_markdown_html_and_figures(default_report):
    out, stderr = default_report
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    assert len(FIGURE_FILES) == 8
    for f in FIGURE_FILES:
        for ext, magic in MAGIC.items():
            data = (out / f"{f}.{ext}").read_bytes()
            assert data.startswith(magic) and len(data) < 400_000, (f, ext)
        assert f"]({f}.png)" in md and f"[SVG]({f}.svg), [PDF]({f}.pdf)" in md
    assert page.count("src='data:image/png;base64,") == len(FIGURE_FILES)
    assert not re.search(r"src=['\"](?!data:)", page)  # nothing outside the file
    assert "## Pareto fronts" in md and "| Best by |" in md and "MB = 10^6 bytes" in md
    assert "120 design points simulated" in md
    assert f"wrote {2 + 3 * len(FIGURE_FILES)} files to " in stderr


def test_each_front_has_three_points_and_the_report_counts_them(default_report, points):
    md = (default_report[0] / "report.md").read_text()
    for _, x, y, what in FRONTS:
        front = pareto_front(points, [x, y])
        distinct = front[[x, y]].drop_duplicates()
        assert len(distinct) >= 3, (what, front[[x, y]])
        assert f"{what[0].upper()}{what[1:]}: {len(front)} of 120 points on the front" in md


def test_default_detail_is_the_lowest_edp_point(default_report, points):
    md = (default_report[0] / "report.md").read_text()
    best = points.loc[points["edp_uJ_ms"].idxmin()]
    assert (points["edp_uJ_ms"] > best["edp_uJ_ms"]).sum() == len(points) - 1  # one minimum, no tie
    sram = f"{best['ifmap_sram_kib']:g}/{best['filter_sram_kib']:g}/{best['ofmap_sram_kib']:g}"
    assert (f"**alexnet (batch 1) on {best['rows']}x{best['cols']} {best['dataflow'].upper()}, SRAM {sram} KiB"
            in md)
    assert f"DRAM {best['bandwidth_bytes_per_cycle']:g} B/cycle" in md
    assert "the lowest energy-delay product of the 120 points" in md
    fastest = points.loc[points["latency_ms"].idxmin()]
    ratio = re.search(r"the fastest point \([^)]*\) has ([\d.,]+)x its EDP", md)[1]
    assert float(ratio) == pytest.approx(fastest["edp_uJ_ms"] / best["edp_uJ_ms"], abs=0.006)


def test_select_by_latency_and_knee(results, points, tmp_path):
    from accelsim.report.dse_report import knee, select_point

    fastest = select_point(points, {}, "latency")
    assert fastest["latency_ms"] == points["latency_ms"].min()
    assert fastest["pe_count"] == points[points["latency_ms"] == fastest["latency_ms"]]["pe_count"].min()
    expect = knee(pareto_front(points, ["latency_ms", "energy_per_inference_uJ"]))
    assert select_point(points, {}, "knee")["key"] == expect["key"]
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path), "--select-by", "knee"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "report.md").read_text()
    head = re.search(r"\*\*alexnet \(batch 1\) on (\d+)x(\d+) (\w+), SRAM ([\d/.]+) KiB.*DRAM ([\d.]+) B/cycle", md)
    assert (int(head[1]), int(head[2]), head[3].lower(), float(head[5])) == (
        expect["rows"], expect["cols"], expect["dataflow"], expect["bandwidth_bytes_per_cycle"])
    assert head[4] == f"{expect['ifmap_sram_kib']:g}/{expect['filter_sram_kib']:g}/{expect['ofmap_sram_kib']:g}"
    assert "the knee of the latency-energy front of the 120 points" in md
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path / "x"), "--select-by", "area"])
    assert r.exit_code == 2 and "'area' is not one of 'edp', 'knee', 'latency'" in r.stderr


def test_knee_by_hand():
    from accelsim.report.dse_report import knee

    # log-scaled to [0, 1] over the front, A (0, 1), B (0.15, 0.5), C (0.5, 0.35), D (1, 0): B is nearest (0, 0)
    front = pd.DataFrame({"name": list("ABCD"), "energy_per_inference_uJ": [1.0, 2.0, 10.0, 100.0],
                          "latency_ms": [100.0, 10.0, 5.0, 1.0]})
    assert knee(front)["name"] == "B"
    assert knee(front.iloc[[0, 3]])["name"] == "D"  # a tie: the lower latency
    assert knee(front.iloc[[2]])["name"] == "C"


def test_selection_flags_pick_the_point(results, tmp_path):
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path), "--array", "128x32",
                                  "--dataflow", "ws", "--bandwidth", "8"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "report.md").read_text()
    assert "**alexnet (batch 1) on 128x32 WS" in md and "DRAM 8 B/cycle" in md
    assert "chosen by `dataflow=ws`, `bandwidth=8.0`, `rows=128`, `cols=32`, then the lowest energy-delay product " \
           "of the 5 points" in md


def test_sram_selects_per_buffer(results, tmp_path):
    r = CliRunner().invoke(main, ["report", "--from", str(results), "-o", str(tmp_path), "--sram", "64,64,64",
                                  "--clock-mhz", "1000"])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "report.md").read_text()
    assert "`ifmap_sram_kib=64.0`, `filter_sram_kib=64.0`, `ofmap_sram_kib=64.0`, then the lowest energy-delay " \
           "product of the 24 points" in text


@pytest.mark.parametrize("args, message", [
    (["--sram", "256,256"], "report: --sram: expected IFMAP,FILTER,OFMAP sizes in KiB"),
    (["--sram", "64"], "report: --sram: expected IFMAP,FILTER,OFMAP sizes in KiB"),
    (["--sram", "48,48,48"], "report: ifmap_sram_kib: no point with 48.0"),
    (["--sram-kib", "256/256/128"], "report: --sram-kib is gone: give --sram IFMAP,FILTER,OFMAP (KiB per buffer)"),
    (["--array", "7x7"], "report: rows: no point with 7"),
    (["--network", "vgg16"], "report: network: no point with 'vgg16'"),
    (["--array", "seven"], "report: --array: expected ROWSxCOLS"),
    (["--mapper", "search"], "report: mapper: no point with 'search' among the selected results (have: fixed)"),
    (["--tech-node-nm", "7"], "report: tech_node_nm: no point with 7 among the selected results (have: 45)"),
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


def test_findings_are_computed_from_the_points(points):
    from accelsim.report.dse_report import findings

    fronts = {stem: pareto_front(points, [x, y]) for stem, x, y, _ in FRONTS}
    lines = findings(points, fronts)
    n = len(fronts["pareto_latency_area"])
    assert lines[1].startswith(f"Latency vs area: {n} front points, from 32x32 ")
    assert "Median latency by DRAM bandwidth: 8 B/cycle" in lines[5]
    assert lines[6].startswith("Median energy and area by SRAM KiB (ifmap/filter/ofmap): 32/32/32 ")
    m = re.search(r"\(fixed mappings\) over the (\d+) combinations of the other settings: (.*)\.", lines[7])
    # 4 shapes x 2 bandwidths x 5 SRAM sizes
    assert int(m[1]) == 40 and sum(int(n) for n in re.findall(r"in (\d+)", m[2])) == 40


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
    assert lines[-1].startswith(f"wrote {2 + 3 * len(FIGURE_FILES)} files to ")


def _searched_layers():
    nan = float("nan")
    return pd.DataFrame({
        "layer": ["conv1", "pool1", "fc"], "unit": ["array", "vector", "array"],
        "gemm_m": [64, 0, 1], "gemm_k": [27, 0, 256], "gemm_n": [16, 0, 10],
        "cycles": [800, 100, 400], "stall_cycles": [100, 50, 300], "utilization": [0.5, 0.0, 0.1],
        "dram_read_bytes": [900, 64, 3000], "dram_write_bytes": [100, 16, 40],
        "intensity_macs_per_dram_byte": [27.6, nan, 0.8], "total_pJ": [2e6, 1e5, 3e6],
        "mapping": ["WS m>n>k S=64", "", "OS n>m>k S=16"],
        "fixed_cycles": [1000, nan, 400], "fixed_dram_bytes": [1500, nan, 3040], "fixed_total_pJ": [2.5e6, nan, 3e6],
    })


def test_layer_table_names_each_mapping_and_its_cost_against_the_fixed_one():
    from accelsim.report.dse_report import _layer_table, to_markdown

    md = to_markdown([_layer_table(_searched_layers())])
    head, _, conv1, pool1, fc = md.strip().splitlines()
    assert "| Mapping |" in head and head.endswith("| Cycles vs fixed | DRAM vs fixed | Energy vs fixed |")
    assert "| WS m>n>k S=64 |" in conv1 and conv1.endswith("| -20.0% | -33.3% | -20.0% |")
    assert "| vector unit |  |" in pool1 and pool1.endswith("|  |  |  |")
    assert "| OS n>m>k S=16 |" in fc and fc.endswith("| +0.0% | +0.0% | +0.0% |")
    plain = _searched_layers().drop(columns=["fixed_cycles", "fixed_dram_bytes", "fixed_total_pJ"])
    head = to_markdown([_layer_table(plain)]).splitlines()[0]
    assert "| Mapping |" in head and "vs fixed" not in head


def test_mapping_summary_sums_the_array_layers():
    from accelsim.report.dse_report import _mapping_blocks

    (kind, text), = _mapping_blocks(_searched_layers(), pd.Series({"mapper": "search", "objective": "edp"}))
    assert kind == "p"
    assert text.startswith("Mappings of the 2 array layers: `WS m>n>k S=64` 1, `OS n>m>k S=16` 1.")
    assert ("The search (objective edp, over the whole network) lowered the layer's cycles x energy below the fixed "
            "mapping's in 1 of 2 layers; over the array layers: cycles 1,200 vs 1,400 fixed (-14.3%), DRAM 4.04 vs "
            "4.54 kB (-11.0%), energy 5.00 vs 5.50 µJ (-9.1%).") in text
    assert _mapping_blocks(_searched_layers().drop(columns=["mapping"]), pd.Series(dtype=object)) == []


def test_a_searched_point_names_its_mappings_against_the_fixed_ones(tmp_path):
    db = tmp_path / "s.db"
    run_sweep(spec_from_mapping({"name": "searched", "model": "lenet5", "array": ["8x8"], "dataflow": "ws",
                                 "mapper": ["fixed", "search"], "objective": "cycles"}), db, workers=0, progress=False)
    r = CliRunner().invoke(main, ["report", "--from", str(db), "-o", str(tmp_path / "r"), "--mapper", "search"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "r" / "report.md").read_text()
    assert "mapper search (objective cycles)**, chosen by `mapper=search`" in md
    head = next(line for line in md.splitlines() if line.startswith("| Layer |"))
    assert "| Mapping |" in head and head.endswith("| Cycles vs fixed | DRAM vs fixed | Energy vs fixed |")
    points = load_results(db).set_index("mapper")
    fixed, searched = points.loc["fixed"], points.loc["search"]
    assert searched["cycles"] <= fixed["cycles"]  # never worse on its objective
    m = re.search(r"The search \(objective cycles, over the whole network\) lowered the layer's cycles below the fixed "
                  r"mapping's in (\d+) of (\d+) layers; over the array layers: cycles ([\d,]+) vs ([\d,]+) fixed", md)
    assert m and int(m[2]) == 5 and int(m[1]) <= 5  # LeNet-5: three convs, two FCs on the array
    assert int(m[4].replace(",", "")) >= int(m[3].replace(",", ""))
    from accelsim.report.dse_report import search_gain

    (line,) = search_gain(load_results(db))
    assert line.startswith("Mapping search (objective cycles) against the fixed mapping of the same design, over "
                           "the 1 design swept both ways, median change: latency ")
    for col, what in (("latency_ms", "latency"), ("energy_per_inference_uJ", "energy"), ("edp_uJ_ms", "EDP")):
        change = f"{searched[col] / fixed[col] - 1:+.1%}"
        assert f"{what} {change} (from {change} to {change})" in line
    assert float(re.search(r"latency ([-+\d.]+)%", line)[1]) <= 0  # the objective: cycles


def test_a_report_keeps_the_database_and_readme_beside_it(results, tmp_path):
    """The report replaces its folder whole; the sweep's database, a README and an export kept there
    stay (the committed example reports live so), stale figures of an older report go."""
    import shutil

    folder = tmp_path / "rep"
    folder.mkdir()
    db = folder / "results.db"
    shutil.copy(results, db)
    (folder / "README.md").write_text("how this was made\n")
    (folder / "results.csv").write_text("a,b\n")
    (folder / "pareto_pes.png").write_bytes(b"old figure")
    r = CliRunner().invoke(main, ["report", "--from", str(db), "-o", str(folder)])
    assert r.exit_code == 0, r.output
    assert (folder / "README.md").read_text() == "how this was made\n" and (folder / "results.csv").exists()
    assert len(load_results(db)) == 120 and not (folder / "pareto_pes.png").exists()
    assert (folder / "report.md").exists() and (folder / "pareto_edp_area.pdf").exists()
