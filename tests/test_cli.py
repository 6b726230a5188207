"""The ``mnist-tui`` command: clear errors and exit codes, divergence, Ctrl+C and resume.

Most cases run the real command in a subprocess (stdout and stderr as a user sees them); a few that
need the dataset run ``main()`` in-process on the session's cached dataset, to keep the suite quick.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from mnist_tui.command import main
from mnist_tui.engine.steering import describe_step

Cli = Callable[..., subprocess.CompletedProcess]

CONFIG_FILES = {
    "a TOML syntax error": ("lr = 0.01\nepochs = = 3\n", "TOML syntax error"),
    "an unknown key": ("lr = 0.01\nepoch = 3\n", "unknown key 'epoch' (did you mean 'epochs'?)"),
    "a negative learning rate": ("lr = -0.01\n", "lr must be greater than 0, not -0.01"),
    "a hidden size of 0": ("hidden = [512, 0]\n", "hidden sizes must be between 1 and 65536, not 0"),
    "a batch size of 0": ("batch_size = 0\n", "batch_size must be between 1 and 1000000, not 0"),
}

FLAGS = {
    "an unknown preset": (["--preset", "smok"], "unknown preset 'smok' (did you mean 'smoke'?)"),
    "--set with a value of the wrong type": (["--set", "lr=fast"], "--set lr=fast: lr must be a number, not 'fast'"),
    "--set with a list of the wrong type": (["--set", "hidden=512,x"], "hidden must be a list of integers such as 512,256"),
    "--set of an unknown key": (["--set", "learning_rate=0.1"], "--set: unknown key 'learning_rate'"),
    "an unknown optimizer": (["--set", "optimizer=adamm"], "optimizer must be one of sgd, adagrad, rmsprop, adadelta, adam, adamw, radam, not 'adamm' (did you mean 'adam'?)"),
    "--epochs 0": (["--epochs", "0"], "epochs must be between 1 and 100000, not 0"),
    # Empty was "not given": --preset '' trained the default preset at full size.
    "an empty --preset": (["--preset", ""], "--preset is empty; name a preset"),
    "an empty --data-dir": (["--data-dir", ""], "--data-dir is empty; name a folder"),
    "a config file with no end": (["--config", "/dev/zero"], "config file /dev/zero is not a regular file"),
}


def assert_clean_error(result: subprocess.CompletedProcess, expected: str, runs_dir: Path, code: int = 2) -> None:
    """Exit ``code``, one clear message on stderr naming the problem, no traceback, no run folder."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("mnist-tui: error: "), result.stderr
    assert expected in result.stderr
    assert not runs_dir.exists()


@pytest.mark.parametrize("case", sorted(CONFIG_FILES))
def test_a_bad_config_file_is_a_clear_error(cli: Cli, tmp_path: Path, case: str) -> None:
    text, expected = CONFIG_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = cli("--no-ui", "--config", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert_clean_error(result, expected, tmp_path / "runs")
    assert str(path) in result.stderr


@pytest.mark.parametrize("case", sorted(FLAGS))
def test_bad_flags_are_clear_errors(cli: Cli, tmp_path: Path, case: str) -> None:
    argv, expected = FLAGS[case]
    before = [] if argv[0] == "--config" else ["--preset", "smoke"]
    result = cli("--no-ui", *before, *argv, "--runs-dir", str(tmp_path / "runs"))
    assert_clean_error(result, expected, tmp_path / "runs")


def test_a_missing_data_folder_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("--no-ui", "--preset", "smoke", "--data-dir", "/nonexistent", "--runs-dir", str(tmp_path / "runs"))
    assert_clean_error(result, "data folder /nonexistent does not exist", tmp_path / "runs")


def test_a_data_folder_that_is_a_file_is_named_so(cli: Cli, tmp_path: Path) -> None:
    """It was "data folder afile does not exist", though it plainly did."""
    (tmp_path / "afile").write_text("")
    result = cli("--no-ui", "--preset", "smoke", "--data-dir", "afile", "--runs-dir", str(tmp_path / "runs"))
    assert_clean_error(result, "mnist-tui: error: data folder afile is a file, not a folder\n", tmp_path / "runs")


@pytest.mark.skipif(sys.platform == "win32", reason="no FIFOs")
def test_a_fifo_as_config_is_refused_not_waited_on(cli: Cli, tmp_path: Path) -> None:
    """``mkfifo f.toml; mnist-tui --no-ui --config f.toml`` waited for a writer forever, saying nothing."""
    os.mkfifo(tmp_path / "f.toml")
    result = cli("--no-ui", "--config", "f.toml", "--runs-dir", str(tmp_path / "runs"), timeout=60)
    assert_clean_error(result, "mnist-tui: error: config file f.toml is not a regular file\n", tmp_path / "runs")


def test_a_truncated_data_file_is_named(cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for source in (data_dir / "MNIST" / "raw").iterdir():
        if source.name.endswith("ubyte") and source.name != "train-labels-idx1-ubyte":
            (raw / source.name).symlink_to(source)
    # A fresh, shorter file (never a truncated hard link, which would truncate the shared original).
    (raw / "train-labels-idx1-ubyte").write_bytes((data_dir / "MNIST/raw/train-labels-idx1-ubyte").read_bytes()[:1000])
    result = cli("--no-ui", "--preset", "smoke", "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs"))
    assert_clean_error(result, f"{raw / 'train-labels-idx1-ubyte'} is 1,000 bytes, expected 60,008", tmp_path / "runs")


def test_a_batch_larger_than_the_data_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    """In-process (an exception would fail the test just as a traceback would): exit 2, no run folder."""
    code = main([
        "--no-ui", "--preset", "smoke", "--set", "drop_last=true", "--set", "batch_size=5000",
        "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs"),
    ])
    result = subprocess.CompletedProcess([], code, *capsys.readouterr())
    assert_clean_error(result, "batch_size 5000 with drop_last leaves no batch of the 2,000 training digits", tmp_path / "runs")


