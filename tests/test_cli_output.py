"""What the command prints, and how it ends, when its output cannot be written, when Ctrl+C comes
while it loads, when it tells how to resume a run, and when run names are hostile or too long.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_env

from mnist_tui.command import Options, build_parser, main, resolve
from mnist_tui.engine.events import BatchReported, CheckpointSaved, Event, RunFailed, RunStopped
from mnist_tui.headless import LinePrinter, describe_end, resume_flags

TINY = ("--preset", "smoke", "--set", "train_limit=256", "--set", "eval_limit=200", "--device", "cpu")
STAMP = "-20261202-034835-7546"
LONG_RUN = "a" * 67 + STAMP  # 88 characters, as QA's
DEV_FULL = Path("/dev/full")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """One real headless run of a few hundred digits (in this process: no second torch import)."""
    root = tmp_path_factory.mktemp("runs")
    assert main(["--no-ui", *TINY, "--runs-dir", str(root), "--data-dir", str(data_dir)]) == 0
    (run,) = root.iterdir()
    return run


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A white stroke on black: something to classify."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (56, 56))
    ImageDraw.Draw(picture).line((28, 8, 28, 48), fill=255, width=6)
    path = tmp_path / "one.png"
    picture.save(path)
    return path


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "mnist_tui", *map(str, args)]


# --- 1. an output that cannot be written ---------------------------------------------------------


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full (Linux)")
def test_a_full_stdout_stops_the_headless_run_with_its_checkpoint_and_one_line(data_dir: Path, tmp_path: Path) -> None:
    """``mnist-tui --no-ui ... >/dev/full`` printed a traceback, exit 1, and left the run ``running`` without last.pt."""
    runs = tmp_path / "runs"
    with DEV_FULL.open("w") as full:
        result = subprocess.run(
            command("--no-ui", "--preset", "smoke", "--device", "cpu", "--runs-dir", runs, "--data-dir", data_dir),
            stdout=full, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path, timeout=300,
        )
    (run,) = runs.iterdir()
    assert result.returncode == 1
    assert result.stderr == (
        "mnist-tui: cannot write the output: No space left on device; stopped at epoch 1, step 0; "
        f"continue with: mnist-tui --resume {run} --no-ui --data-dir {data_dir}\n"
    )
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped" and (run / "last.pt").is_file()


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    "args",
    [["runs"], ["runs", "--json"], ["compare", "RUN", "COPY"], ["predict", "RUN", "IMAGE"], ["--list-presets"]],
    ids=["runs", "runs-json", "compare", "predict", "list-presets"],
)
def test_a_full_stdout_fails_every_command_with_one_line_and_exit_1(
    finished_run: Path, image: Path, tmp_path: Path, args: list[str]
) -> None:
    """Each of these printed ``OSError: [Errno 28] No space left on device`` under a traceback."""
    copy = tmp_path / "copy" / finished_run.name  # compare takes a run named twice once, and needs two
    shutil.copytree(finished_run, copy)
    argv = [{"RUN": str(finished_run), "COPY": str(copy), "IMAGE": str(image)}.get(arg, arg) for arg in args]
    if args[0] == "runs":
        argv += ["--runs-dir", str(finished_run.parent)]
    with DEV_FULL.open("w") as full:
        result = subprocess.run(command(*argv), stdout=full, stderr=subprocess.PIPE, text=True, env=cli_env(), timeout=120)
    name = "mnist-tui" + ("" if args[0].startswith("-") else f" {args[0]}")
    assert (result.returncode, result.stderr) == (1, f"{name}: cannot write the output: No space left on device\n")


@pytest.mark.parametrize(
    "args",
    [["--no-ui", "--preset", "smoke", "--runs-dir", "RUNS"], ["runs", "--runs-dir", "RUN/.."], ["predict", "RUN", "IMAGE"],
     ["--list-presets"]],
    ids=["train", "runs", "predict", "list-presets"],
)
def test_a_closed_stdout_is_one_line_and_exit_1_with_nothing_trained(
    finished_run: Path, image: Path, tmp_path: Path, args: list[str]
) -> None:
    """``>&-``: ``AttributeError: 'NoneType' object has no attribute 'isatty'`` (or 'flush'), exit 1."""
    names = {"RUNS": str(tmp_path / "runs"), "RUN": str(finished_run), "IMAGE": str(image), "RUN/..": str(finished_run.parent)}
    argv = command(*(names.get(arg, arg) for arg in args))
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *argv], stderr=subprocess.PIPE, text=True, env=cli_env(), timeout=120
    )
    name = "mnist-tui" + ("" if args[0].startswith("-") else f" {args[0]}")
    assert (result.returncode, result.stderr) == (1, f"{name}: cannot write the output: stdout is closed\n")
    assert not (tmp_path / "runs").exists(), "nothing was started"


class FillingStdout:
    """A stdout on a disk that fills up: writes fail with ENOSPC once a line holding ``full_at`` is written."""

    def __init__(self, full_at: str, scratch: Path) -> None:
        self.full_at = full_at
        self.lines: list[str] = []
        self.full = False
        self.scratch = os.open(scratch, os.O_WRONLY | os.O_CREAT)  # what the command silences, not pytest's fd 1

    def write(self, text: str) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.lines.append(text)
        self.full = self.full_at in text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.scratch


def test_a_disk_that_fills_mid_run_stops_the_run_after_its_epoch_with_exit_1(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first refused line stops the run gracefully: checkpoint, summary, and one line on stderr."""
    stdout = FillingStdout("epoch 1/3:", tmp_path / "scratch")
    monkeypatch.setattr(sys, "stdout", stdout)
    runs = tmp_path / "runs"
    code = main(["--no-ui", *TINY, "--epochs", "3", "--runs-dir", str(runs), "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    (run,) = runs.iterdir()
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("mnist-tui: cannot write the output: No space left on device; stopped at ")
    assert f"continue with: mnist-tui --resume {run} --no-ui --data-dir {data_dir}" in err
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["status"], summary["epochs_completed"]) == ("stopped", 1) and (run / "last.pt").is_file()
    assert not any(line.startswith("epoch 2 ") for line in stdout.lines)


def test_the_exit_code_of_an_unwritable_output_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    build_parser().print_help()
    assert "1 failed or the output could not be written" in " ".join(capsys.readouterr().out.split())


# --- 2. Ctrl+C while the command loads ---------------------------------------------------------

INTERRUPT_ON_IMPORT = """
import os, signal, sys

class Interrupt:
    '''Ctrl+C at the moment {module} starts loading, as a person's may come at any moment.'''
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv = ["mnist-tui", *{args!r}]
from mnist_tui.__main__ import main  # what the console script runs
sys.exit(main())
"""


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("mnist_tui.engine.lock", ["--no-ui", "--preset", "smoke", "--runs-dir", "RUNS"]),  # QA's traceback
        ("mnist_tui.engine.events", ["--no-ui", "--preset", "smoke", "--runs-dir", "RUNS"]),
        ("mnist_tui.headless", ["--no-ui", "--preset", "smoke", "--runs-dir", "RUNS"]),
        ("torch", ["--no-ui", "--preset", "smoke", "--runs-dir", "RUNS"]),  # the stop handler is in place: no folder made
        ("mnist_tui.command", ["runs", "--runs-dir", "RUNS"]),
        ("mnist_tui.runs", ["runs", "--runs-dir", "RUNS"]),
        ("mnist_tui.engine.predictor", ["predict", "RUNS", "image.png"]),
    ],
    ids=["lock", "events", "headless", "torch", "command", "runs", "predict"],
)
def test_ctrl_c_while_the_command_loads_is_one_line_and_130(tmp_path: Path, module: str, args: list[str]) -> None:
    """A Ctrl+C in the first fraction of a second printed a ``KeyboardInterrupt`` traceback."""
    args = [str(tmp_path / "runs") if arg == "RUNS" else arg for arg in args]
    script = INTERRUPT_ON_IMPORT.format(module=module, args=args)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=cli_env(), cwd=tmp_path, timeout=120
    )
    assert (result.returncode, result.stderr, result.stdout) == (130, "mnist-tui: interrupted\n", "")
    assert not (tmp_path / "runs").exists()


