"""The figures the READMEs quote are the figures their linked records hold.

Each entry binds one quoted phrase to the record it cites: the phrase is rebuilt from the record
and must appear, word for word, in the document.  A record remade without its prose (or prose
edited without its record) fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scaling.equal_cost import METHODS
from tests.benchmarks.scaling_figures import (
    DEFAULT_FAMILY,
    TEXTURE_METHODS,
    TEXTURES,
    WIDER_DATA,
    WIDTH,
    budget_family,
    budget_step,
    chosen_triples,
    family_quotes,
    scaling_row,
    stability,
    step_text,
)
from tests.benchmarks.supernet_figures import (
    scoring_setting,
    search_pair,
    setting_row,
    supernet_held_out,
    supernet_row,
    supernet_search_row,
)

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
README, BENCHMARKS = ROOT / "README.md", ROOT / "benchmarks" / "README.md"


def record(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / name).read_text())


def search_row(r: dict[str, Any]) -> str:
    s = r["search"]
    best, ref = s["best"], s["reference"]
    return (
        f"{s['n_trials']} candidates in {s['seconds']:.0f} s; best {best['flops'] / ref['flops']:.2f}× B0's FLOPs, "
        f"{best['val_acc'] - ref['val_acc']:+.3f} proxy accuracy"
    )


def pipeline_row(r: dict[str, Any]) -> str:
    s = r["pipeline"]["stage_seconds"]
    return (
        f"search {s['search']:.0f} s, grid {s['grid']:.0f} s, family {s['family']:.0f} s, "
        f"comparison {s['compare']:.0f} s"
    )


def final_row(r: dict[str, Any], key: str, name: str) -> str:
    run = r["runs"][key]
    return (
        f"| {name} | {run['params']:,} | {run['flops'] / 1e6:.1f} | {'**' * (key == 'search_best')}"
        f"{run['test_acc']:.4f}{'**' * (key == 'search_best')} | {run['val_acc']:.4f} | {run['seconds']:,.0f} s |"
    )


def short_e(value: float) -> str:
    """``3.9e-6`` (Python writes ``3.9e-06``)."""
    return f"{value:.1e}".replace("e-0", "e-")


def export_row(r: dict[str, Any], model: str, name: str) -> str:
    m = next(m for m in r["models"] if m["model"] == model)
    small, large = m["latency"]["32px"], m["latency"]["224px"]
    return (
        f"| {name} | {short_e(m['parity_max_abs_diff'])} | {small['torch_ms']:.2f} / {small['onnxruntime_ms']:.2f} ms | "
        f"{large['torch_ms']:.2f} / {large['onnxruntime_ms']:.2f} ms ({large['speedup']:.2f}x) |"
    )


def fidelity(r: dict[str, Any]) -> str:
    low, high = r["tau_interval"]
    return f"Kendall's τ-b {r['tau']:.3f} [{low:.3f}, {high:.3f}] on {r['n']} held-out bank members"


def zero_cost_screen(r: dict[str, Any]) -> str:
    """The held-out tau of the pre-screen's ranking (a negated score counts with its sign flipped)."""
    chosen = r["prescreen"]["score"]
    sign = -1 if chosen.startswith("-") else 1
    held = r["rank_agreement"]["held_out"]
    score = held["scores"][chosen.lstrip("-")]
    low, high = sorted(sign * v for v in score["tau_val_acc_95"])
    return (
        f"the pre-screen chosen on the tuning half ({chosen}) ranks the {held['n']} held-out bank members "
        f"at τ {sign * score['tau_val_acc']:+.3f} [{low:+.3f}, {high:+.3f}]"
    )


def latency_row(r: dict[str, Any]) -> str:
    within = round(r["within_10pct"] * r["n"])
    return (
        f"lookup table within ±10% for {within} of {r['n']} members; τ with time {r['tau_predicted_measured']:+.3f}, "
        f"FLOPs' {r['tau_flops_latency']:+.3f}"
    )


def latency_noise(r: dict[str, Any]) -> str:
    processes = len(r["process_medians_ms"])
    return (
        f"{100 * r['cv']:.1f}% within one process, {100 * r['cv_processes']:.1f}% between {processes} fresh processes"
    )


def workers_row(r: dict[str, Any], key: str) -> str:
    w = r[key]
    return (
        f"| {w['workers']} | {w['seconds']:.1f} s | {w['trials_per_minute']:.1f} | {w['trained']} | "
        f"{w['training_seconds']:.1f} | {w['repeated_genotypes']} |"
    )


