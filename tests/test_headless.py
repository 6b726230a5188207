"""Headless output: plain lines for logs, pure JSON lines for machines, and the exit code of each ending."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tui.command import main
from mnist_tui.engine import data as data_module
from mnist_tui.engine.data import DataError
from mnist_tui.engine.events import BatchReported, Event, RunDiverged, RunFailed, RunFinished, RunStopped, Terminal
from mnist_tui.engine.steering import describe_step
from mnist_tui.exit_codes import exit_code
from mnist_tui.headless import JsonlPrinter, describe_end

RUN = "smoke-20260101-000000-abcd"
BATCH_LINE = re.compile(r"^epoch [12] step \d+/32 loss \d+\.\d{4} lr 0\.003 [\d,]+ samples/s$")


def smoke_argv(data_dir: Path, runs_dir: Path, *extra: str) -> list[str]:
    return [
        "--no-ui", "--preset", "smoke", "--epochs", "2", "--device", "cpu",
        "--data-dir", str(data_dir), "--runs-dir", str(runs_dir), *extra,
    ]


def test_plain_output_is_one_line_per_report_and_epoch(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    assert main(smoke_argv(data_dir, tmp_path)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "\r" not in out and "\x1b" not in out, "no carriage returns or escape codes in logs"
    lines = out.splitlines()
    assert lines[0].startswith("run smoke-") and "2,000 training digits, evaluated on 1,000 (test set)" in lines[0]
    assert sum(bool(BATCH_LINE.match(line)) for line in lines) == 14  # 7 reports in each of 2 epochs
    epochs = [line for line in lines if line.startswith(("epoch 1/2:", "epoch 2/2:"))]
    assert len(epochs) == 2 and all(" | eval loss " in line for line in epochs)
    (run_dir,) = tmp_path.iterdir()
    assert lines[-2].startswith("finished: final accuracy ")
    assert lines[-1] == f"run folder: {run_dir}"
    matrix = lines[-14:-2]
    assert len(lines) == 1 + 14 + 2 + len(matrix) + 2
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert logged[0]["event"] == "run_started" and logged[0]["headless"] is True, "a watcher's resume hint keeps --no-ui"
    last = [e for e in logged if e["event"] == "confusion"][-1]
    assert matrix[0].startswith("confusion at epoch 2: rows: true class, columns: predicted; 1,000 digits, ")
    assert matrix[1].split() == ["true", "\\", "predicted", *"0123456789", "accuracy"]
    rows = [line.split() for line in matrix[2:]]
    assert [[int(v) for v in row[1:11]] for row in rows] == last["matrix"]
    recalls = [100 * last["matrix"][i][i] / sum(last["matrix"][i]) for i in range(10)]
    assert [row[11:] for row in rows] == [[f"{r:.2f}", "%"] for r in recalls]
    assert len({len(line) for line in matrix[1:]}) == 1, "the columns line up"


def test_jsonl_prints_every_event_as_json_and_the_terminal_event_last(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    assert main(smoke_argv(data_dir, tmp_path, "--jsonl")) == 0
    out, err = capsys.readouterr()
    assert err == ""
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "run_started" and events[-1]["event"] == "finished"
    terminal = {"finished", "stopped", "diverged", "failed"}
    assert [e["event"] in terminal for e in events].count(True) == 1
    (run_dir,) = tmp_path.iterdir()
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events == logged


def test_jsonl_from_the_real_command_is_pure_json_even_when_the_run_diverges(
    cli, data_dir: Path, tmp_path: Path
) -> None:
    """A subprocess, so nothing but the printer can reach stdout unseen; the outcome goes to stderr too."""
    result: subprocess.CompletedProcess[str] = cli(
        "--preset", "smoke", "--set", "optimizer=sgd", "--set", "lr=1e6", "--jsonl",
        "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs"),
    )
    assert result.returncode == 3
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events[:2]] == ["run_started", "samples"]
    assert events[-1]["event"] == "diverged"
    where = describe_step(events[-1]["epoch"], events[-1]["step"], events[0]["steps_per_epoch"])
    assert result.stderr.startswith("mnist-tui: diverged: ") and f" at {where}; " in result.stderr


def test_a_closed_stdout_pipe_stops_the_run_gracefully_with_141(
    command_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    """``mnist-tui --no-ui ... | head -1``: the run stops as Unix tools do when their reader goes, its folder kept."""
    command = [sys.executable, "-m", "mnist_tui", *smoke_argv(data_dir, tmp_path, "--epochs", "50")]
    with subprocess.Popen(command, cwd=tmp_path, env=command_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stdout.readline().startswith(b"run smoke-")
        process.stdout.close()  # the reader goes away; the next line the run prints meets a closed pipe
        _, err = process.communicate(timeout=120)
    assert process.returncode == 141, err.decode()
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_completed"] < 50


@pytest.mark.parametrize(
    ("signal_number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["INT", "TERM", "HUP"]
)
def test_a_signal_with_jsonl_stops_gracefully_and_names_the_folder_to_resume(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    signal_number: int, code: int,
) -> None:
    """A real signal to this process after the first report goes through the command's own handler."""
    show = JsonlPrinter.show
    before = signal.getsignal(signal_number)

    def show_then_signal(self: JsonlPrinter, event: Event) -> None:
        show(self, event)
        if isinstance(event, BatchReported) and event.step == 37:  # epoch 2's first report, its step 5
            # Never kill the test run itself: only signal once the command's handler is in place.
            assert signal.getsignal(signal_number) not in (before, signal.SIG_DFL), "no handler installed"
            os.kill(os.getpid(), signal_number)

    monkeypatch.setattr(JsonlPrinter, "show", show_then_signal)
    assert main(smoke_argv(data_dir, tmp_path, "--jsonl")) == code
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["event"] == "stopped" and events[-1]["step"] == 37
    (run_dir,) = tmp_path.iterdir()
    resume = shlex.join([str(run_dir), "--no-ui", "--data-dir", str(data_dir)])
    assert err == f"mnist-tui: stopped at epoch 2, step 5; continue with: mnist-tui --resume {resume}\n"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "stopped"
    assert signal.getsignal(signal_number) is before, "the previous handler is restored"


