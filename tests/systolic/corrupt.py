"""A reference pass with one value wrong: what ``simulate --check`` must report."""

from __future__ import annotations

from collections.abc import Callable

from accelsim.systolic import simulate as simulate_mod
from accelsim.systolic.reference import RefGemm


def corrupt_reference(monkeypatch, layer: str, edit: Callable[[RefGemm], RefGemm]) -> None:
    """Make ``simulate``'s reference pass return ``edit(g)`` for ``layer``'s first GEMM ``g``."""
    real = simulate_mod.reference_gemms

    def corrupted(net, batch, seed, **kw):
        refs = real(net, batch, seed, **kw)
        refs[layer] = (edit(refs[layer][0]),)
        return refs

    monkeypatch.setattr(simulate_mod, "reference_gemms", corrupted)
