"""The package as a user installs it: a wheel that carries its configs, commands that run anywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a clean copy: an in-tree build/ could carry modules deleted since
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(out),
        str(source),
    ]
    subprocess.run(build, check=True, capture_output=True, cwd=out)
    (path,) = out.glob("effnas-*.whl")
    return path


def test_the_wheel_carries_every_package_and_config(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in ROOT.joinpath("conf").rglob("*.yaml"):
        assert f"effnas_conf/{config.relative_to(ROOT / 'conf').as_posix()}" in names, config
    for package in ("search_spaces", "nas", "scaling"):
        for module in ROOT.joinpath(package).rglob("*.py"):
            assert module.relative_to(ROOT).as_posix() in names, module


@pytest.mark.slow
def test_installed_commands_run_from_any_directory(wheel, tmp_path):
    """A fresh environment holding only the wheel (its dependencies borrowed), run outside the checkout."""
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    zipfile.ZipFile(wheel).extractall(site)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch & co., not effnas
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([python, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)

    where = run("-c", "import nas, effnas_conf; print(nas.__file__); print(effnas_conf.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(site)) for line in where.stdout.split()), where.stdout
    shown = run("-m", "search_spaces.show", "efficientnet_b0", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["params"] == 5_288_548
    tiny = [
        "dataset=digits",
        "proxy=tiny",
        "proxy.train_size=256",
        "proxy.epochs=1",
        "search.n_trials=1",
        "progress=false",
    ]
    search = run("-m", "nas.search", *tiny)
    assert search.returncode == 0, search.stderr
    assert list(work.glob("runs/search/efficientnet_b0-digits/*/summary.json"))
    assert (work / "runs" / "studies.db").is_file()
    study = search.stdout.split("study '", 1)[1].split("'", 1)[0]
    best = run("-m", "search_spaces.show", f"search:{study}", "--json")  # the SPEC scheme's entry point shipped
    assert best.returncode == 0, best.stderr
    assert json.loads(best.stdout)["name"] == f"{study}_best"
    bad = run("-m", "nas.search", "dataset=imagenet")
    assert bad.returncode == 2 and "Available options in 'dataset'" in bad.stderr
