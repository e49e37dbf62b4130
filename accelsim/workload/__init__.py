"""Workload description: layers, networks, the zoo, model-file importers and budgets."""

from pathlib import Path

from accelsim.errors import AccelsimError
from accelsim.workload.fold import bn_fold, fold_bn
from accelsim.workload.network import Network, Node, parse_input_shape
from accelsim.workload.zoo import ZOO

__all__ = ["ZOO", "Network", "Node", "bn_fold", "fold_bn", "resolve"]


def resolve(model: str, strict: bool = False, fold_bn: bool | None = None, input_shape=None) -> Network:
    """A zoo name (``vgg16``) or a model file path (.csv, .yaml, .yml, .json, .onnx).

    ``input_shape`` (a shape or ``"3x32x32"``) runs a zoo model on another input size
    (``zoo.get``); a model file's input shape is its own.

    ``fold_bn`` folds each BN into the conv before it: an ONNX file's BatchNormalization nodes by its
    importer (None: the default, on), other models' ``batchnorm2d`` layers with
    ``accelsim.workload.fold.fold_bn`` (None: off; the int8 forward folds on its own)."""
    from accelsim.workload import fold, importers, zoo

    is_file = Path(model).suffix.lower() in (".onnx", ".csv", ".yaml", ".yml", ".json") or Path(model).exists()
    if input_shape is not None and model not in ZOO and is_file:
        parse_input_shape(input_shape)
        raise AccelsimError(f"model: {model}: an input size applies to zoo models only; a model file sets "
                            "its own input shape")
    if Path(model).suffix.lower() == ".onnx" and model not in ZOO:
        from accelsim.workload.onnx_import import load_onnx

        return load_onnx(model, strict, fold_bn is not False)
    if model in ZOO:
        net = zoo.get(model, input_shape)
        net = net.with_strict(True) if strict else net
        return fold.fold_bn(net) if fold_bn else net
    if is_file:
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
