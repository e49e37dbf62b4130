"""Workload description: layers, networks, the zoo, model-file importers and budgets."""

from pathlib import Path

from accelsim.errors import AccelsimError
from accelsim.workload.network import Network, Node
from accelsim.workload.zoo import ZOO


def resolve(model: str, strict: bool = False) -> Network:
    """A zoo name (``vgg16``) or a model file path (.csv, .yaml, .yml, .json)."""
    from accelsim.workload import importers, zoo

    if model in ZOO:
        net = zoo.get(model)
        return net.with_strict(True) if strict else net
    if Path(model).suffix.lower() in (".csv", ".yaml", ".yml", ".json") or Path(model).exists():
        return importers.load(model, strict)
    raise AccelsimError(f"model: '{model}' is neither a zoo model ({', '.join(ZOO)}) nor a model file")


__all__ = ["Network", "Node", "ZOO", "resolve"]
