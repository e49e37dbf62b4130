"""Workload description: layers, networks, the zoo, model-file importers and budgets."""

from pathlib import Path

from accelsim.errors import AccelsimError
from accelsim.workload.fold import bn_fold, fold_bn
from accelsim.workload.network import Network, Node
from accelsim.workload.zoo import ZOO

__all__ = ["ZOO", "Network", "Node", "bn_fold", "fold_bn", "resolve"]


def resolve(model: str, strict: bool = False, fold_bn: bool | None = None) -> Network:
    """A zoo name (``vgg16``) or a model file path (.csv, .yaml, .yml, .json, .onnx).

    ``fold_bn`` folds each BN into the conv before it: an ONNX file's BatchNormalization nodes by its
    importer (None: the default, on), other models' ``batchnorm2d`` layers with
    ``accelsim.workload.fold.fold_bn`` (None: off; the int8 forward folds on its own)."""
    from accelsim.workload import fold, importers, zoo

    if Path(model).suffix.lower() == ".onnx" and model not in ZOO:
        from accelsim.workload.onnx_import import load_onnx

        return load_onnx(model, strict, fold_bn is not False)
    if model in ZOO:
        net = zoo.get(model)
        net = net.with_strict(True) if strict else net
        return fold.fold_bn(net) if fold_bn else net
    if Path(model).suffix.lower() in (".csv", ".yaml", ".yml", ".json") or Path(model).exists():
        net = importers.load(model, strict)
        return fold.fold_bn(net) if fold_bn else net
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
