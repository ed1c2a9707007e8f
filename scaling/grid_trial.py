"""One grid trial: take a point (or a re-training the seed rounds queued), scale, cost, check, train.

A point whose real cost breaks the rule (``grid.rule``) is recorded, with why, and pruned before
any training.  Under a FLOPs cost, FLOPs are checked before latency is measured, so an infeasible
point costs no timing; under a latency cost every point of the band is timed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import optuna

from nas.proxy.data import ProxyDataCache
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import train_proxy
from nas.studies.protocol import TrialProtocol
from nas.studies.study import FINISHED
from scaling.candidate import ScaledCandidate, latency_of, scaled_candidate
from scaling.compound import compound_multipliers, flops_constraint
from scaling.grid_points import GridSettings, Point, holds_cost, parse_point, point_key
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter

SEED_ATTR = "seed"
"""The user attribute holding the seed a trial trains at (the seed rounds' trials are queued with it)."""


def rule_verdict(member: ScaledCandidate, point: Point, settings: GridSettings) -> dict[str, object]:
    """The point's constraint, real cost ratio, and whether each rule (and the grid's) finds it feasible.

    ``cost_ok`` is None while the cost is unknown (a latency cost before the member is timed): it passes.
    """
    constraint = flops_constraint(*point)
    ratio = member.flops_ratio if settings.cost == "flops" else member.latency_ratio
    cost_ok = None if ratio is None else holds_cost(ratio, member.expected_ratio, settings.cost_tolerance)
    constraint_ok = abs(constraint - 2) <= settings.tolerance + 1e-12
    feasible = (cost_ok is not False or not settings.by_cost) and (constraint_ok or not settings.by_constraint)
    return {
        "constraint": constraint,
        "constraint_ok": constraint_ok,
        "cost_ratio": ratio,
        "cost_ok": cost_ok,
        "feasible": feasible,
    }


def infeasible_reason(verdict: dict[str, object], settings: GridSettings, expected: float) -> str:
    if settings.by_cost and not verdict["cost_ok"]:
        return (
            f"not trained: its {settings.cost} cost is {verdict['cost_ratio']:.2f}x the baseline's, outside "
            f"{expected:g}x +- {settings.cost_tolerance:.0%} (grid.cost_tolerance)"
        )
    return (
        f"not trained: alpha*beta^2*gamma^2 = {verdict['constraint']:.3f} is outside 2 +- {settings.tolerance:g} "
        "(grid.tolerance)"
    )


class PointEvaluator:
    """The grid's Optuna objective: take a point, scale the baseline, check its cost; the protocol does the rest."""

    def __init__(
        self,
        baseline: Genotype,
        phi: float,
        proxy: ProxyConfig,
        data: ProxyDataCache,
        target: Target,
        seed: int,
        grid: Sequence[Point],
        settings: GridSettings,
        protocol: TrialProtocol,
        latency: LatencyMeter | None = None,
    ) -> None:
        self.baseline, self.phi, self.proxy, self.data = baseline, phi, proxy, data
        self.target, self.seed, self.grid, self.protocol = target, seed, list(grid), protocol
        self.settings, self.latency = settings, latency

    def __call__(self, trial: optuna.Trial) -> float:
        key = trial.suggest_categorical("point", [point_key(p) for p in self.grid])
        seed = int(trial.user_attrs.get(SEED_ATTR, self.seed))
        point = parse_point(key)
        multipliers = compound_multipliers(*point, self.phi)
        resolution = self.data.sizes.resolution
        member = scaled_candidate(self.baseline, self.phi, multipliers, self.target, resolution)
        verdict = rule_verdict(member, point, self.settings)
        if verdict["feasible"] and self.latency is not None:
            member = replace(member, **latency_of(member.genotype, multipliers.resolution, self.baseline, self.latency))
            verdict = rule_verdict(member, point, self.settings)
        if seed != self.seed:
            verdict["feasible"] = True  # a re-training's point was judged feasible on its first pass
        attrs = {
            "point": key,
            "alpha": point[0],
            "beta": point[1],
            "gamma": point[2],
            SEED_ATTR: seed,
            **verdict,
            **{k: v for k, v in member.row().items() if k not in ("name", "phi", "blocks")},
            "blocks": member.blocks,
        }
        for name, value in attrs.items():
            trial.set_user_attr(name, value)
        if not verdict["feasible"]:
            trial.set_user_attr("reason", infeasible_reason(verdict, self.settings, member.expected_ratio))
            raise optuna.TrialPruned("infeasible")
        data = self.data.at(member.proxy_resolution)
        model_key = member.model_key if seed == self.seed else f"{member.model_key}@seed{seed}"
        return self.protocol.run(
            trial,
            model_key,
            lambda on_epoch: train_proxy(member.genotype, data, self.proxy, seed, on_epoch=on_epoch),
            lambda val_acc: (val_acc, {}),
            prune=seed == self.seed,  # a re-training is judged over its full budget
        )


def points_left(study: optuna.Study, grid: Sequence[Point]) -> int:
    """Grid points no trial has finished, failed in training or is running (0: this worker is done)."""
    return keys_left(study, "point", [point_key(p) for p in grid])


def trial_param(trial: optuna.trial.FrozenTrial, name: str) -> object:
    """A trial's parameter: suggested, or fixed when it was enqueued and not yet suggested (None: neither)."""
    return trial.params.get(name, trial.system_attrs.get("fixed_params", {}).get(name))


def keys_left(study: optuna.Study, param: str, keys: Sequence[str]) -> int:
    """Values of the categorical ``param`` that no trial has finished, failed in training or is running.

    A value whose trial was interrupted or lost its worker is left, so it is trained again.  A
    running trial that has not suggested ``param`` yet (another worker's trial, just created)
    holds one of the values left, so it is counted too: otherwise a second worker would see that
    value free, create one trial too many, and train some value twice.
    """
    taken, pending = set(), 0
    for t in study.get_trials(deepcopy=False):
        key = trial_param(t, param)
        failed_here = t.state == optuna.trial.TrialState.FAIL and "reason" in t.user_attrs
        if t.state == optuna.trial.TrialState.RUNNING and key is None:
            pending += 1
        elif t.state in (*FINISHED, optuna.trial.TrialState.RUNNING) or (
            failed_here and not t.user_attrs.get("interrupted")
        ):
            taken.add(key)
    return max(0, sum(key not in taken for key in keys) - pending)


def queue_retrains(study: optuna.Study, due: Sequence[tuple[str, int]]) -> int:
    """Enqueue the due (point, seed) re-trainings no trial holds yet; how many are waiting now.

    A pair is held by a waiting, running or finished trial, or one that failed in training (it is
    not tried again).  One a stop interrupted, or whose worker died, is free again.
    """
    held, waiting = set(), 0
    for t in study.get_trials(deepcopy=False):
        if SEED_ATTR not in t.user_attrs:
            continue
        pair = (trial_param(t, "point"), t.user_attrs[SEED_ATTR])
        failed = t.state == optuna.trial.TrialState.FAIL
        if not failed or ("reason" in t.user_attrs and not t.user_attrs.get("interrupted")):
            held.add(pair)
        waiting += t.state == optuna.trial.TrialState.WAITING
    for key, seed in due:
        if (key, seed) not in held:
            study.enqueue_trial({"point": key}, user_attrs={SEED_ATTR: seed}, skip_if_exists=False)
            waiting += 1
    return waiting