def test_resuming_a_missing_run_is_a_clear_error(cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "runs" / "smoke-20260101-000000-abcd"
    result = cli("--no-ui", "--resume", str(missing), "--data-dir", str(data_dir))
    assert_clean_error(result, f"run folder {missing} does not exist", tmp_path / "runs")
    (tmp_path / "a-file").write_text("")
    result = cli("--no-ui", "--resume", str(tmp_path / "a-file"), "--data-dir", str(data_dir))
    assert_clean_error(result, f"run folder {tmp_path / 'a-file'} is a file, not a run folder", tmp_path / "runs")


def test_resuming_a_corrupt_run_is_a_clear_error_that_changes_nothing(
    cli: Cli, train, tiny, data_dir: Path, tmp_path: Path
) -> None:
    run_dir = Path(train(tiny.replace(epochs=1), runs_dir=tmp_path / "runs")[0].run_dir)
    (run_dir / "last.pt").write_bytes(b"\x00garbage" * 64)
    files = lambda: {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != ".lock"}  # noqa: E731
    before = files()  # .lock holds the pid of its latest holder, so it changes
    result = cli("--no-ui", "--resume", str(run_dir), "--data-dir", str(data_dir))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert f"mnist-tui: error: {run_dir / 'last.pt'} is corrupt" in result.stderr
    assert files() == before


def test_an_absurd_learning_rate_diverges_with_exit_3_naming_the_step(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    """In-process; ``test_headless`` runs the same divergence through the real command with --jsonl."""
    code = main([
        "--no-ui", "--preset", "smoke", "--device", "cpu", "--set", "optimizer=sgd", "--set", "lr=1e6",
        "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs"),
    ])
    out, _ = capsys.readouterr()
    assert code == 3
    (line,) = [line for line in out.splitlines() if line.startswith("diverged:")]
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "diverged"
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    diverged, steps_per_epoch = logged[-1], logged[0]["steps_per_epoch"]
    assert diverged["event"] == "diverged" and diverged["step"] >= 1
    assert line.endswith(f" at {describe_step(diverged['epoch'], diverged['step'], steps_per_epoch)}; try a smaller lr")


def test_list_presets_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "batchnorm-dropout-he", "relu-adam-100-holdout", "relu-adam-100-pooled", "relu-adam-500", "sigmoid-sgd", "smoke",
    ]
    assert all("Source" in line or "Smoke" in line for line in lines)
    assert main(["--list-presets", "--jsonl"]) == 0
    presets = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["name"] for p in presets] == [line.split()[0] for line in lines]
    assert presets[-1]["description"].startswith("Smoke test") and presets[-1]["config"]["hidden"] == [64]
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == "mnist-tui 0.1.0\n"


@pytest.mark.parametrize("argv", [["--preset", "smoke", "--config", "x.toml"], ["--epochs", "two"], ["--frobnicate"]])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: mnist-tui" in capsys.readouterr().err


@pytest.mark.parametrize(("threshold", "code"), [("50", 0), ("99.9", 4)])
def test_fail_under_sets_the_exit_code(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path, threshold: str, code: int
) -> None:
    argv = ["--no-ui", "--preset", "smoke", "--device", "cpu", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path)]
    assert main([*argv, "--fail-under", threshold]) == code
    err = capsys.readouterr().err
    if code:
        assert "is below --fail-under 99.9 %" in err
    else:
        assert err == ""


# --- signals: a graceful stop, then an exact resume ------------------------------------------


def start_long_run(data_dir: Path, runs_dir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """The smoke preset on 20,000 digits (313 batches): a second or two, long enough to interrupt."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "mnist_tui", "--no-ui", "--preset", "smoke", "--set", "train_limit=20000",
            "--device", "cpu", "--data-dir", str(data_dir), "--runs-dir", str(runs_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def interrupt_after_first_report(process: subprocess.Popen[str], signal_number: int) -> str:
    """Wait for the first batch line, send the signal, return everything printed."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("epoch 1 step "):
            process.send_signal(signal_number)
            break
    else:
        pytest.fail("the run printed no batch line: " + "".join(lines) + process.stderr.read())
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in out + err, err
    return "".join(lines) + out


@pytest.mark.slow
def test_ctrl_c_stops_gracefully_and_resume_finishes_the_run(
    cli: Cli, command_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    """SIGTERM and SIGHUP take the same path; ``test_headless`` sends them in-process."""
    process = start_long_run(data_dir, tmp_path / "runs", command_env)
    out = interrupt_after_first_report(process, signal.SIGINT)
    assert process.returncode == 130
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"continue with: mnist-tui --resume {run_dir}" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("stopped", 0)
    assert (run_dir / "last.pt").is_file()
    stopped = json.loads((run_dir / "events.jsonl").read_text().splitlines()[-1])
    assert stopped["event"] == "stopped" and 5 <= stopped["step"] < 313
    resumed = cli("--no-ui", "--resume", str(run_dir), "--data-dir", str(data_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr + resumed.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("finished", 1)
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in logged].count("run_started") == 2
    assert logged[-1]["event"] == "finished"
    steps = [e["step"] for e in logged if e["event"] == "batch"]
    assert steps == sorted(steps) and steps[-1] == 313
