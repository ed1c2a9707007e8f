"""``python -m nas.search``: MnasNet-style search for the baseline network, driven by Optuna.

Each trial suggests a genotype from the factorized space, counts its params and FLOPs at the
target input, reuses the result of an identical genotype already in the study, or trains it
on the proxy (reporting per-epoch validation accuracy to the pruner) and scores it with the
reward.  ``search.n_trials`` is the study's total: running the same command again continues
the study and trains only what is missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig

from nas import config as conf
from nas.app import RunStopped, guarded, hydra_entry, run_dir, to_container
from nas.data import ProxyData
from nas.objective import Reward
from nas.plots import plot_search
from nas.samplers import make_sampler
from nas.study import (
    FINISHED,
    StorageSettings,
    claimed_by,
    count_finished,
    count_started,
    find_result,
    open_storage,
    open_study,
    report_epoch,
    reuse_result,
    run_trials,
    trials_frame,
)
from nas.train import ProxyConfig, resolve_device, train_proxy
from search_spaces.codec import format_blocks, parse_blocks, save_genotype
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace, mnasnet_space
from search_spaces.spec import resolve_spec

PROG = "python -m nas.search"
TRIAL_COLUMNS = ["blocks", "params", "flops", "val_acc", "reward", "seconds", "duplicate_of", "reason"]
PRUNERS = ("median", "hyperband", "none")


class TooManyFailures(RunStopped):
    pass


@dataclass(frozen=True)
class SearchSettings:
    sampler: str = "tpe"
    pruner: str = "median"
    n_trials: int = 20
    max_flops: float | None = None
    enqueue_reference: bool = True
    max_failures: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise ValueError(f"search.n_trials must be an integer >= 1, got {self.n_trials!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"unknown search.pruner {self.pruner!r}; allowed: {', '.join(PRUNERS)}")
        if self.max_flops is not None and not self.max_flops > 0:
            raise ValueError(f"search.max_flops must be > 0 or null, got {self.max_flops!r}")
        if self.max_failures < 1:
            raise ValueError(f"search.max_failures must be >= 1, got {self.max_failures!r}")


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    return optuna.pruners.NopPruner()


def space_identity(space: MnasNetSpace) -> dict[str, Any]:
    """What makes two runs' spaces the same (stored with the study, checked on resume)."""
    return {
        "reference": format_blocks(space.reference),
        "stem_head_act": [space.reference.stem, space.reference.head, space.reference.activation],
        "choices": space.distributions(),
    }


class Evaluator:
    """The Optuna objective: one genotype per trial, deduped, capped, trained, scored."""

    def __init__(
        self,
        space: MnasNetSpace,
        data: ProxyData,
        proxy: ProxyConfig,
        target: conf.Target,
        reward: Reward,
        settings: SearchSettings,
        seed: int,
    ) -> None:
        self.space, self.data, self.proxy, self.target = space, data, proxy, target
        self.reward, self.settings, self.seed = reward, settings, seed
        self.consecutive_failures = 0

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        genotype = self.space.suggest(trial)
        blocks = format_blocks(genotype)
        trial.set_user_attr("blocks", blocks)
        params, flops = self.target.cost(genotype)
        trial.set_user_attr("params", params)
        trial.set_user_attr("flops", flops)
        if self.settings.max_flops is not None and flops > self.settings.max_flops:
            trial.set_user_attr(
                "reason", f"{flops / 1e6:.1f} MFLOPs over search.max_flops {self.settings.max_flops / 1e6:.1f}M"
            )
            raise optuna.TrialPruned("over the FLOPs cap")
        previous = find_result(trial.study, "blocks", blocks, exclude=trial.number)
        if previous is not None:
            return reuse_result(trial, previous, ("val_acc", "reward", "seconds"))
        running = claimed_by(trial.study, "blocks", blocks, trial.number)
        if running is not None:
            trial.set_user_attr("reason", f"same genotype as running trial {running.number}")
            raise optuna.TrialPruned("another worker is training this genotype")
        start = time.perf_counter()
        result = train_proxy(genotype, self.data, self.proxy, self.seed, on_epoch=self._reporter(trial, flops))
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
        if not result.ok:
            trial.set_user_attr("reason", result.reason)
            self.consecutive_failures += 1
            return math.nan  # Optuna records a NaN objective as a FAIL trial; the search goes on
        self.consecutive_failures = 0
        trial.set_user_attr("val_acc", result.val_acc)
        if self.reward.multi_objective:
            return result.val_acc, float(flops)
        reward = self.reward(result.val_acc, flops)
        trial.set_user_attr("reward", reward)
        return reward

    def _reporter(self, trial: optuna.Trial, flops: int):
        def on_epoch(epoch: int, val_acc: float) -> None:
            if self.reward.multi_objective:
                return  # Optuna prunes single-objective studies only
            if report_epoch(trial, epoch, self.proxy.epochs, val_acc):
                trial.set_user_attr("val_acc", val_acc)
                trial.set_user_attr("reward", self.reward(val_acc, flops))
                trial.set_user_attr("reason", f"pruned after epoch {epoch + 1} at val_acc {val_acc:.4f}")
                raise optuna.TrialPruned()

        return on_epoch