# --- 3. the resume hint ------------------------------------------------------------------------


def options_for(*argv: str) -> Options:
    return resolve(build_parser().parse_args(list(argv)))


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        (["--no-ui", "--data-dir", "/data/my mnist"], ("--no-ui", "--data-dir", "/data/my mnist")),
        (["--jsonl", "--data-dir", "d"], ("--no-ui", "--data-dir", "d")),
        (["--no-ui"], ("--no-ui",)),
        ([], ()),  # the dashboard, with the default data folder
    ],
)
def test_a_resume_repeats_headless_and_the_data_folder(monkeypatch: pytest.MonkeyPatch, argv: list[str], flags: tuple) -> None:
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)
    assert resume_flags(options_for(*argv)) == flags


def test_a_resume_repeats_a_runs_folder_other_than_the_runs_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mnist_tui.engine.presets import config_to_toml, load_preset

    """Resumed from runs/ with --runs-dir elsewhere, the printed command keeps it (its Runs view
    and its next runs stay there); a resume in the run's own runs folder needs no flag."""
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs" / "smoke-1"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(config_to_toml(load_preset("smoke")))
    (tmp_path / "elsewhere").mkdir()
    assert resume_flags(options_for("--resume", "runs/smoke-1", "--runs-dir", "elsewhere")) == ("--runs-dir", "elsewhere")
    assert resume_flags(options_for("--resume", "runs/smoke-1", "--runs-dir", str(tmp_path / "runs"))) == ()
    assert resume_flags(options_for("--resume", "runs/smoke-1")) == ()
    assert resume_flags(options_for("--resume", "smoke-1", "--runs-dir", "runs", "--no-ui")) == ("--no-ui",)


