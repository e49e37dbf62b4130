"""Export torchvision CNNs to ONNX and check accelsim's import of them against torch's own counts.

Needs a Python with torch and torchvision (never a dependency of accelsim: use a separate venv, see
docs/onnx.md); without them it prints why and exits 0. For each model (random, seeded weights,
eval mode, batch 1, 3x224x224, opset 17) and exporter (torch.onnx's legacy TorchScript exporter,
``dynamo=False``, and the default dynamo exporter), it writes ``OUT/<model>-<exporter>.onnx`` and checks:

- params: ``accelsim profile FILE --format json`` equals the file's conv/linear weight and bias
  elements (each Conv/Gemm node's initializers, an initializer shared behind Identity counting for
  each use), and for the legacy exporter also torchinfo's count less one per BN channel (BN's
  weight and bias go, the conv gains a bias);
- MACs: equal fvcore's conv+linear count and the count of forward hooks on every Conv2d/Linear;
- simulate: ``accelsim simulate FILE --array 32x32 --dataflow os|ws|is`` exits 0 (wall time of the
  whole command, and of the simulation alone in-process);
- float forward: ``accelsim.forward`` vs onnxruntime on a seeded random input, max abs error
  <= 1e-4 x max |output|.

``--stats random`` gives BN's weight and bias and every conv/linear bias seeded random values and
BN's running statistics measured on a batch of random images, before export: default-initialised
torchvision models fold BN to a zero bias, which the dynamo exporter then drops, so their bias
paths go untested, and GoogLeNet's output then hardly depends on its input (``input sensitivity``:
max |f(x) - f(x')| / max |f(x)| in torch, printed for every model). Exit status 1 if a check fails.

Usage: ``/path/to/venv/bin/python benchmarks/torchvision_onnx_check.py --out /tmp/tv-onnx`` (with
accelsim importable: installed in that venv or on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MODELS = ("resnet18", "mobilenet_v2", "squeezenet1_1", "googlenet")
EXPORTERS = ("legacy", "dynamo")
DATAFLOWS = ("os", "ws", "is")
TOLERANCE = 1e-4  # max abs error relative to max |output|


def build(torchvision: Any, torch: Any, name: str, seed: int, stats: str, transform_input: bool) -> Any:
    """The torchvision model, default-initialised under ``seed`` (googlenet without auxiliary heads,
    transform_input off as ``weights=None`` gives it unless asked), in eval mode."""
    torch.manual_seed(seed)
    kwargs = ({"aux_logits": False, "init_weights": True, "transform_input": transform_input}
              if name == "googlenet" else {})
    model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
    if stats == "random":
        gen = torch.Generator().manual_seed(seed + 1)
        bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            # running statistics as training leaves them: measured on a batch of random images, so each
            # BN normalises its input (with torchvision's initial ones GoogLeNet's output hardly depends on it)
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # a cumulative average over the calibration batch
            model.train()
            model(torch.randn(8, 3, 224, 224, generator=gen))
            model.eval()
    return model


def export(torch: Any, model: Any, x: Any, path: Path, exporter: str) -> str:
    """Write ``path``; returns the opset the file got (the dynamo exporter may keep a newer one)."""
    import onnx

    if exporter == "legacy":
        torch.onnx.export(model, (x,), str(path), opset_version=17, dynamo=False)
    else:
        torch.onnx.export(model, (x,), dynamo=True, opset_version=17).save(str(path))
    return ",".join(str(o.version) for o in onnx.load(str(path), load_external_data=False).opset_import
                    if o.domain in ("", "ai.onnx"))


def torch_counts(torch: Any, model: Any, x: Any) -> dict[str, int | None]:
    """Parameters (torchvision's, torchinfo's), BN channels, conv+linear MACs (hooks, fvcore)."""
    counts: dict[str, int | None] = {
        "torch_params": sum(p.numel() for p in model.parameters()),
        "bn_channels": sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)),
    }
    macs = [0]

    def hook(module, _inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            macs[0] += output.numel() * module.in_channels // module.groups * kh * kw
        else:
            macs[0] += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    counts["hook_macs"] = macs[0]
    try:
        import torchinfo

        counts["torchinfo_params"] = int(torchinfo.summary(model, input_data=x, verbose=0).total_params)
    except ImportError:
        counts["torchinfo_params"] = None
    try:
        from fvcore.nn import FlopCountAnalysis

        flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        by_op = flops.by_operator()
        counts["fvcore_macs"] = int(sum(v for k, v in by_op.items() if k in ("conv", "linear", "addmm", "matmul")))
    except ImportError:
        counts["fvcore_macs"] = None
    return counts


def file_params(path: Path) -> int:
    """Weight and bias elements of each Conv/Gemm node (through Identity aliases of initializers)."""
    import onnx

    model = onnx.load(str(path))
    sizes = {t.name: math.prod(t.dims) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Identity" and n.input[0] in sizes:
            sizes[n.output[0]] = sizes[n.input[0]]
    return sum(sizes[i] for n in model.graph.node if n.op_type in ("Conv", "Gemm") for i in n.input[1:3] if i)


def cli(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "accelsim", *args], capture_output=True, text=True, check=False)
    return run, time.perf_counter() - start


def check_file(path: Path, x: Any, reference: Any, array: str) -> dict[str, Any]:
    """accelsim's view of ``path``: CLI profile and simulate, in-process simulate times, forward vs ORT."""
    import numpy as np
    import onnxruntime as ort

    import accelsim

    row: dict[str, Any] = {}
    run, _ = cli("profile", str(path), "--format", "json")
    if run.returncode:
        row["error"] = f"profile: {run.stderr.strip()}"
        return row
    totals = json.loads(run.stdout)["totals"]
    row.update(params=totals["params"], macs=totals["macs"], layers=totals["layers"])
    net = accelsim.load(str(path))
    for flow in DATAFLOWS:
        run, wall = cli("simulate", str(path), "--array", array, "--dataflow", flow, "--format", "json")
        if run.returncode:
            row["error"] = f"simulate {flow}: {run.stderr.strip()}"
            return row
        start = time.perf_counter()
        sim = accelsim.simulate(net, array=array, dataflow=flow)
        row[f"{flow}_sim_s"] = time.perf_counter() - start
        row[f"{flow}_cli_s"] = wall
        row[f"{flow}_cycles"] = int(json.loads(run.stdout)["totals"]["cycles"])
        assert row[f"{flow}_cycles"] == int(sim.totals["cycles"])
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    ours = np.asarray(accelsim.forward(net, x)).reshape(theirs.shape)  # a vector is (N, F, 1, 1) in accelsim
    scale = float(np.abs(theirs).max())
    row["max_abs_err"] = float(np.abs(ours - theirs).max())
    row["max_abs_out"] = scale
    row["rel_err"] = row["max_abs_err"] / scale
    row["torch_rel_err"] = float(np.abs(ours - reference).max()) / scale
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="Folder for the .onnx files (outside the repository).")
    ap.add_argument("--models", default=",".join(MODELS), help="Comma-separated torchvision model names.")
    ap.add_argument("--exporters", default=",".join(EXPORTERS), help="legacy and/or dynamo.")
    ap.add_argument("--stats", choices=("default", "random"), default="default",
                    help="BN statistics and biases: torchvision's initial values, or seeded random ones.")
    ap.add_argument("--transform-input", action="store_true",
                    help="GoogLeNet with transform_input=True (its pretrained weights' default): a per-channel "
                         "affine of the input, imported as a batchnorm2d of 2 x 3 parameters.")
    ap.add_argument("--array", default="32x32", help="Array for simulate (ROWSxCOLS).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="Also write every number to this file.")
    args = ap.parse_args(argv)
    try:
        import torch
        import torchvision
    except ImportError as e:
        print(f"skipped: torch and torchvision are not importable here ({e}); run this script with a venv that "
              "has them (docs/onnx.md)")
        return 0
    import numpy as np

    args.out.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(args.seed).standard_normal((1, 3, 224, 224)).astype(np.float32)
    rows, failed = [], False
    for name in args.models.split(","):
        affine = args.transform_input and name == "googlenet"
        model = build(torchvision, torch, name, args.seed, args.stats, affine)
        counts = torch_counts(torch, model, torch.from_numpy(x))
        with torch.no_grad():
            reference = model(torch.from_numpy(x)).numpy()
            other = model(torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(args.seed + 2))).numpy()
        # how much the output depends on the input: a forward check means little when it hardly does
        counts["input_sensitivity"] = float(abs(other - reference).max() / abs(reference).max())
        for exporter in args.exporters.split(","):
            tags = ("-ti" if affine else "") + ("-rs" if args.stats == "random" else "")
            path = args.out / f"{name}-{exporter}{tags}.onnx"
            row: dict[str, Any] = {"model": name + ("+ti" if affine else ""), "exporter": exporter, "stats": args.stats,
                                   **counts}
            try:
                row["opset"] = export(torch, model, torch.from_numpy(x), path, exporter)
            except Exception as e:  # noqa: BLE001 - an exporter failure is a result to report, not a crash
                row["error"] = f"export: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                rows.append(row)
                print(f"{name} {exporter}: {row['error']}")
                continue
            row["file_params"] = file_params(path) + (6 if affine else 0)  # transform_input's batchnorm2d
            row.update(check_file(path, x, reference, args.array))
            problems = []
            if "error" in row:
                problems.append(row["error"])
            else:
                if row["params"] != row["file_params"]:
                    problems.append(f"params {row['params']:,} != file's {row['file_params']:,}")
                expected = (row["torchinfo_params"] or row["torch_params"]) - row["bn_channels"] + (6 if affine else 0)
                if exporter == "legacy" and row["params"] != expected:
                    problems.append(f"params {row['params']:,} != torchinfo less BN channels {expected:,}")
                for key in ("hook_macs", "fvcore_macs"):
                    if row[key] is not None and row["macs"] != row[key]:
                        problems.append(f"macs {row['macs']:,} != {key} {row[key]:,}")
                if row["rel_err"] > TOLERANCE:
                    problems.append(f"forward error {row['rel_err']:.2e} x max|out| > {TOLERANCE:g}")
            row["problems"] = problems
            failed |= bool(problems)
            rows.append(row)
            _print_row(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if failed else 0


def _print_row(row: dict[str, Any]) -> None:
    head = f"{row['model']:<14}{row['exporter']:<7}opset {row.get('opset', '?'):<3}"
    if "error" in row:
        print(f"{head} ERROR {row['error']}")
        return
    ti, fv = row["torchinfo_params"], row["fvcore_macs"]
    print(f"{head} params {row['params']:>11,} (file {row['file_params']:,}; torchinfo "
          f"{'-' if ti is None else f'{ti:,}'} - BN {row['bn_channels']:,})  macs {row['macs']:>14,} (fvcore "
          f"{'-' if fv is None else f'{fv:,}'}, hooks {row['hook_macs']:,})")
    times = "  ".join(f"{f} {row[f'{f}_sim_s']:.3f}s/{row[f'{f}_cli_s']:.2f}s" for f in DATAFLOWS)
    print(f"{'':<28} simulate (sim/CLI) {times}  |ours-ort| {row['max_abs_err']:.2e} = {row['rel_err']:.2e} x "
          f"max|out| ({row['max_abs_out']:.3g}); vs torch {row['torch_rel_err']:.2e}; input sensitivity "
          f"{row['input_sensitivity']:.2g}  "
          f"{'OK' if not row['problems'] else 'FAIL: ' + '; '.join(row['problems'])}")


if __name__ == "__main__":
    sys.exit(main())
