"""A layer's mapping: the choices the contract leaves open for one GEMM (docs/microarchitecture.md).

The array runs any fold of any dataflow (the RTL takes the dataflow with every fold), so each layer
may pick its own:

- ``dataflow``: OS, WS or IS (which operand is pinned in the PEs, which axis is streamed);
- ``order``: the fold loops, outermost first. The two tile loops may come in either order; in WS/IS
  the k-tile loop stays innermost (the k-tiles of one C block are consecutive folds, so its partial
  sums live in the ofmap SRAM for one chunk only). OS ``m>n`` or ``n>m``; WS ``m>n>k`` (the
  contract's default: m-chunk outermost) or ``n>m>k``; IS ``n>m>k`` (default) or ``m>n>k``;
- ``chunk``: S, the streamed-axis chunk of WS/IS, from 1 to the most the ofmap SRAM holds
  (``folds.stream_chunk``); ``None`` means that most. OS streams all of K (no chunk).

Which operand blocks stay resident in the ifmap/filter SRAMs follows from the order and S: the
outermost loop's operand is reused block by block, the other one whole, each kept when its
footprint fits (``memory.traffic``). ``Mapping.fixed(cfg)`` is the contract's default mapping for a
config, the one ``--mapper fixed`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from accelsim.hardware.config import DATAFLOWS, ConfigError
from accelsim.mapping.dataflow import Dataflow, get


@cache  # three dataflows; every Mapping validates its order against these
def orders(dataflow: str | Dataflow) -> tuple[tuple[str, ...], ...]:
    """The legal fold orders of ``dataflow``, the contract's default first."""
    df = get(dataflow)
    outer = df.order[:2]
    swapped = (outer[1], outer[0], *df.order[2:])
    return (df.order, swapped)


@dataclass(frozen=True)
class Mapping:
    """One layer's mapping: ``dataflow``, fold ``order`` (outermost first) and WS/IS chunk ``chunk``.

    Validated on creation; ``chunk`` is checked against a config's ofmap SRAM where the folds are
    made (``mapping.folds``), as it depends on the array.
    """

    dataflow: str
    order: tuple[str, ...] | None = None
    chunk: int | None = None

    def __post_init__(self) -> None:
        if self.dataflow not in DATAFLOWS:
            raise ConfigError("mapping.dataflow", f"must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        legal = orders(self.dataflow)
        order = legal[0] if self.order is None else tuple(self.order)
        if order not in legal:
            allowed = " or ".join(">".join(o) for o in legal)
            got = ">".join(map(str, order))
            raise ConfigError("mapping.order", f"{self.dataflow.upper()} allows {allowed}, got {got}")
        object.__setattr__(self, "order", order)
        if self.chunk is not None:
            if not get(self.dataflow).chunked:
                raise ConfigError("mapping.chunk", "OS streams all of K: no chunk")
            if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 1:
                raise ConfigError("mapping.chunk", f"must be a positive integer, got {self.chunk!r}")

    @property
    def flow(self) -> Dataflow:
        return get(self.dataflow)

    @property
    def default_order(self) -> bool:
        """The contract's default loop order for the dataflow."""
        return self.order == self.flow.order

    @classmethod
    def fixed(cls, dataflow: str) -> Mapping:
        """The contract's default mapping of a dataflow (default order, the most S the SRAM holds)."""
        return cls(dataflow)

    def describe(self, chunk: int | None = None) -> str:
        """Readable form, e.g. ``WS m>n>k S=64`` (``chunk``: the S the folds actually use, the chunk capped
        at the streamed axis, ``folds.used_chunk``; without it, ``self.chunk``)."""
        s = chunk if chunk is not None else self.chunk
        order = ">".join(self.order or ())
        return f"{self.dataflow.upper()} {order}" + (f" S={s}" if self.flow.chunked and s is not None else "")


def as_mapping(mapping: Mapping | str | Dataflow | None, default: str | None = None) -> Mapping:
    """A Mapping from itself, a dataflow (its fixed mapping) or None (``default``'s fixed mapping: a config's
    dataflow), so every API that took ``dataflow=`` takes a mapping too."""
    if isinstance(mapping, Mapping):
        return mapping
    if mapping is None:
        if default is None:
            raise ConfigError("mapping", "no mapping given and no dataflow to default to")
        mapping = default
    return Mapping.fixed(get(mapping).name)
