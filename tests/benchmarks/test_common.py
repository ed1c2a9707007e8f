"""A benchmark record says which command, commit, machine and time made it."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from benchmarks import common


def test_a_record_carries_command_commit_machine_and_time(results_dir):
    path = common.write_figures("example", {"speedup": 1.5}, common.command_line("benchmarks.example", ["--x", "a b"]))
    assert path == results_dir / "example.json"
    record = json.loads(path.read_text())
    assert record["speedup"] == 1.5
    assert record["command"] == "python -m benchmarks.example --x 'a b'"
    assert re.fullmatch(r"[0-9a-f]{4,40}(\+dirty)?", record["commit"])  # the tests run in a git checkout
    assert {"torch", "threads", "cpu_count", "cpu", "cuda", "platform", "python"} <= record["machine"].keys()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", record["time"])
    assert record["load_average"].keys() == {"start", "end"}


def test_a_record_keeps_commit_time_and_load_from_when_the_measurement_began(results_dir):
    start = {"commit": "abc1234", "started": "2026-01-01T00:00:00+0000", "load_start": 1.5}
    path = common.write_figures("loaded", {}, "python -m benchmarks.loaded", start=start)
    record = json.loads(path.read_text())
    assert record["commit"] == "abc1234" and record["started"] == start["started"]
    assert record["load_average"]["start"] == 1.5


def test_results_dir_argument_wins(tmp_path):
    path = common.write_figures("other", {}, "python -m benchmarks.other", tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "other.json" and path.is_file()


def test_commit_is_marked_dirty_when_tracked_files_changed(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("one\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    clean = common.git_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{4,40}", clean)
    (tmp_path / "untracked.txt").write_text("not part of the commit\n")
    assert common.git_commit(tmp_path) == clean
    assert common.code_state(tmp_path) == clean  # what kept work is keyed by: the commit, when clean
    (tmp_path / "a.txt").write_text("two\n")
    assert common.git_commit(tmp_path) == clean + "+dirty"
    two = common.code_state(tmp_path)
    (tmp_path / "a.txt").write_text("three\n")
    three = common.code_state(tmp_path)  # other uncommitted code: another key
    assert two.startswith(clean + "+dirty-") and three.startswith(clean + "+dirty-") and two != three
    assert common.code_state(tmp_path / "not-a-repo") is None


def test_commit_outside_git_is_none(tmp_path):
    assert common.git_commit(tmp_path / "not-a-repo") is None


@pytest.mark.parametrize("name", ["platform", "torch", "python"])
def test_machine_names_its_parts(name):
    assert common.machine()[name]


def test_uncommitted_code_cannot_start_a_committed_record(monkeypatch):
    monkeypatch.setattr(common, "git_commit", lambda root=common.ROOT: "abc1234+dirty")
    with pytest.raises(
        SystemExit, match=r"uncommitted changes \(abc1234\+dirty\).*commit first, or pass --allow-dirty"
    ):
        common.measurement_start(common.COMMITTED_RESULTS)
    start = common.measurement_start(common.COMMITTED_RESULTS, allow_dirty=True)
    assert start["commit"] == "abc1234+dirty" and start["allow_dirty"] is True
    assert common.provenance("python -m benchmarks.x --allow-dirty", start)["allow_dirty"] is True
    assert "allow_dirty" not in common.measurement_start()  # tests' own folder: nothing to refuse or mark
    monkeypatch.setattr(common, "git_commit", lambda root=common.ROOT: "abc1234")
    clean = common.measurement_start(common.COMMITTED_RESULTS)
    assert "allow_dirty" not in clean and "allow_dirty" not in common.provenance("x", clean)


def test_a_benchmark_refuses_before_it_measures_anything(monkeypatch):
    from benchmarks import workers

    monkeypatch.setattr(common, "git_commit", lambda root=common.ROOT: "abc1234+dirty")
    monkeypatch.setattr(workers, "run_study", _never_measured)
    with pytest.raises(SystemExit, match="--allow-dirty"):
        workers.main(["--results-dir", str(common.COMMITTED_RESULTS), "--trials", "2"])


def _never_measured(*args, **kwargs):
    raise AssertionError("measured before the refusal")


COUNTER = (  # counts the SIGTERMs it hears: waits up to 60 s for the first, then a moment for a second
    "import signal, sys, time\n"
    "heard = []\n"
    "signal.signal(signal.SIGTERM, lambda *a: heard.append(1))\n"
    "print('ready', flush=True)\n"
    "deadline = time.monotonic() + 60\n"
    "while not heard and time.monotonic() < deadline:\n"
    "    time.sleep(0.02)\n"
    "time.sleep(0.5)\n"
    "print('heard', len(heard), flush=True)\n"
    "sys.exit(143 if heard else 0)\n"
)


def test_a_stop_signal_reaches_the_child_once_and_is_waited_for():
    # The test process signals itself, as `timeout` would.
    before = signal.getsignal(signal.SIGTERM)
    with common.stoppable([sys.executable, "-c", COUNTER], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout.readline() == "ready\n"
        assert os.getsid(child.pid) != os.getsid(0)  # its own session: a group's signal does not reach it
        os.kill(os.getpid(), signal.SIGTERM)
        rest = child.stdout.read()
    assert child.returncode == 143 and rest == "heard 1\n"
    assert signal.getsignal(signal.SIGTERM) is before


def test_several_children_and_their_own_children_each_hear_a_stop_once():
    # Each command is a shell (as make is) running the counter; the shell passes nothing on.
    command = ["sh", "-c", f"{shlex.quote(sys.executable)} -c {shlex.quote(COUNTER)}; exit 0"]
    with common.stoppable_all([command, command], stdout=subprocess.PIPE, text=True) as children:
        assert [child.stdout.readline() for child in children] == ["ready\n", "ready\n"]
        os.kill(os.getpid(), signal.SIGTERM)
        rest = [child.stdout.read() for child in children]
    assert rest == ["heard 1\n", "heard 1\n"]


def test_a_failure_while_they_run_stops_the_commands_and_waits_for_them():
    started = time.monotonic()
    with pytest.raises(RuntimeError), common.stoppable_all([[sys.executable, "-c", COUNTER]] * 2) as children:
        raise RuntimeError("reading them failed")
    assert all(child.returncode in (143, -signal.SIGTERM) for child in children)  # stopped, not left for 60 s
    assert time.monotonic() - started < 30