def run_search(study: optuna.Study, evaluator: Evaluator, n_trials: int, progress: bool = True) -> None:
    """Run trials until the study holds ``n_trials`` finished ones (shared with other workers)."""

    def status() -> str | None:
        best = best_trial(study)
        return f"best reward {best.user_attrs['reward']:.4f}" if best and "reward" in best.user_attrs else None

    def check() -> None:
        if evaluator.consecutive_failures > evaluator.settings.max_failures:
            raise TooManyFailures(
                f"{evaluator.consecutive_failures} candidates failed in a row (search.max_failures="
                f"{evaluator.settings.max_failures}); last reason: {last_failure(study)}"
            )

    # Running trials of other workers count, so that together the workers stop at n_trials.
    run_trials(study, evaluator, lambda: n_trials - count_started(study), n_trials, progress, status, check)


def last_failure(study: optuna.Study) -> str:
    failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
    return failed[-1].user_attrs.get("reason", "unknown") if failed else "unknown"


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """Highest reward among COMPLETE trials (multi-objective: highest accuracy on the front)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)) if t.values]
    if not complete:
        return None
    if len(study.directions) > 1:
        front = study.best_trials
        return max(front, key=lambda t: (t.values[0], -t.values[1])) if front else None
    return max(complete, key=lambda t: (t.values[0], -t.number))


def write_outputs(
    study: optuna.Study,
    out: Path,
    storage_url: str,
    reference: Genotype,
    reference_cost: tuple[int, int],
    reward: Reward,
) -> dict[str, Any]:
    """trials.csv, best.yaml, summary.json and search.png in ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    frame = trials_frame(trials, TRIAL_COLUMNS)
    frame.to_csv(out / "trials.csv", index=False)
    best = best_trial(study)
    ref_trial = next(
        (
            t
            for t in trials
            if t.user_attrs.get("blocks") == format_blocks(reference) and t.state == optuna.trial.TrialState.COMPLETE
        ),
        None,
    )
    summary: dict[str, Any] = {
        "study": study.study_name,
        "storage": storage_url,
        "objective": reward.describe(),
        "n_trials": len(trials),
        "n_complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials),
        "n_pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
        "n_failed": sum(t.state == optuna.trial.TrialState.FAIL for t in trials),
        "n_trained": sum(
            t.state in FINISHED and "duplicate_of" not in t.user_attrs and "val_acc" in t.user_attrs for t in trials
        ),
        "best": None,
        "reference": {
            "name": reference.name,
            "blocks": format_blocks(reference),
            "params": reference_cost[0],
            "flops": reference_cost[1],
            "val_acc": ref_trial.user_attrs.get("val_acc") if ref_trial else None,
            "reward": ref_trial.user_attrs.get("reward") if ref_trial else None,
        },
    }
    if best is not None:
        metrics = {k: best.user_attrs.get(k) for k in ("params", "flops", "val_acc", "reward")}
        metrics["trial"] = best.number
        summary["best"] = {"blocks": best.user_attrs["blocks"], **metrics}
        genotype = dataclasses.replace(
            reference, blocks=parse_blocks(best.user_attrs["blocks"]), name=f"{study.study_name}_best"
        )
        save_genotype(genotype, out / "best.yaml", metrics={**metrics, "study": study.study_name})
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_search(frame, out / "search.png", reward, summary["reference"], title=study.study_name)
    return summary