def test_the_resume_hint_is_quoted_for_the_shell() -> None:
    stopped = RunStopped(run_id="r", epoch=2, step=40, epochs_completed=1)
    flags = ("--no-ui", "--data-dir", "/data/my mnist")
    assert describe_end(stopped, "runs/it's", flags, steps_per_epoch=32) == (
        "stopped at epoch 2, step 8; continue with: "
        "mnist-tui --resume 'runs/it'\"'\"'s' --no-ui --data-dir '/data/my mnist'"
    )


def test_a_write_failure_names_the_whole_command_that_resumes_it() -> None:
    """The engine's message names the folder; the headless run adds the flags of its command line."""
    failed = RunFailed(
        run_id="r", reason="write",
        error="cannot write runs/a b/last.pt: No space left on device; its last checkpoint (epoch 1, step 0) "
              "resumes the run once that is fixed: mnist-tui --resume runs/a b",
    )
    said = describe_end(failed, "runs/a b", ("--no-ui", "--data-dir", "d"))
    assert said.endswith("once that is fixed: mnist-tui --resume 'runs/a b' --no-ui --data-dir d")
    assert describe_end(failed, "runs/a b") == f"error: {failed.error}"


def test_a_run_folder_that_cannot_be_written_names_its_checkpoint_as_the_reports_count_it(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "its last checkpoint (epoch 2, step 8)": the run's step, where the reports count step 4 of epoch 2."""
    show, write = LinePrinter.show, os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def show_then_fill_the_disk(self: LinePrinter, event: Event) -> None:
        show(self, event)
        if isinstance(event, CheckpointSaved) and event.epoch == 2:  # only the event log writes with os.write
            monkeypatch.setattr(os, "write", full)

    monkeypatch.setattr(LinePrinter, "show", show_then_fill_the_disk)
    runs = tmp_path / "runs"
    code = main(["--no-ui", *TINY, "--epochs", "3", "--runs-dir", str(runs), "--data-dir", str(data_dir)])
    monkeypatch.setattr(os, "write", write)
    (run,) = runs.iterdir()
    assert code == 1
    assert capsys.readouterr().err == (  # 4 steps an epoch
        f"mnist-tui: error: cannot write {run / 'events.jsonl'}: No space left on device; its last checkpoint "
        f"(epoch 2, step 4) resumes the run once that is fixed: mnist-tui --resume {run} --no-ui --data-dir {data_dir}\n"
    )


def test_the_hint_after_ctrl_c_is_a_command_that_resumes_the_run_as_printed(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was ``mnist-tui --resume RUN``: no --no-ui (a dashboard opened) and no --data-dir (the data not found)."""
    spaced = tmp_path / "my data"
    spaced.symlink_to(data_dir, target_is_directory=True)
    show = LinePrinter.show
    before = signal.getsignal(signal.SIGINT)

    def show_then_interrupt(self: LinePrinter, event: Event) -> None:
        show(self, event)
        if isinstance(event, BatchReported) and event.step == 37:  # epoch 2's first report
            assert signal.getsignal(signal.SIGINT) not in (before, signal.SIG_DFL), "no handler installed"
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(LinePrinter, "show", show_then_interrupt)
    runs = tmp_path / "runs"
    smoke = ["--preset", "smoke", "--epochs", "2", "--device", "cpu"]  # 32 batches an epoch, a report every 5
    assert main(["--no-ui", *smoke, "--runs-dir", str(runs), "--data-dir", str(spaced)]) == 130
    (hint,) = [line for line in capsys.readouterr().out.splitlines() if "continue with: " in line]
    assert hint.startswith("stopped at epoch 2, step 5; "), "the step as the report lines count it"
    argv = shlex.split(hint.split("continue with: ")[1])
    (run,) = runs.iterdir()
    assert argv == ["mnist-tui", "--resume", str(run), "--no-ui", "--data-dir", str(spaced)]
    monkeypatch.setattr(LinePrinter, "show", show)
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)  # the data is found through the hint alone
    assert main(argv[1:]) == 0, capsys.readouterr().err
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"


# --- 4. control characters in names and summaries ----------------------------------------------

HOSTILE_RUN = "esc\x1b[31mred"
HOSTILE_NAME = "x\x1b[2Jy"


@pytest.fixture(scope="module")
def hostile_runs(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of a real run: one folder named with an escape sequence, one whose summary's name and
    evaluation set clear the screen and whose device is Rich markup that does not parse."""
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(finished_run, root / HOSTILE_RUN)
    shutil.copytree(finished_run, root / "[bold]b")
    summary = json.loads((root / "[bold]b" / "summary.json").read_text())
    hostile = {**summary, "name": HOSTILE_NAME, "evaluated_on": HOSTILE_NAME, "device": "[/]"}
    (root / "[bold]b" / "summary.json").write_text(json.dumps(hostile))
    return root


def on_a_terminal(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    """The listing draws Rich's table, at ``columns`` wide (Rich's Console and the fitting read COLUMNS)."""
    from mnist_tui import runs, table

    monkeypatch.setattr(table, "on_terminal", lambda: True)
    monkeypatch.setattr(runs, "on_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("LINES", "40")


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "rich"])
def test_runs_shows_control_characters_escaped(
    hostile_runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], terminal: bool
) -> None:
    """``mnist-tui runs | cat -v`` showed ``esc^[[31mred``: the terminal took the name's colour, or cleared."""
    from mnist_tui import runs

    if terminal:
        on_a_terminal(monkeypatch, 200)
    assert runs.main(["--runs-dir", str(hostile_runs)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "esc\\x1b[31mred" in out and "x\\x1b[2Jy" in out
    assert "[bold]b" in out and "[/]" in out, "markup is shown as typed, not read"


def test_compare_shows_control_characters_escaped(hostile_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mnist_tui import compare

    assert compare.main([str(hostile_runs / HOSTILE_RUN), str(hostile_runs / "[bold]b")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "esc\\x1b[31mred" in out and "x\\x1b[2Jy" in out


def test_printable_escapes_controls_and_invisible_reordering_only() -> None:
    from mnist_tui.table import printable

    assert printable("a\u202eb\tc\x9b\nd\u2028") == "a\\u202eb\\tc\\x9b\\nd\\u2028"
    assert printable("ünï 数字 [x] a\\b") == "ünï 数字 [x] a\\b"


# --- 5. a terminal too narrow for every column -------------------------------------------------


@pytest.fixture(scope="module")
def crowded_runs(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real run, a second of the same name a second later, an 88-character one and a damaged folder."""
    root = tmp_path_factory.mktemp("crowded")
    for name in (finished_run.name, "smoke" + STAMP.replace("7546", "aaaa"), LONG_RUN, "damaged"):
        shutil.copytree(finished_run, root / name)
    (root / "damaged" / "events.jsonl").unlink()
    return root


def rich_rows(out: str) -> tuple[list[str], list[list[str]]]:
    """The header and the cells of each row of a Rich table as drawn (one line each: nothing wraps)."""
    lines = out.splitlines()
    header = [cell.strip() for cell in lines[1].strip("┃").split("┃")]
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]
    return header, rows


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_on_a_narrow_terminal_no_value_is_cut_and_run_names_keep_both_ends(
    crowded_runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], width: int
) -> None:
    """QA saw ``fini…`` and ``89.…`` at 120 columns, a lone run column running off the screen at 80,
    and empty state, epochs and accuracy cells at 40."""
    from mnist_tui import runs

    on_a_terminal(monkeypatch, width)
    assert runs.main(["--runs-dir", str(crowded_runs)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines) and lines[-1].endswith("┘"), out
    header, rows = rich_rows(out)
    expected = {"state": {"finished", "damaged"}, "epochs": {"1/1"}, "final %": {f"{s:.2f}" for s in _accuracies(crowded_runs)}}
    expected["best %"] = expected["final %"]
    assert {"run", "state", "final %"} <= set(header), header
    if width >= 60:
        assert {"epochs", "best %"} <= set(header)
    for column, values in expected.items():
        if column in header:
            assert {row[header.index(column)] for row in rows} == values, (column, out)
    if width < 200:  # the columns missed least went first
        assert not {"preset", "name", "device"} & set(header)
    names = [row[0] for row in rows]
    assert len(set(names)) == len(names), "every run still tells itself apart"
    folders = {folder.name for folder in crowded_runs.iterdir()}
    for shown in names:
        if shown not in folders:
            start, end = shown.split("…")
            (folder,) = [f for f in folders if f.startswith(start) and f.endswith(end)]
            assert len(start) >= 3 and "-" + folder.rsplit("-", 1)[1] in end, "its random suffix is whole"


def _accuracies(root: Path) -> set[float]:
    return {json.loads((folder / "summary.json").read_text())["final_test_accuracy"] for folder in root.iterdir()}


def test_at_120_columns_the_long_name_is_shortened_in_the_middle_beside_whole_values(
    crowded_runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mnist_tui import runs

    on_a_terminal(monkeypatch, 120)
    assert runs.main(["--runs-dir", str(crowded_runs)]) == 0
    header, rows = rich_rows(capsys.readouterr().out)
    assert header == ["run", "state", "epochs", "final %", "best %"]
    (long,) = [row[0] for row in rows if row[0].startswith("aaaa")]
    assert long.endswith("…" + STAMP) and len(long) < len(LONG_RUN)
    assert {row[0] for row in rows} - {long} == {f.name for f in crowded_runs.iterdir()} - {LONG_RUN}, "the others stay whole"


@pytest.mark.parametrize(
    ("text", "width", "shown"),
    [
        (LONG_RUN, 37, "a" * 15 + "…" + STAMP),
        ("smoke" + STAMP, 16, "smoke…34835-7546"),
        ("smoke" + STAMP, 12, "smo…835-7546"),
        ("damaged", 5, "da…ed"),
        ("damaged", 7, "damaged"),
        ("数字" * 10 + STAMP, 20, "数字数…2-034835-7546"),  # a wide character takes two cells
    ],
)
def test_a_name_is_shortened_in_its_middle_keeping_its_unique_end(text: str, width: int, shown: str) -> None:
    from rich.cells import cell_len

    from mnist_tui.table import shorten_middle

    assert shorten_middle(text, width) == shown and cell_len(shown) <= width


def test_the_order_columns_are_left_out_in() -> None:
    """The README's five first, then the damage reasons; best and epochs only when a name would be unreadable."""
    from mnist_tui.engine.run_rows import COLUMNS
    from mnist_tui.runs import fit_columns

    cells = [{
        "run": "smoke" + STAMP, "name": "smoke", "preset": "smoke", "state": "finished", "epochs": "1/1",
        "final": "52.00", "best": "52.00", "time": "0.0s", "device": "cpu", "date": "2026-12-02 03:48",
        "damage": "no events.jsonl",
    }]
    kept = {width: [key for key, _, _ in fit_columns(list(COLUMNS), cells, width)[0]] for width in (200, 110, 90, 60, 40, 30)}
    assert kept[200] == [key for key, _, _ in COLUMNS]
    assert kept[110] == ["run", "state", "epochs", "final", "best", "date", "damage"]
    assert kept[90] == ["run", "state", "epochs", "final", "best", "damage"]
    assert kept[60] == ["run", "state", "epochs", "final", "best"]
    assert kept[40] == kept[30] == ["run", "state", "final"]
