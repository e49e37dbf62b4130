"""Workload description: layers, networks, the zoo, model-file importers and budgets."""

from pathlib import Path

from accelsim.errors import AccelsimError
from accelsim.workload.network import Network, Node
from accelsim.workload.zoo import ZOO

__all__ = ["ZOO", "Network", "Node", "resolve"]


def resolve(model: str, strict: bool = False, fold_bn: bool | None = None) -> Network:
    """A zoo name (``vgg16``) or a model file path (.csv, .yaml, .yml, .json, .onnx).

    ``fold_bn`` (None: the default, on) folds an ONNX file's BatchNormalization nodes into the conv
    before them. Other models keep their ``batchnorm2d`` layers: ``fold_bn=True`` for them is refused
    (the int8 forward folds on its own)."""
    from accelsim.workload import importers, zoo

    if Path(model).suffix.lower() == ".onnx" and model not in ZOO:
        from accelsim.workload.onnx_import import load_onnx

        return load_onnx(model, strict, fold_bn is not False)
    if fold_bn:
        raise AccelsimError(f"fold_bn: --fold-bn applies to .onnx model files, not to '{model}'")
    if model in ZOO:
        net = zoo.get(model)
        return net.with_strict(True) if strict else net
    if Path(model).suffix.lower() in (".csv", ".yaml", ".yml", ".json") or Path(model).exists():
        return importers.load(model, strict)
    hint = _did_you_mean(model)
    raise AccelsimError(f"model: '{model}' is neither a zoo model ({', '.join(ZOO)}) nor a model file{hint}")


def _did_you_mean(model: str) -> str:
    """'; did you mean 'vgg16'?' for the closest zoo name, else ''. difflib's ratio, case-insensitive;
    ties go to the name with the same letters (a transposition: vgg61 -> vgg16, not vgg19)."""
    from difflib import SequenceMatcher

    typed = model.lower()

    def score(name: str) -> tuple[float, float]:
        name = name.lower()
        return SequenceMatcher(None, typed, name).ratio(), SequenceMatcher(None, sorted(typed), sorted(name)).ratio()

    best = max(ZOO, key=score)
    return f"; did you mean '{best}'?" if score(best)[0] >= 0.6 else ""
