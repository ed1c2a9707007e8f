"""``python -m nas.train model=SPEC``: train one genotype on the proxy task, report its accuracy.

``train=final`` trains it with the long recipe instead (``nas.deploy.final``): a checkpoint after every
epoch, ``train.resume=true`` after a kill, and ``model.pt`` at the end.  Writes ``summary.json``
in the run directory.  Ctrl-C or SIGTERM stop training at the next step; the summary is still
written (status ``interrupted``) and the exit status is 130 / 143.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nas.cli.app import hydra_entry, run_dir
from nas.cli.references import resolve_model
from nas.cli.schema import TrainCommand
from nas.deploy.final import CHECKPOINT, FinalRun, train_final
from nas.deploy.model_file import ModelFile, save_model
from nas.proxy.data import ProxyData, ProxyDataCache
from nas.proxy.device import use_device
from nas.proxy.stopping import guarded
from nas.proxy.trainer import ProgressCallback, ProxyConfig, ProxyResult, train_proxy
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype

PROG = "python -m nas.train"


def progress_bar(name: str, epochs: int, enabled: bool) -> tuple[tqdm, ProgressCallback]:
    """A step progress bar over all epochs, and the trainer callback that advances it."""
    bar = tqdm(unit="step", disable=not enabled, desc=name)

    def progress(epoch: int, step: int, steps: int) -> None:
        if bar.total is None:
            bar.reset(total=steps * epochs)
        bar.set_description(f"{name} epoch {epoch + 1}/{epochs}", refresh=False)
        bar.update(1)

    return bar, progress


def write_summary(
    out: Path, genotype: Genotype, result: dict[str, Any], target: Target, extra: dict[str, Any]
) -> dict[str, Any]:
    """``out/summary.json``: the model, the run's ``result``, its cost at the target input, then ``extra``."""
    params, flops = target.cost(genotype)
    summary = {"model": genotype.name, "blocks": format_blocks(genotype), **result}
    summary.update(params=params, flops=flops, target=target.input(), **extra)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def train_and_report(
    genotype: Genotype,
    data: ProxyData,
    proxy: ProxyConfig,
    target: Target,
    seed: int,
    out: Path,
    progress: bool = True,
    config: dict[str, Any] | None = None,
    dataset: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], int]:
    """Train ``genotype``, write ``out/summary.json`` (with ``config`` and the ``dataset``'s description)."""
    bar, on_step = progress_bar(genotype.name, proxy.epochs, progress)
    results: list[ProxyResult] = []

    def work() -> None:
        on_epoch = lambda epoch, acc: bar.set_postfix_str(f"val_acc {acc:.4f}")  # noqa: E731
        results.append(train_proxy(genotype, data, proxy, seed, on_epoch, evaluate_test=True, progress=on_step))

    def write() -> dict[str, Any]:
        bar.close()
        result = results[0] if results else ProxyResult("interrupted", reason="stopped by a signal")
        trained = {k: v for k, v in result.to_dict().items() if k not in ("epochs_run", "batch_size", "val_outcomes")}
        extra = {"dataset": dataset or {"name": data.name}, "seed": seed, "config": config or {}}
        return write_summary(out, genotype, trained, target, extra)

    print(
        f"training {genotype.name} on {data.name} ({len(data.train)} images at {data.resolution}px, "
        f"{proxy.epochs} epochs) on {data.train.device}",
        flush=True,
    )
    return guarded(work, write, "training stopped", tell)


def tell(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def run(cfg: TrainCommand) -> dict[str, Any]:
    """Train one genotype (the proxy task, or ``train=final``) and write ``summary.json`` in the run directory."""
    genotype = resolve_model(cfg.model, cfg.study.storage)
    device = use_device(cfg.device, cfg.threads)
    raw = cfg.dataset.load(cfg.proxy.sizes.resolution)
    data = ProxyDataCache(raw, cfg.proxy.sizes, device).at()
    out = run_dir()
    out.mkdir(parents=True, exist_ok=True)
    config, dataset = dataclasses.asdict(cfg), cfg.dataset.describe(raw)
    if cfg.train.mode == "final":
        final = FinalRun(genotype, data, cfg.proxy, cfg.seed, dataset)
        summary, status = final_and_report(final, cfg.target, out, cfg.train.resume, cfg.progress, config)
    else:
        args = (genotype, data, cfg.proxy, cfg.target, cfg.seed, out, cfg.progress, config, dataset)
        summary, status = train_and_report(*args)
    print(describe(summary, out / "summary.json"))
    if status:
        sys.exit(status)
    return summary


def final_and_report(
    run: FinalRun, target: Target, out: Path, resume: bool, progress: bool, config: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """The final training of ``run`` into ``out``: ``checkpoint.pt`` every epoch, then ``model.pt`` and the summary."""
    bar, on_step = progress_bar(run.genotype.name, run.config.epochs, progress)
    models: list[ModelFile] = []

    def on_epoch(record: dict[str, Any]) -> None:
        bar.set_postfix_str(f"loss {record['loss']:.3f} val_acc {record['val_acc']:.4f}")
        if not progress:
            print(
                f"epoch {record['epoch']}/{run.config.epochs}: loss {record['loss']:.4f}, "
                f"val_acc {record['val_acc']:.4f} ({record['seconds']:.0f} s)",
                flush=True,
            )

    def work() -> None:
        models.append(train_final(run, out, resume, on_step, on_epoch))

    def write() -> dict[str, Any]:
        bar.close()
        result: dict[str, Any] = {"mode": "final"}
        if models:
            model = dataclasses.replace(models[0], config=config)
            save_model(model, out / "model.pt")
            result.update(status="ok", **model.metrics, device=str(run.data.train.device))
        else:
            result.update(status="interrupted", reason=f"stopped; train.resume=true continues from {out / CHECKPOINT}")
        extra = {"dataset": run.dataset, "seed": run.seed, "config": config}
        return write_summary(out, run.genotype, result, target, extra)

    print(
        f"final training of {run.genotype.name} on {run.data.name} ({len(run.data.train)} images at "
        f"{run.data.resolution}px, {run.config.epochs} epochs) on {run.data.train.device} -> {out}",
        flush=True,
    )
    return guarded(work, write, "the finished epochs are kept in checkpoint.pt (train.resume=true)", tell)


def describe(summary: dict[str, Any], path: Path) -> str:
    name = summary["model"]
    if summary["status"] != "ok":
        return f"{name}: training {summary['status']}: {summary['reason']} -> {path}"
    if summary.get("mode") == "final":
        return (
            f"{name}: test_acc {summary['test_acc']:.4f} (val_acc {summary['val_acc']:.4f}) after {summary['epochs']} "
            f"epochs on {summary['dataset']['name']} ({summary['seconds']:.0f} s on {summary['device']}); "
            f"target cost {summary['params']:,} params, {summary['flops'] / 1e6:.1f} MFLOPs -> {path.parent / 'model.pt'}"
        )
    return (
        f"{name}: val_acc {summary['val_acc']:.4f}, test_acc {summary['test_acc']:.4f} on {summary['dataset']['name']} "
        f"({summary['seconds']:.1f} s, {summary['images_per_s']:.0f} img/s on {summary['device']}); "
        f"target cost {summary['params']:,} params, {summary['flops'] / 1e6:.1f} MFLOPs -> {path}"
    )


main = hydra_entry(PROG, "train", run)

if __name__ == "__main__":
    main()