def test_a_resume_without_data_dir_reads_the_folder_the_run_trained_on(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mnist-tui --resume RUN`` read the default data folder, not the ``--data-dir`` the run trained
    on: there it found no MNIST and tried to download it (refused here: tests never download)."""
    monkeypatch.chdir(data_dir.parent)  # a relative --data-dir: the run records where it points
    runs = tmp_path / "runs"
    assert main(["--preset", "smoke", "--epochs", "1", "--device", "cpu", "--jsonl",
                 "--data-dir", data_dir.name, "--runs-dir", str(runs)]) == 0
    (run_dir,) = runs.iterdir()
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the default folder: empty

    def refuse(root: Path, dataset: str, raw: Path, missing: list[str]) -> None:
        raise DataError(f"{dataset} files missing in {raw} (a test never downloads)")

    monkeypatch.setattr(data_module, "_download", refuse)
    capsys.readouterr()
    assert main(["--jsonl", "--resume", str(run_dir), "--epochs", "2"]) == 0, capsys.readouterr().err
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (events[0]["event"], events[0]["data_dir"]) == ("run_started", str(data_dir))
    assert events[-1]["event"] == "finished"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (RunFinished(run_id=RUN, final_accuracy=97.5, best_accuracy=98.125, best_epoch=2, epochs_completed=3, train_seconds=12.34),
         "finished: final accuracy 97.50 % (best 98.12 % at epoch 2), 12.3 s of training"),
        (RunFinished(run_id=RUN, final_accuracy=78.0, best_accuracy=78.0, best_epoch=1, epochs_completed=1, train_seconds=0.032),
         "finished: final accuracy 78.00 % (best 78.00 % at epoch 1), 32 ms of training"),  # smoke's: not "0.0 s"
        (RunStopped(run_id=RUN, epoch=2, step=40, epochs_completed=1),
         f"stopped at epoch 2, step 8; continue with: mnist-tui --resume runs/{RUN}"),
        (RunDiverged(run_id=RUN, epoch=2, step=35, loss=float("nan")),
         "diverged: the loss became nan at epoch 2, step 3; try a smaller lr"),
        (RunFailed(run_id=RUN, error="bad things", reason="error"), "error: bad things"),
    ],
)
def test_each_ending_is_described_in_one_sentence(event: Terminal, expected: str) -> None:
    """A stop or a divergence names its step within the epoch, as the report lines count it."""
    assert describe_end(event, f"runs/{RUN}", steps_per_epoch=32) == expected


@pytest.mark.parametrize(
    ("event", "fail_under", "signal_code", "code"),
    [
        (RunFinished(run_id=RUN, final_accuracy=97.0, best_accuracy=97.0, best_epoch=1, epochs_completed=1, train_seconds=1.0), None, None, 0),
        (RunFinished(run_id=RUN, final_accuracy=97.0, best_accuracy=97.0, best_epoch=1, epochs_completed=1, train_seconds=1.0), 97.0, None, 0),
        (RunFinished(run_id=RUN, final_accuracy=97.0, best_accuracy=98.0, best_epoch=1, epochs_completed=1, train_seconds=1.0), 97.5, None, 4),
        (RunFailed(run_id=RUN, error="x", reason="error"), None, None, 1),
        (RunFailed(run_id=RUN, error="x", reason="config"), None, None, 2),
        (RunFailed(run_id=RUN, error="x", reason="data"), None, None, 2),
        (RunFailed(run_id=RUN, error="x", reason="checkpoint"), None, None, 2),
        (RunDiverged(run_id=RUN, epoch=1, step=3, loss=1e9), 50.0, None, 3),
        (RunStopped(run_id=RUN, epoch=1, step=3, epochs_completed=0), None, None, 130),
        (RunStopped(run_id=RUN, epoch=1, step=3, epochs_completed=0), None, 143, 143),
        (RunStopped(run_id=RUN, epoch=1, step=3, epochs_completed=0), None, 129, 129),
        (None, None, None, 1),
    ],
)
def test_exit_codes_follow_the_readme(event: Terminal | None, fail_under: float | None, signal_code: int | None, code: int) -> None:
    assert exit_code(event, fail_under=fail_under, signal_code=signal_code) == code


def test_the_engine_trains_with_a_short_gil_switch_interval_then_it_is_restored(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path
) -> None:
    """Beside Rich's refresh thread, the engine waits at most 0.1 ms for the GIL (mnist_tui/gil.py)."""
    import sys

    from mnist_tui import headless
    from mnist_tui.gil import SWITCH_INTERVAL

    seen: list[float] = []
    real = headless.events_for

    def recorded(options: object, stop: object):  # type: ignore[no-untyped-def]
        for event in real(options, stop):  # type: ignore[arg-type]
            seen.append(sys.getswitchinterval())
            yield event

    monkeypatch.setattr(headless, "events_for", recorded)
    before = sys.getswitchinterval()
    assert main(smoke_argv(data_dir, tmp_path)) == 0
    assert seen and all(value == pytest.approx(SWITCH_INTERVAL) for value in seen)
    assert sys.getswitchinterval() == before


def test_a_one_digit_evaluation_set_is_called_one_digit(capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path) -> None:
    """A holdout of 0.00002 evaluates on one digit: its 100 % (or 0 %) was printed with no word of it (QA)."""
    argv = smoke_argv(data_dir, tmp_path, "--set", "eval_split=holdout", "--set", "holdout_fraction=0.00002")
    assert main([*argv[:4], "1", *argv[5:]]) == 0  # one epoch
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(
        "evaluated on 1 (0.002 % holdout of training set); only 1 evaluation digit: its accuracy moves in steps of 100 %"
    ), first


def test_few_evaluation_digits_are_named_below_a_thousand() -> None:
    from mnist_tui.engine.events import few_eval_digits

    assert [few_eval_digits(size) for size in (1, 2, 999, 1000, 10_000)] == [
        "only 1 evaluation digit", "only 2 evaluation digits", "only 999 evaluation digits", None, None,
    ]
    assert few_eval_digits(12, short=True) == "only 12 eval digits"


def test_the_bars_time_left_stands_still_while_paused_and_leaves_the_pause_out_after() -> None:
    """QA: Rich's speed, averaged over its last 30 s, took a 30 s pause in: after the resume the bars
    said a run of 10 steps a second had twice its time left, for half a minute."""
    from mnist_tui.engine.events import RunPaused, RunResumed
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.headless import RichPrinter
    from tui_script import batch, started

    now = [0.0]
    printer = RichPrinter()
    printer.progress.get_time = lambda: now[0]  # type: ignore[method-assign]
    try:
        config = load_preset("smoke").replace(epochs=10)
        printer.show(started("r", config))
        run = printer.progress.tasks[printer.run_task]

        def steps(first: int, last: int) -> None:
            for step in range(first, last + 1):
                now[0] += 0.1  # 10 steps a second
                printer.show(batch("r", step))

        steps(1, 100)
        steady = run.time_remaining
        assert steady == pytest.approx((run.total - 100) / 10, rel=0.05)
        printer.show(RunPaused(run_id="r", epoch=2, step=100))
        now[0] += 30
        assert run.time_remaining is None  # "-:--:--": nothing trains
        printer.show(RunResumed(run_id="r", epoch=2, step=100))
        steps(101, 120)
        assert run.time_remaining == pytest.approx((run.total - 120) / 10, rel=0.05)
        assert run.completed == 120
    finally:
        printer.close()