def describe_best(summary: dict[str, Any]) -> str:
    """The plain-words ending of a search."""
    best, ref = summary["best"], summary["reference"]
    if best is None:
        return f"No candidate finished in study {summary['study']!r}."
    lines = [
        f"Best of {summary['n_trials']} trials in study {summary['study']!r} "
        f"({summary['n_trained']} trained, {summary['n_pruned']} pruned, {summary['n_failed']} failed), trial {best['trial']}:",
        *[f"  {b}" for b in best["blocks"]],
        f"  {best['params']:,} params, {best['flops'] / 1e6:.1f} MFLOPs at the target input, "
        f"proxy val_acc {best['val_acc']:.4f}, reward {best['reward']:.4f}"
        if best.get("reward") is not None
        else f"  {best['params']:,} params, {best['flops'] / 1e6:.1f} MFLOPs, proxy val_acc {best['val_acc']:.4f}",
    ]
    if ref.get("val_acc") is not None and best.get("reward") is not None:
        verdict = (
            "beats"
            if best["reward"] > ref["reward"]
            else "matches"
            if best["reward"] == ref["reward"]
            else "does not beat"
        )
        lines.append(
            f"  It {verdict} the reference {ref['name']} (reward {ref['reward']:.4f}, val_acc {ref['val_acc']:.4f}, "
            f"{ref['params']:,} params, {ref['flops'] / 1e6:.1f} MFLOPs): "
            f"{best['flops'] / ref['flops']:.2f}x its FLOPs, {best['val_acc'] - ref['val_acc']:+.4f} accuracy."
        )
    return "\n".join(lines)


def run(cfg: DictConfig) -> dict[str, Any]:
    settings = conf.fields_of(SearchSettings, cfg.search)
    if not 0 <= cfg.worker < cfg.workers:
        raise ValueError(f"worker must be in [0, {cfg.workers - 1}] for workers={cfg.workers}, got {cfg.worker}")
    reward = Reward(cfg.objective.mode, float(cfg.objective.target_flops), float(cfg.objective.w))
    reference = resolve_spec(cfg.space.reference)
    space = mnasnet_space(reference)
    proxy = conf.fields_of(ProxyConfig, cfg.proxy)
    sizes = conf.data_sizes(cfg.proxy)
    target = conf.target(cfg.target)
    sampler = make_sampler(settings.sampler, space.distributions(), cfg.seed + cfg.worker, reward.multi_objective)
    pruner = make_pruner(settings.pruner, proxy.epochs)
    device = resolve_device(conf.worker_device(cfg.device, cfg.worker))
    conf.set_threads(conf.worker_threads(cfg.threads, cfg.workers))
    storage_settings = conf.fields_of(StorageSettings, {**cfg.study, "url": cfg.study.storage})
    storage = open_storage(storage_settings)
    identity = {
        "command": "nas.search",
        "space": space_identity(space),
        "objective": dataclasses.asdict(reward),
        "target": dataclasses.asdict(target),
    }
    study, created = open_study(storage, cfg.study.name, reward.directions, sampler, pruner, identity)
    print(
        f"study {study.study_name!r} on {storage_settings.url} ({'new' if created else 'resumed'}, "
        f"{count_finished(study)}/{settings.n_trials} finished); space: {len(space.blocks)} blocks around "
        f"{reference.name}, {space.size():,} genotypes ({space.size():.3e}); objective: {reward.describe()}; "
        f"sampler {settings.sampler}, pruner {settings.pruner}; device {device}",
        flush=True,
    )
    if settings.enqueue_reference and created:
        study.enqueue_trial(space.encode(reference), skip_if_exists=True)
    study.set_user_attr("proxy", dataclasses.asdict(proxy))
    data = conf.proxy_data(conf.raw_dataset(cfg.dataset), sizes, device)
    evaluator = Evaluator(space, data, proxy, target, reward, settings, cfg.seed)
    out = run_dir()
    (out / "config.json").write_text(json.dumps(to_container(cfg), indent=2) + "\n")
    summary, status = guarded(
        PROG,
        lambda: run_search(study, evaluator, settings.n_trials, cfg.progress),
        lambda: write_outputs(study, out, storage_settings.url, reference, target.cost(reference), reward),
    )
    print(describe_best(summary))
    print(f"outputs: {out}")
    if status:
        sys.exit(status)
    return summary


main = hydra_entry(PROG, "search", run)

if __name__ == "__main__":
    main()