QUOTED: list[tuple[Path, str, Callable[[dict[str, Any]], str]]] = [
    (README, "defaults.json", search_row),
    (README, "defaults.json", lambda r: f"`make search` took **{r['search']['seconds']:.0f} s** after set-up"),
    (
        README,
        "defaults.json",
        lambda r: f"here {r['search']['best']['flops'] / 1e6:.1f} MFLOPs at reward {r['search']['best']['reward']:.4f}",
    ),
    (
        README,
        "defaults.json",
        lambda r: (
            f"{r['grid']['n_points']} points costed, {r['grid']['n_feasible']} within 10% of 2× B0's real FLOPs, "
            f"in {r['grid']['seconds']:.0f} s; the choice {'a tie within seed noise' if r['grid']['tie'] else 'separated'}"
        ),
    ),
    (README, "defaults.json", pipeline_row),
    (
        README,
        "final_training.json",
        lambda r: (
            f"{r['runs']['search_best']['test_acc']:.4f} test accuracy against B0's "
            f"{r['runs']['efficientnet_b0']['test_acc']:.4f}"
        ),
    ),
    (
        README,
        "folder_loading.json",
        lambda r: (
            f"{r['images']:,} images cached in {r['load']['first']['seconds']:.1f} s, loaded again in "
            f"{r['load']['cached']['seconds']:.1f} s"
        ),
    ),
    (README, "workers.json", lambda r: f"2 workers on 2 cores: {r['speedup']:.2f}× one worker's trials per minute"),
    (README, "suite.json", lambda r: f"**{r['test']['test_seconds']:.0f} s** of test time on 2 cores"),
    (README, "suite.json", lambda r: f"`make test-fast`, the quick tier, {r['test-fast']['test_seconds']:.0f} s"),
    (BENCHMARKS, "final_training.json", lambda r: final_row(r, "efficientnet_b0", "EfficientNet-B0")),
    (BENCHMARKS, "final_training.json", lambda r: final_row(r, "search_best", "the default search's best")),
    (BENCHMARKS, "export_latency.json", lambda r: export_row(r, "efficientnet_b0", "EfficientNet-B0")),
    (BENCHMARKS, "export_latency.json", lambda r: export_row(r, "search_best", "the default search's best")),
    (
        README,
        "export_latency.json",
        lambda r: f"largest logit difference {short_e(r['models'][0]['parity_max_abs_diff'])} for B0",
    ),
    (
        BENCHMARKS,
        "scaling.json",
        lambda r: f"(`scale_pays: {str(r['datasets']['fashion_mnist']['scale_pays']).lower()}`)",
    ),
    *[(BENCHMARKS, "scaling.json", lambda r, m=m: scaling_row(r, m)) for m in ("depth", "width", "resolution")],
    (BENCHMARKS, "scaling.json", lambda r: scaling_row(r, "compound")),
    (BENCHMARKS, "scaling.json", stability),
    *family_quotes(BENCHMARKS, "scaling_textures.json", TEXTURES),
    *family_quotes(README, "scaling_textures.json", TEXTURES)[1:],
    (BENCHMARKS, "scaling_textures.json", lambda r: chosen_triples(r, TEXTURES)),
    *[
        (BENCHMARKS, "scaling_textures_methods.json", lambda r, m=m: scaling_row(r, m, TEXTURE_METHODS))
        for m in METHODS
    ],
    *[
        (
            BENCHMARKS,
            "scaling_textures_methods.json",
            lambda r, k=k: step_text(r["datasets"][TEXTURE_METHODS]["rises"]["resolution"][k]),
        )
        for k in ("1>0", "2>1")
    ],
    (README, "scaling.json", lambda r: "chose " + stability(r)),
    *[
        (BENCHMARKS, "scaling.json", lambda r, k=k: step_text(r["datasets"]["fashion_mnist"]["rises"]["compound"][k]))
        for k in ("1>0", "2>1")
    ],
    (README, "proxy_fidelity.json", fidelity),
    (BENCHMARKS, "proxy_fidelity.json", fidelity),
    (README, "zero_cost.json", zero_cost_screen),
    (README, "zero_cost.json", lambda r: search_pair(r, "tpe+prescreen vs tpe")),
    (BENCHMARKS, "zero_cost.json", zero_cost_screen),
    (BENCHMARKS, "zero_cost.json", lambda r: search_pair(r, "tpe+prescreen vs tpe")),
    (BENCHMARKS, "proxy_throughput.json", lambda r: f"Speed-up **{r['speedup']:.2f}×** (target ≥ 1.5×)"),
    *[(BENCHMARKS, "scaling_budgets5.json", lambda r, e=e: budget_family(r, e)) for e in (3, 5)],
    *[
        (BENCHMARKS, "scaling_budgets5.json", lambda r, e=e, k=k: budget_step(r, e, k))
        for e in (3, 5)
        for k in ("1>0", "2>1")
    ],
    *[(BENCHMARKS, "scaling_held_out.json", lambda r, k=k: budget_step(r, None, k)) for k in ("1>0", "2>1")],
    *[quote for w in WIDTH for quote in family_quotes(BENCHMARKS, "scaling_width.json", WIDTH[w])],
    *family_quotes(BENCHMARKS, "scaling_width_images.json", WIDER_DATA),
    *family_quotes(BENCHMARKS, "scaling_paired.json", DEFAULT_FAMILY),
    *family_quotes(BENCHMARKS, "scaling_compound.json", DEFAULT_FAMILY),
    *family_quotes(README, "scaling_compound.json", DEFAULT_FAMILY)[1:],
    (
        BENCHMARKS,
        "cuda/proxy_throughput.json",
        lambda r: (
            f"{r['proxy_images_per_s']:,.0f} img/s, **{r['speedup']:.2f}×** the plain loop's "
            f"{r['plain_images_per_s']:,.0f}"
        ),
    ),
    (README, "cuda/proxy_throughput.json", lambda r: f"proxy trainer ran {r['speedup']:.2f}× as fast"),
    (BENCHMARKS, "cuda/defaults.json", lambda r: f"| **{r['search']['seconds']:.0f} s** |"),
    (README, "cuda/defaults.json", lambda r: f"default search took {r['search']['seconds']:.0f} s"),
    (README, "defaults.json", lambda r: f"against {r['search']['seconds']:.0f} s on 2 CPU cores"),
    (BENCHMARKS, "workers.json", lambda r: workers_row(r, "one")),
    (BENCHMARKS, "workers.json", lambda r: workers_row(r, "two")),
    (
        BENCHMARKS,
        "folder_loading.json",
        lambda r: f"| write {r['images']:,} JPEGs (setup) | {r['write']['seconds']:.2f} |",
    ),
    (
        BENCHMARKS,
        "folder_loading.json",
        lambda r: f"| `load_folder`, cached | **{r['load']['cached']['seconds']:.2f}** |",
    ),
    (README, "latency.json", latency_row),
    (README, "latency.json", latency_noise),
    (BENCHMARKS, "latency.json", latency_noise),
    (README, "supernet.json", supernet_row),
    (BENCHMARKS, "supernet.json", supernet_held_out),
    (
        BENCHMARKS,
        "supernet.json",
        lambda r: f"trained in {r['supernet_seconds']:.1f} s, {r['train_cost_ratio']:.1f} times",
    ),
    *[
        (BENCHMARKS, "supernet.json", lambda r, m=m: supernet_search_row(r, m))
        for m in ("random", "tpe", "tpe+supernet", "tpe+trained_supernet")
    ],
    *[
        (README, "supernet.json", lambda r, pair=pair: search_pair(r, pair))
        for pair in ("tpe+trained_supernet vs random", "tpe+trained_supernet vs tpe")
    ],
    *[(BENCHMARKS, "supernet_settings.json", lambda r, i=i: setting_row(r, i)) for i in range(5)],
    *[
        (
            BENCHMARKS,
            "supernet_progressive.json",
            lambda r, i=i, phrase=phrase: phrase.format(
                tau=r["settings"][i]["tuning"]["accuracy"]["tau"],
                low=r["settings"][i]["tuning"]["accuracy"]["tau_interval"][0],
                high=r["settings"][i]["tuning"]["accuracy"]["tau_interval"][1],
                cost=r["settings"][i]["train_cost_ratio"],
            ),
        )
        for i, phrase in enumerate(
            (
                "same τ, {tau:+.3f} [{low:+.3f}, {high:+.3f}], at {cost:.1f} B0 trainings",
                "shrinking {tau:+.3f} [{low:+.3f}, {high:+.3f}] at {cost:.1f}",
            )
        )
    ],
    *[
        (BENCHMARKS, name, lambda r, i=i: scoring_setting(r, i))
        for name, rows in (("supernet_scoring.json", [2]), ("supernet_scoring_images.json", range(5)))
        for i in rows
    ],
]


@pytest.mark.parametrize(
    ("document", "name", "phrase"), QUOTED, ids=[f"{d.name}:{n}:{i}" for i, (d, n, _) in enumerate(QUOTED)]
)
def test_a_quoted_figure_is_the_one_its_record_holds(document, name, phrase):
    text = " ".join(document.read_text().split())  # prose wraps anywhere
    assert f"results/{name}" in text, f"{document.name} quotes {name} without linking it"
    expected = phrase(record(name))
    assert expected in text, f"{document.name} should say {expected!r} (from results/{name})"
