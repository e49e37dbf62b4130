"""Figures at paper width: scaled units, plain tick numbers, readable text that neither overlaps nor leaves
the figure, every format written (and written the same way twice), Pareto fronts marked."""

import itertools

import numpy as np
import pandas as pd
import pytest

import accelsim
from accelsim.dse import pareto_front
from accelsim.report import figures


def _points():
    """A synthetic sweep with trade-offs on every pair of the four metrics."""
    rows = []
    for r, c, flow, bw, sram in itertools.product((8, 16, 32, 64, 128), (8, 32, 128), ("os", "ws"), (8, 32),
                                                  (64, 256)):
        pes = r * c
        latency = 400 / pes ** 0.6 * (1 + 8 / bw) * (1.1 if flow == "os" else 1.0) * (1.2 if sram == 64 else 1.0)
        area = 0.002 * pes + sram / 60 + 0.05 * bw
        energy = 2e4 * (1.3 if sram == 64 else 1.0) + 300 * area * latency
        rows.append({"rows": r, "cols": c, "dataflow": flow, "bandwidth_bytes_per_cycle": bw, "ifmap_sram_kib": sram,
                     "filter_sram_kib": sram, "ofmap_sram_kib": sram // 2, "pe_count": pes, "latency_ms": latency,
                     "area_mm2": area, "energy_per_inference_uJ": energy, "edp_uJ_ms": energy * latency})
    return pd.DataFrame(rows)


def _drawn_texts(fig):
    """The text a reader sees: titles, axis labels, tick labels in view, annotations, legends."""
    out = list(fig.texts)
    for leg in fig.legends:
        out += leg.get_texts()
    for ax in _all_axes(fig):
        out += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        if ax.get_legend():
            out += ax.get_legend().get_texts()
        out += [lab for labs in _tick_labels(ax) for lab in labs]
    return [t for t in out if t.get_visible() and t.get_text()]


def _all_axes(fig):
    return [a for ax in fig.axes for a in (ax, *ax.child_axes)]


def _tick_labels(ax):
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = sorted(axis.get_view_interval())
        locs = axis.get_majorticklocs()
        labels = axis.get_majorticklabels()
        yield [lab for loc, lab in zip(locs, labels, strict=False)
               if lo - 1e-9 * abs(hi) <= loc <= hi + 1e-9 * abs(hi) and lab.get_visible() and lab.get_text()]


def assert_readable(fig, widths=(figures.COLUMN_IN, figures.WIDE_IN)):
    width = fig.get_size_inches()[0]
    assert any(abs(width - w) < 1e-6 for w in widths), width
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    texts = _drawn_texts(fig)
    assert texts
    for t in texts:
        assert t.get_fontsize() >= 5.5, (t.get_text(), t.get_fontsize())
        assert "$" not in t.get_text() and "1e" not in t.get_text(), t.get_text()  # no 10^x, no offsets
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= box.x0 - 1 and bb.x1 <= box.x1 + 1 and bb.y0 >= box.y0 - 1 and bb.y1 <= box.y1 + 1, \
            (t.get_text(), bb, box)
    for ax in _all_axes(fig):
        notes = [t.get_window_extent(renderer) for t in ax.texts if t.get_visible() and t.get_text()]
        for a, b in itertools.combinations(notes, 2):
            assert not a.shrunk(0.95, 0.9).overlaps(b.shrunk(0.95, 0.9)), (a, b)
        for labels in _tick_labels(ax):
            boxes = [lab.get_window_extent(renderer).shrunk(0.98, 0.98) for lab in labels]
            for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
                assert not a.overlaps(b), (labels[i].get_text(), labels[j].get_text())
    for axis in (ax.xaxis, ax.yaxis):
        assert not axis.get_offset_text().get_text()


@pytest.mark.parametrize("x, y", [("energy_per_inference_uJ", "latency_ms"), ("area_mm2", "latency_ms"),
                                  ("area_mm2", "energy_per_inference_uJ"), ("area_mm2", "edp_uJ_ms")])
