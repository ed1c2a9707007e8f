"""Shared fixtures: small, fast settings so the whole suite runs on 2 CPU cores."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

ROOT = Path(__file__).resolve().parents[1]

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def run_module(module: str, *args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m module args`` as a user would, in a process of its own, capturing output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_process(
    module: str, *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``python -m module args`` run in this process: its output and exit status, without a process's start.

    What a command prints and its exit status are the same; imports are shared, and what a run
    changes in the process (argv, folder, threads, logging, Hydra's global state) is put back.
    """
    name = f"{module}.__main__" if importlib.util.find_spec(module).submodule_search_locations else module
    entry = importlib.import_module(name)
    out, err = io.StringIO(), io.StringIO()
    argv, folder, threads, handlers = sys.argv, os.getcwd(), torch.get_num_threads(), logging.root.handlers[:]
    code = 0
    try:
        sys.argv = [module, *args]
        os.chdir(cwd or ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                returned = entry.main()
                code = returned if isinstance(returned, int) and not isinstance(returned, bool) else 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv = argv
        os.chdir(folder)
        torch.set_num_threads(threads)
        for handler in logging.root.handlers[:]:
            if handler not in handlers:
                logging.root.removeHandler(handler)
                handler.close()
        GlobalHydra.instance().clear()
    return subprocess.CompletedProcess([sys.executable, "-m", module, *args], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def cli():
    """A command run as a user runs it, in this process (``process`` when the process itself is under test)."""
    return run_in_process


@pytest.fixture(scope="session")
def process():
    """A command run in a process of its own: for what only a real process shows (startup, installation)."""
    return run_module


def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A throw-away PostgreSQL server on 127.0.0.1 (as the postgres user when we are root)."""
    import shutil
    import tempfile

    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql (.ci/run installs them)")
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    base = Path(tempfile.mkdtemp(prefix="effnas-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if as_root:
        subprocess.run(["chown", "-R", "postgres", str(base)], check=True)
        base.chmod(0o755)
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    user = "postgres"
    port = _free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=50"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*prefix, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "nas"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://{user}@127.0.0.1:{port}/nas"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def start_module(module: str, *args: str, ignore_sigint: bool = False) -> subprocess.Popen:
    """Start ``python -m module args`` in the background (for workers, kills and interrupts).

    ``ignore_sigint`` starts it as ``module &`` in a shell script would: with SIGINT ignored.
    """
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
    )


def wait_for(condition, timeout: float = 300, interval: float = 0.5):
    """Poll ``condition()`` until it returns a truthy value; fail the test after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


@pytest.fixture
def background():
    """Start modules in the background; any still running at the end of the test is killed."""
    procs: list[subprocess.Popen] = []

    def start(module: str, *args: str, **kwargs: bool) -> subprocess.Popen:
        proc = start_module(module, *args, **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def poll():
    return wait_for


@dataclass(frozen=True)
class TinyStudies:
    """A real search study and a real grid study around its best, in one SQLite storage."""

    db: Path
    search: str  # study names
    grid: str
    best_yaml: Path  # what the search wrote as its best
    coefficients_yaml: Path  # what the grid wrote as its best point

    @property
    def storage(self) -> str:
        return f"sqlite:///{self.db}"


@pytest.fixture(scope="session")
def tiny_studies(tmp_path_factory) -> TinyStudies:
    """A 3-trial search on digits and a 2-point grid on ``search:<that study>``, run as the commands run them."""
    from nas import DatasetSpec, ProxyConfig, SearchConfig, SearchSettings, StudySettings, best_genotype, run_search
    from scaling import GridConfig, GridSettings, run_grid

    base = tmp_path_factory.mktemp("studies")
    study = StudySettings(storage=f"sqlite:///{base / 'studies.db'}")
    data = DatasetSpec("digits")
    proxy = ProxyConfig(epochs=1, batch_size=64, width=0.25, train_size=256, val_size=128, test_size=128)
    config = SearchConfig(dataset=data, proxy=proxy, search=SearchSettings(n_trials=3))
    found = run_search("efficientnet_b0", config, study=study, out=base / "s")
    grid = GridConfig(
        dataset=data,
        proxy=proxy,
        grid=GridSettings(step=0.1, alpha_max=1.2, beta_max=1.1, gamma_max=1.2, rule="constraint", max_seeds=1),
    )
    baseline = best_genotype(found.study, storage=study.storage)  # search:STUDY, as the commands resolve it
    coefficients = run_grid(baseline, grid, study=study, out=base / "g")
    assert found.best is not None and coefficients.best is not None
    return TinyStudies(
        base / "studies.db", found.study, coefficients.study, base / "s" / "best.yaml", base / "g" / "coefficients.yaml"
    )
