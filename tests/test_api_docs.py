"""docs/api.md runs: every ```python block, in order, in one namespace, in a temporary folder."""

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), flags=re.DOTALL | re.MULTILINE)


def _is_cosim(block: str) -> bool:
    return "accelsim.cosim(" in block


def test_the_page_has_the_session():
    text = "\n".join(BLOCKS)
    for call in ("accelsim.load(", "accelsim.profile(", "accelsim.simulate(", ".energy()", "figures.save(",
                 "accelsim.sweep(", "accelsim.cosim("):
        assert call in text, call
    assert len(BLOCKS) >= 8


def test_every_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__docs__"}
    for i, block in enumerate(b for b in BLOCKS if not _is_cosim(b)):
        try:
            exec(compile(block, f"{PAGE.name}[block {i}]", "exec"), ns)
        except Exception as e:  # name the block that failed
            raise AssertionError(f"docs/api.md block {i} failed: {type(e).__name__}: {e}\n{block}") from e
    out = capsys.readouterr().out
    # The outputs quoted in the page's comments are what the code prints.
    for quoted in ("lenet5 13 layers, 61,706 parameters, input (1, 32, 32)",
                   "ProfileResult('lenet5', 13 layers, batch 1, fp32, 416,520 MACs)",
                   "SimulationResult('lenet5' on 16x16 OS, 8,071 cycles, utilization 20.2%)",
                   "['network', 'config', 'layers', 'totals'] fast", "EnergyResult('lenet5', 16.153 uJ/inference)",
                   "['layers.png', 'memory.png', 'roofline.png']", "9 points, 0 failed"):
        assert quoted in out, quoted
        assert f"# {quoted}" in PAGE.read_text()


@pytest.mark.rtl
def test_the_cosim_example_runs(tmp_path, monkeypatch):
    from accelsim.rtlsim.env import simulator_missing

    if simulator_missing("verilator"):
        pytest.skip(f"no Verilator: {simulator_missing('verilator')}")
    monkeypatch.chdir(tmp_path)
    (block,) = [b for b in BLOCKS if _is_cosim(b)]
    ns: dict = {"__name__": "__docs__"}
    exec(compile(block, f"{PAGE.name}[cosim]", "exec"), ns)
    assert "result" in ns and ns["result"].ok, "the example must run the co-simulation, not skip it"
    assert repr(ns["result"]) in block, "the page quotes what the example prints"
