"""The fidelity benchmark on a tiny budget: real training runs, real rankings, clear bad input."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import proxy_fidelity

TINY = ["dataset=digits", "proxy.epochs=1", "proxy.train_size=200", "proxy.val_size=300", "proxy.test_size=100"]


@pytest.fixture
def bench_dir(results_dir):
    results_dir.mkdir(parents=True)
    return results_dir


@pytest.mark.slow
@pytest.mark.parametrize(("reference_epochs", "reference_images"), [(1, 400), (2, 200)])
def test_ranks_candidates_against_a_larger_budget(bench_dir, reference_epochs, reference_images):
    budget = ["--candidates", "3", "--budget", "2", "--reference-epochs", str(reference_epochs)]
    proxy_fidelity.main([*budget, "--name", "tiny", *TINY])
    figures = json.loads((bench_dir / "tiny.json").read_text())
    assert figures["command"] == "python -m benchmarks.proxy_fidelity " + " ".join([*budget, "--name", "tiny", *TINY])
    assert {"commit", "machine", "time"} <= figures.keys()
    assert len(figures["rows"]) == 3
    # twice the images seen: twice the images in the proxy's 1 epoch, or the same images for 2 epochs
    assert (figures["reference_train_size"], figures["reference_epochs"]) == (reference_images, reference_epochs)
    for row in figures["rows"]:
        for label in ("default", "default_seed1", "big"):
            assert 0.0 < row[label] <= 1.0 and row[f"{label}_seconds"] > 0
    expected = tau_b([r["default"] for r in figures["rows"]], [r["big"] for r in figures["rows"]])
    assert figures["kendall_tau"] == pytest.approx(expected, abs=5e-4, nan_ok=True)
    # same seed, same accuracy: a second run reusing the recorded reference repeats the defaults
    reuse = ["--one-seed", "--name", "again", "--reference", str(bench_dir / "tiny.json")]
    proxy_fidelity.main([*budget, *reuse, *TINY])
    again = json.loads((bench_dir / "again.json").read_text())
    assert [r["default"] for r in again["rows"]] == [r["default"] for r in figures["rows"]]
    assert [r["big"] for r in again["rows"]] == [r["big"] for r in figures["rows"]]
    assert again["kendall_tau"] == figures["kendall_tau"]
    # the reference against itself on another seed, with the same reference budget only
    noise = ["--reference-noise", "--reference", str(bench_dir / "tiny.json"), "--name", "noise"]
    proxy_fidelity.main([*budget, *noise, *TINY])
    rows = json.loads((bench_dir / "noise.json").read_text())["rows"]
    assert [r["big"] for r in rows] == [r["big"] for r in figures["rows"]]
    assert all(0.0 < r["big_seed1"] <= 1.0 for r in rows)
    other = ["--reference-epochs", str(3 - reference_epochs)]
    with pytest.raises(SystemExit) as exit_info:
        proxy_fidelity.main([*budget, *other, *noise, *TINY])
    assert exit_info.value.code == 2


def tau_b(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b, counted pair by pair (the benchmark uses scipy's)."""
    sign = lambda v: (v > 0) - (v < 0)  # noqa: E731
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    score = sum(sign(a[i] - a[j]) * sign(b[i] - b[j]) for i, j in pairs)
    untied_a = sum(a[i] != a[j] for i, j in pairs)
    untied_b = sum(b[i] != b[j] for i, j in pairs)
    return score / math.sqrt(untied_a * untied_b) if untied_a and untied_b else math.nan


def _figures_without_reference(path):
    path.write_text(json.dumps({"rows": [{"blocks": ["x"], "default": 0.5}]}))
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "1"], "--candidates and --budget must be >= 2"),
        (["--reference-epochs", "0"], "--reference-epochs >= 1"),
        (["--reference-noise"], "--reference-noise needs --reference FILE"),
        (["--reference", "/nonexistent/figures.json"], "not a proxy_fidelity figures file"),
        (["--reference", "NO_BIG_FILE"], "lacks blocks, big or big_seconds"),
        (["--budget", "400"], "needs 26666 training images; digits has 1137 beside the validation set"),
        (["proxy.nope=1"], "proxy.nope"),
        (["dataset=imagenet"], "imagenet"),
    ],
)
def test_bad_input_is_one_line_and_status_2(bench_dir, capsys, args, message):
    args = [_figures_without_reference(bench_dir / "old.json") if a == "NO_BIG_FILE" else a for a in args]
    tiny = [a for a in TINY if not (a.startswith("dataset=") and "dataset=imagenet" in args)]
    with pytest.raises(SystemExit) as exit_info:
        proxy_fidelity.main(["--candidates", "2", *args, *tiny])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("proxy_fidelity: error:")
    assert message in err
    assert not list(bench_dir.glob("proxy_fidelity*.json"))
