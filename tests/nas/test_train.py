"""``python -m nas.train``: one genotype trained on the proxy, as a user runs it."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from search_spaces.codec import parse_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype

SMALL = "ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e3_c24_se0.25,ir_r1_k5_s2_e3_c40"
TINY = ["dataset=digits", "proxy=tiny", "proxy.width=1.0", "threads=2", "progress=false"]


@pytest.mark.slow
def test_train_cli_writes_a_summary_with_real_accuracy(cli, tmp_path):
    result = cli("nas.train", f"model='{SMALL}'", *TINY, "proxy.epochs=3", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["reason"] is None
    assert len(summary["val_accs"]) == 3 and summary["val_acc"] == summary["val_accs"][-1]
    assert summary["val_acc"] > 0.3 and summary["test_acc"] > 0.3  # 10 classes: chance is 0.1
    params, flops = Target().cost(Genotype(parse_blocks(SMALL), name="custom"))
    assert (summary["params"], summary["flops"]) == (params, flops)
    assert summary["config"]["model"] == SMALL
    assert f"val_acc {summary['val_acc']:.4f}" in result.stdout


@pytest.mark.slow
def test_sigterm_stops_training_and_still_writes_the_summary(background, tmp_path):
    proc = background("nas.train", f"model='{SMALL}'", *TINY, "proxy.epochs=200", f"hydra.run.dir={tmp_path}")
    assert proc.stdout.readline().startswith("training custom on digits")  # the guarded training starts
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("SIGTERM went unanswered for 60 s")
    assert proc.returncode == 143, err
    assert "interrupted (SIGTERM); training stopped" in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["reason"] == "stopped by a signal"
