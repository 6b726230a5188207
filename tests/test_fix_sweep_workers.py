"""``mnist-tui sweep --workers`` is bounded by the cores and the memory (each worker loads torch), and a
``--timeout`` that passes before any worker could start a trial is no success."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

pytest.importorskip("optuna")

from mnist_tui.engine.config import ConfigError  # noqa: E402
from mnist_tui.sweep_workers import MAX_WORKERS_PER_CORE, WORKER_BYTES, check_worker_count  # noqa: E402

SPACE = "lr = { low = 1e-4, high = 1e-1, log = true }\n"
GB = 1_000_000_000


@pytest.fixture
def space(tmp_path: Path) -> Path:
    path = tmp_path / "S.toml"
    path.write_text(SPACE)
    return path


def test_more_workers_than_the_memory_holds_are_refused_with_the_count_that_fits() -> None:
    trial = 200_000_000
    check_worker_count(2, cores=2, available=2 * (WORKER_BYTES + trial), trial_bytes=trial)
    with pytest.raises(ConfigError) as refused:
        check_worker_count(3, cores=2, available=2 * (WORKER_BYTES + trial), trial_bytes=trial)
    assert str(refused.value) == (
        "--workers 3: 3 workers need about 2.1 GB (each 0.5 GB to load torch and 0.2 GB for the largest trial), "
        "but 1.4 GB are available: use --workers 2 at most"
    )


def test_more_workers_than_the_cores_share_usefully_are_refused() -> None:
    check_worker_count(MAX_WORKERS_PER_CORE * 2, cores=2, available=None, trial_bytes=0)
    with pytest.raises(ConfigError, match=rf"^--workers 50 is more than {MAX_WORKERS_PER_CORE} per core \(2 cores here\): "
                                          rf"use --workers {MAX_WORKERS_PER_CORE * 2} at most"):
        check_worker_count(50, cores=2, available=100 * GB, trial_bytes=0)


def test_one_worker_is_left_to_the_trials_own_memory_check() -> None:
    check_worker_count(1, cores=1, available=WORKER_BYTES // 2, trial_bytes=GB)


def test_the_sweep_refuses_more_workers_than_the_cores_share_before_any_study(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, space: Path, data_dir: Path
) -> None:
    """QA: ``--workers 50`` (a typo for 5) started 50 processes of half a gigabyte each."""
    from mnist_tui.engine import threads
    from mnist_tui.sweep import build_parser, preflight, resolve

    monkeypatch.setattr(threads, "cpu_cores", lambda: 1)
    args = ["--preset", "smoke", "--space", str(space), "--runs-dir", str(tmp_path / "runs"), "--data-dir", str(data_dir)]
    preflight(resolve(build_parser().parse_args([*args, "--workers", str(MAX_WORKERS_PER_CORE)])))
    with pytest.raises(ConfigError, match=rf"^--workers {MAX_WORKERS_PER_CORE + 1} is more than "):
        preflight(resolve(build_parser().parse_args([*args, "--workers", str(MAX_WORKERS_PER_CORE + 1)])))
    assert not (tmp_path / "runs").exists()  # no journal, so no study


def test_the_sweep_refuses_more_workers_than_the_free_memory_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, space: Path, data_dir: Path
) -> None:
    from mnist_tui.engine import memory
    from mnist_tui.sweep import build_parser, preflight, resolve

    monkeypatch.setattr(memory, "available_host_memory", lambda: int(1.5 * GB))
    args = ["--preset", "smoke", "--space", str(space), "--runs-dir", str(tmp_path / "runs"), "--data-dir", str(data_dir)]
    preflight(resolve(build_parser().parse_args([*args, "--workers", "2"])))
    with pytest.raises(ConfigError, match=r"^--workers 3: 3 workers need about .* but 1.5 GB are available: use --workers 2 at most$"):
        preflight(resolve(build_parser().parse_args([*args, "--workers", "3"])))


@pytest.mark.slow
def test_a_timeout_that_passes_before_any_trial_says_so_and_exits_1(
    cli: Callable[..., Any], tmp_path: Path, space: Path, data_dir: Path
) -> None:
    """QA: with loading slower than --timeout, the command ran nothing and exited 0."""
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--runs-dir", "runs",
                 "--data-dir", str(data_dir), "--timeout", "0.001", "--export-best", "best.toml")
    assert result.returncode == 1, result.stderr
    assert "this command ran none" in result.stdout
    assert result.stderr == (
        "mnist-tui sweep: --timeout 0.001 s passed before any worker was ready to start a trial (a worker takes seconds "
        "to load, longer when workers outnumber the cores): no trial ran and nothing was exported to best.toml; "
        "give a longer --timeout\n"
    )
    assert not (tmp_path / "best.toml").exists()
