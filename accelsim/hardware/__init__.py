"""The hardware vocabulary every layer shares: ``ArrayConfig`` (one config object for the Python
models and the RTL parameters) and the fixed-width arithmetic of the array (``arith``)."""

from accelsim.hardware.config import DATAFLOWS, ArrayConfig, ConfigError, parse_array

__all__ = ["DATAFLOWS", "ArrayConfig", "ConfigError", "parse_array"]