def test_pareto_marks_the_front_at_column_width(x, y):
    pts = _points()
    front = pareto_front(pts, [x, y])
    best = pts.loc[pts["edp_uJ_ms"].idxmin()]
    fig = figures.pareto(pts, front, x, y, title=f"synthetic: {y} vs {x} ({len(pts)} points)", highlight=best,
                         highlight_label="best EDP")
    assert_readable(fig, (figures.COLUMN_IN,))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"Pareto front ({len(front)})" in legend and f"dominated ({len(pts) - len(front)})" in legend
    assert "best EDP" in legend and "OS" in legend and "WS" in legend
    ax = fig.axes[0]
    fx, fy = (figures.scale_for(pts[c], figures.AXES[c][1])[0] for c in (x, y))
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
    assert xlabel.endswith(("(mJ)", "(mm²)")) and ylabel.endswith(("(ms)", "(mJ)", "(J·ms)", "(mJ·ms)")), (xlabel,
                                                                                                          ylabel)
    # the front's points are drawn solid, the others faded, the selected point starred
    drawn = {gid: [c for c in ax.collections if c.get_gid() == gid] for gid in ("front", "dominated", "selected")}
    assert sum(len(c.get_offsets()) for c in drawn["front"]) == len(front)
    assert sum(len(c.get_offsets()) for c in drawn["dominated"]) == len(pts) - len(front)
    assert all(c.get_alpha() is None for c in drawn["front"]) and all(c.get_alpha() < 0.5 for c in drawn["dominated"])
    assert np.allclose(drawn["selected"][0].get_offsets()[0] * [fx, fy], [best[x], best[y]])
    # the labels name the selected design and the front's ends
    names = {t.get_text() for a in (ax, *ax.child_axes) for t in a.texts}  # in the zoomed inset, if any
    assert f"{best['rows']}x{best['cols']} {best['dataflow'].upper()}" in " ".join(names)
    assert 2 <= len(names) <= 3
    figures.plt.close(fig)


def test_units_are_scaled():
    assert figures.scale_for([87_385.3], "uJ") == (1e3, "mJ")
    assert figures.scale_for([5.0, 50.0], "uJ") == (1.0, "µJ")
    assert figures.scale_for([2e6, 9e7], "count") == (1e6, "M")
    assert figures.scale_for([0.5], "ms") == (1e-3, "µs")
    assert figures.scale_for([9.4, 258.0], "ms") == (1.0, "ms")
    assert figures.scale_for([8.2e5], "uJ_ms") == (1e3, "mJ·ms")
    assert figures.scale_for([], "bytes") == (1.0, "B")
    assert figures.axis_label("cycles", "") == "cycles" and figures.axis_label("area", "mm²") == "area (mm²)"


def test_save_writes_every_format_the_same_way_twice(tmp_path):
    pts = _points()
    for run in ("a", "b"):
        figures.save(figures.pareto(pts, x="area_mm2", y="latency_ms"), tmp_path / run / "f.png", figures.FORMATS)
    for ext, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF-")):
        a, b = (tmp_path / "a" / f"f.{ext}").read_bytes(), (tmp_path / "b" / f"f.{ext}").read_bytes()
        assert a.startswith(magic) and a == b, ext
    figures.save(figures.pareto(pts), tmp_path / "only.svg")
    assert sorted(p.name for p in tmp_path.glob("only.*")) == ["only.svg"]


def test_network_figures_are_readable_at_paper_width():
    """The per-layer charts of the largest zoo networks (ResNet-50: 170+ layers) name their layers
    without overlap; the roofline, the heatmap and the memory chart too."""
    for model, array in (("vgg16", "32x32"), ("resnet50", "16x16")):
        sim = accelsim.simulate(model, array=array)
        prof = accelsim.profile(model)
        for fig in (figures.layer_cycles(sim), figures.roofline(sim), figures.memory_and_params(prof)):
            assert_readable(fig)
            figures.plt.close(fig)
    grid = pd.DataFrame(np.linspace(0.02, 0.95, 36).reshape(6, 6), index=[8, 16, 32, 64, 128, 256],
                        columns=[8, 16, 32, 64, 128, 256])
    fig = figures.heatmap(grid, "Utilization over array shape: vgg16, WS, 256/256/128 KiB, 16 B/cycle")
    assert_readable(fig, (figures.COLUMN_IN,))
    figures.plt.close(fig)


def test_a_front_squeezed_into_a_corner_is_zoomed():
    """Three front points within 2% of a wide cloud: an inset draws them again and names them there."""
    rng = np.random.default_rng(3)
    cloud = pd.DataFrame({"energy_per_inference_uJ": rng.uniform(2e4, 9e4, 60), "latency_ms": rng.uniform(3, 30, 60)})
    front = pd.DataFrame({"energy_per_inference_uJ": [15_000.0, 15_200.0, 15_900.0], "latency_ms": [2.4, 2.1, 2.0]})
    pts = pd.concat([front, cloud], ignore_index=True).assign(rows=128, cols=128, dataflow="ws")
    fig = figures.pareto(pts, x="energy_per_inference_uJ", y="latency_ms", title="zoom", highlight=pts.iloc[1],
                         highlight_label="best EDP")
    ax = fig.axes[0]
    (inset,) = ax.child_axes
    assert sum(len(c.get_offsets()) for c in inset.collections if c.get_gid() == "front-zoom") == 3
    assert not ax.texts and len(inset.texts) == 3  # the names sit in the inset
    lo, hi = inset.get_xlim()
    assert lo < 15.0 and 15.9 < hi < 20  # mJ, around the front only
    assert_readable(fig, (figures.COLUMN_IN,))
    figures.plt.close(fig)
