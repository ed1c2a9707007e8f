"""``python -m scaling.pipeline`` end to end on the tiny preset: stopped after a stage, resumed, reported."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from scaling.stage_commands import changed, flatten, override_value

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": "0"}


def _args(tmp_path, run: str) -> list[str]:
    return [
        "pipeline=tiny",
        "dataset=digits",
        "threads=2",
        "progress=false",
        "target.resolution=64",  # FLOPs and latency at a small input: the stages' logic is the same at 224
        *(f"{stage}.proxy.train_size=256" for stage in ("search", "grid", "compare")),  # half the preset's
        "compare.cost_tolerance=0.3",  # not the default: the report's compare command must carry it
        f"study.storage=sqlite:///{tmp_path / 'studies.db'}",
        f"hydra.run.dir={tmp_path / run}",
    ]


def _stop_after_search(args: list[str]) -> subprocess.CompletedProcess:
    """Start the pipeline and press Ctrl-C as soon as its second stage begins."""
    command = [sys.executable, "-m", "scaling.pipeline", *args]
    # SIGINT at its default even when this suite runs in the background (which inherits it ignored)
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("== grid =="):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(command, proc.returncode, "".join(lines) + out, err)


def _trials(tmp_path, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path / 'studies.db'}").get_trials()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, cli):
    """Stopped by Ctrl-C as the grid stage begins (a process of its own, to be signalled), then resumed."""
    tmp_path = tmp_path_factory.mktemp("pipeline")
    stopped = _stop_after_search(_args(tmp_path, "first"))
    resumed = cli("scaling.pipeline", *_args(tmp_path, "run"))
    return tmp_path, stopped, resumed


@pytest.mark.slow
def test_the_pipeline_stops_between_stages_and_resumes_without_retraining(pipeline):
    tmp_path, stopped, resumed = pipeline
    assert stopped.returncode == 130, stopped.stderr
    assert "stopped in the grid stage" in stopped.stderr
    search = "tiny-efficientnet_b0-digits-seed0-search"
    before = [(t.number, t.datetime_complete) for t in _trials(tmp_path, search)]
    assert len(before) == 3 and (tmp_path / "first" / "search" / "best.yaml").is_file()
    assert resumed.returncode == 0, resumed.stderr
    assert f"study {search!r}" in resumed.stdout and "resumed, 3/3 started" in resumed.stdout
    assert [(t.number, t.datetime_complete) for t in _trials(tmp_path, search)] == before  # nothing retrained


@pytest.mark.slow
def test_the_report_reads_top_to_bottom(pipeline):
    tmp_path, _, resumed = pipeline
    out = tmp_path / "run"
    report = (out / "report.md").read_text()
    headings = re.findall(r"^## (\d)\. ", report, flags=re.M)
    assert headings == ["1", "2", "3", "4", "5", "6"]
    for picture in ("search/search.png", "grid/grid.png", "family/family.png", "compare/compare.png"):
        assert f"]({picture})" in report and (out / picture).is_file()
    assert "(1.2, 1.1, 1.15)" in report or "| the paper's (EfficientNet) | 1.2000 | 1.1000 | 1.1500" in report
    family = pd.read_csv(out / "family" / "family.csv")
    assert family["phi"].tolist() == [0.0, 1.0, 2.0, 3.0]
    compare = pd.read_csv(out / "compare" / "compare.csv")
    assert sorted(compare["method"]) == ["baseline", "compound", "depth", "resolution", "width"]
    assert compare["val_acc"].notna().all()
    summary = json.loads((out / "search" / "summary.json").read_text())
    assert summary["dataset"]["classes"] == [str(i) for i in range(10)]
    assert f"report: {out / 'report.md'}" in resumed.stdout


@pytest.mark.slow
def test_the_report_commands_find_the_same_studies(pipeline, cli):
    tmp_path, _, _ = pipeline
    report = (tmp_path / "run" / "report.md").read_text()
    commands = re.findall(r"```sh\n(python -m .*)\n```", report)
    assert [c.split()[2] for c in commands] == ["nas.search", "scaling.grid", "scaling.family", "scaling.compare"]
    assert "compare.cost_tolerance=0.3" in commands[3].split()
    assert "cost_tolerance=0.3" in commands[2].split()  # the family is held to the comparison's cost
    for command, stage in zip(commands, ("search", "grid", "family", "compare"), strict=True):
        args = [*shlex.split(command)[3:], f"hydra.run.dir={tmp_path / ('again-' + stage)}"]
        result = cli(shlex.split(command)[2], *args)
        assert result.returncode == 0, (command, result.stderr)
        if stage != "family":  # the same study, resumed: its identity matched, so nothing is trained again
            started = re.search(r"\(resumed, (\d+)/(\d+) started\)", result.stdout)
            assert started and started[1] == started[2], result.stdout


def test_override_values_and_diffs():
    assert override_value(None) == "null" and override_value(True) == "true"
    assert override_value([1, 2.5]) == "[1,2.5]" and override_value("a b") == "'a b'"
    assert flatten({"a": {"b": 1, "c": [1]}, "d": 2}) == {"a.b": 1, "a.c": [1], "d": 2}
    assert changed({"proxy": {"epochs": 3, "lr": 0.05}}, {"proxy": {"epochs": 2, "lr": 0.05}}) == ["proxy.epochs=3"]


def test_bad_pipeline_input_is_one_line(tmp_path, cli):
    result = cli("scaling.pipeline", *_args(tmp_path, "bad"), "compare.methods=[magic]")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown method 'magic'" in result.stderr
