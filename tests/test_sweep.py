"""``mnist-tui sweep``: trials as runs, a study other processes see, pruning, dead workers, Ctrl+C, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import cli_env

optuna = pytest.importorskip("optuna")

SPACE = """
lr = { low = 1e-4, high = 1e-1, log = true }
hidden = { choices = [[16], [32, 16]] }
"""
TINY = ("--set", "train_limit=300", "--set", "eval_limit=200", "--set", "device=cpu")
"""Trials of a few batches: the sweep's machinery is tested, not MNIST."""


@pytest.fixture
def space(tmp_path: Path) -> Path:
    path = tmp_path / "S.toml"
    path.write_text(SPACE)
    return path


def sweep_command(data_dir: Path, runs: Path, space: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "mnist_tui", "sweep", "--no-ui", "--preset", "smoke", "--space", str(space),
        "--data-dir", str(data_dir), "--runs-dir", str(runs), *TINY, *args,
    ]


def load_trials(storage: str, study: str) -> dict[str, Any]:
    """The study as a separate Python process sees it through ``optuna.load_study``."""
    code = f"""
import json, optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
storage = {storage}
study = optuna.load_study(study_name={study!r}, storage=storage)
trials = [dict(number=t.number, state=t.state.name, value=t.value, attrs=t.user_attrs, params=t.params)
          for t in study.trials]
complete = [t for t in study.trials if t.state.name == "COMPLETE"]
print(json.dumps(dict(trials=trials, best=study.best_value if complete else None,
                      best_number=study.best_trial.number if complete else None)))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def journal(runs: Path) -> str:
    return f"JournalStorage(JournalFileBackend({str(runs / 'sweeps.journal')!r}))"


def summary_of(run_dir: str) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "summary.json").read_text())


@pytest.mark.slow
def test_eight_trials_on_two_workers_are_runs_the_study_records(data_dir: Path, tmp_path: Path, space: Path) -> None:
    runs, best_file = tmp_path / "runs", tmp_path / "best.toml"
    command = sweep_command(data_dir, runs, space, "--trials", "8", "--workers", "2", "--set", "epochs=2",
                            "--export-best", str(best_file))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=cli_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 worker(s) x" in result.stdout

    seen = load_trials(journal(runs), "smoke-S")
    trials = seen["trials"]
    assert [t["number"] for t in trials] == list(range(8))
    assert {t["state"] for t in trials} <= {"COMPLETE", "PRUNED"}
    assert len({t["attrs"]["pid"] for t in trials}) == 2  # both workers trained
    folders = sorted(p.name for p in runs.iterdir() if p.is_dir())
    assert len(folders) == 8
    for trial in trials:
        run_dir = Path(trial["attrs"]["run_dir"])
        assert run_dir.parent == runs and run_dir.name.startswith(f"smoke-S-t{trial['number']:04d}-")
        summary = summary_of(str(run_dir))
        assert summary["sweep"]["study"] == "smoke-S" and summary["sweep"]["trial"] == trial["number"]
        assert summary["sweep"]["state"] == trial["state"].lower()
        assert summary["sweep"]["params"] == trial["params"]
        if trial["state"] == "COMPLETE":
            assert summary["final_test_accuracy"] == trial["value"] and summary["epochs_completed"] == 2
        else:
            assert summary["status"] == "stopped" and summary["epochs_completed"] == 1
    # Each finished trial got its leaderboard line; the final table ranks the best first.
    lines = [line for line in result.stdout.splitlines() if line.startswith("trial ")]
    assert sorted(int(line.split()[1]) for line in lines) == list(range(8))
    table = result.stdout.split("rank  trial")[1].splitlines()
    assert table[1].split()[:2] == ["1", str(seen["best_number"])]
    assert f"{seen['best']:.2f}" in table[1]

    from mnist_tui.engine.presets import load_config_file, load_preset

    exported = load_config_file(best_file)
    best = trials[seen["best_number"]]
    assert exported.lr == best["params"]["lr"]
    assert exported.hidden == tuple(int(h) for h in best["params"]["hidden"].split(","))
    assert exported.replace(lr=0.003, hidden=(64,), name="smoke") == load_preset("smoke").replace(
        train_limit=300, eval_limit=200, device="cpu", epochs=2
    )


LONG_TRIALS = ("--set", "train_limit=60000")
"""Trials of seconds, not a fraction of one: a poll of the journal sees them training however fast the machine."""


def running_trial(runs: Path, study: str, deadline: float, process: subprocess.Popen[str]) -> dict[str, Any]:
    """Wait for a trial that is training (its run folder exists) and return it (read in this process)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = runs / "sweeps.journal"
    while time.time() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the sweep ended (exit {process.returncode}) before a trial was seen training:\n{out}\n{err}")
        if path.exists():
            try:
                trials = optuna.load_study(study_name=study, storage=JournalStorage(JournalFileBackend(str(path)))).trials
            except KeyError:  # not created yet
                trials = []
            for trial in trials:
                if trial.state.name == "RUNNING" and "run_dir" in trial.user_attrs:
                    return {"number": trial.number, "attrs": trial.user_attrs}
        time.sleep(0.2)
    pytest.fail("no trial started training in time")


@pytest.mark.slow
def test_a_worker_killed_mid_trial_fails_its_trial_and_the_sweep_runs_its_count(
    data_dir: Path, tmp_path: Path, space: Path
) -> None:
    runs = tmp_path / "runs"
    # Long enough trials (8 epochs of 60,000 digits) that the kill lands mid-run.
    options = ("--workers", "1", "--pruner", "none", "--set", "epochs=8", *LONG_TRIALS)
    command = sweep_command(data_dir, runs, space, "--trials", "2", *options)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path)
    try:
        victim = running_trial(runs, "smoke-S", time.time() + 120, process)
        os.kill(victim["attrs"]["pid"], signal.SIGKILL)
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 0, err
    trials = load_trials(journal(runs), "smoke-S")["trials"]
    states = {t["number"]: t["state"] for t in trials}
    assert states.pop(victim["number"]) == "FAIL"
    assert sorted(states.values()) == ["COMPLETE", "COMPLETE"]  # its count, by a worker started in its place
    assert len({t["attrs"]["pid"] for t in trials}) == 2
    assert f"worker process {victim['attrs']['pid']} died" in out
    assert f"trial {victim['number']:>3} worker died" in out



@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_exits_130_and_the_same_command_resumes(
    data_dir: Path, tmp_path: Path, space: Path
) -> None:
    runs = tmp_path / "runs"
    command = sweep_command(data_dir, runs, space, "--trials", "20", "--workers", "2", "--pruner", "none",
                            "--set", "epochs=10", *LONG_TRIALS)
    # Its own process group, as a terminal's foreground job: Ctrl+C reaches the parent and every worker.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                               cwd=tmp_path, start_new_session=True)
    try:
        running_trial(runs, "smoke-S", time.time() + 120, process)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    trials = load_trials(journal(runs), "smoke-S")["trials"]
    assert trials and not [t for t in trials if t["state"] == "RUNNING"]
    interrupted = [t for t in trials if t["attrs"].get("outcome") == "interrupted"]
    assert interrupted and all(t["state"] == "FAIL" for t in interrupted)
    for trial in interrupted:  # stopped gracefully: checkpointed, the summary says so
        summary = summary_of(trial["attrs"]["run_dir"])
        assert summary["status"] == "stopped" and summary["sweep"]["state"] == "failed"
    deadline = time.time() + 10
    while time.time() < deadline:  # every process of the group is gone
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("a worker outlived the sweep")

    # The same command again resumes the study: trial numbers continue.
    command[command.index("--trials") + 1] = "1"
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=cli_env(), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{len(trials)} earlier trial(s)" in again.stdout
    after = load_trials(journal(runs), "smoke-S")["trials"]
    assert [t["number"] for t in after] == list(range(len(trials) + 1)) and after[-1]["state"] == "COMPLETE"


BAD_SPACES = {
    "unknown field": ("lrr = { low = 1e-4, high = 1e-1 }", "S.toml: unknown key 'lrr' (did you mean 'lr'?)"),
    "reversed range": ("lr = { low = 1e-1, high = 1e-4 }", "S.toml: lr: low (0.1) must be below high (0.0001)"),
    "empty choices": ("optimizer = { choices = [] }", "S.toml: optimizer: choices must be a non-empty list, not []"),
    "forbidden value": ("lr = { low = 0, high = 1e-1 }", "S.toml: lr low: lr must be greater than 0, not 0.0"),
    "float step not dividing": (
        "lr = { low = 0.01, high = 0.1, step = 0.04 }", "S.toml: lr: high - low (0.09000000000000001) must be a multiple of step (0.04)"
    ),
    "tiny step": ("lr = { low = 0.001, high = 0.002, step = 1e-300 }", "S.toml: lr: step 1e-300 gives more than 1,000,000 values; use a larger step, or none"),
    "a combination inside the ranges": (
        "batch_norm = { choices = [true, false] }\ntrain_limit = { low = 100, high = 200 }",
        "S.toml: batch_norm = true, train_limit = 129 together: batch_size 64 leaves a last batch of 1 digit (129 training "
        "digits), and batch norm cannot train on a batch of one digit; set drop_last = true or change batch_size",
    ),
    "too many choices": (
        "lr = { choices = [" + ", ".join(f"{0.001 + k * 1e-6}" for k in range(1001)) + "] }",
        "S.toml: lr: 1,001 choices; at most 1,000 (a range searches more values)",
    ),
}


@pytest.mark.parametrize("case", BAD_SPACES)
def test_a_bad_space_exits_2_and_creates_no_study(case: str, cli: Callable[..., Any], tmp_path: Path) -> None:
    text, message = BAD_SPACES[case]
    (tmp_path / "S.toml").write_text(text + "\n")
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--trials", "1", "--runs-dir", "runs")
    assert result.returncode == 2
    assert result.stderr.strip() == f"mnist-tui sweep: error: {message}"
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # no journal, so no study


@pytest.mark.parametrize(
    "args, message",
    [
        (("--storage", "sqlite:///s.db", "--workers", "2"), "Optuna does not support SQLite for parallel workers"),
        (("--workers", "0"), "--workers must be at least 1, not 0"),
        (("--study", "a b"), "--study must be letters, digits, '.', '_' or '-'"),
        (("--set", "lr=0.01"), "lr is fixed by --set and searched by S.toml: drop one"),
        (("--data-dir", "missing"), "data folder missing does not exist"),
        (("--storage", "nosuchdb://x"), "--storage nosuchdb://x: cannot open it"),
        (("--storage", "sqlite://"), "--storage sqlite:// is an in-memory database"),
        (("--study", ""), "starting with a letter or digit (it names run folders), not ''"),
        (("--study", "s" * 59), f"not {'s' * 59!r}; at most 58 characters"),  # its trials' names: 64 at most
        (("--study=-y",), "starting with a letter or digit (it names run folders), not '-y'"),
        (("--export-best", "."), "--export-best . is a folder; name a file in it"),
        (("--export-best", "/proc/best.toml"), "--export-best /proc/best.toml cannot be written ("),
    ],
)
def test_bad_options_exit_2_before_any_study(
    args: tuple[str, ...], message: str, cli: Callable[..., Any], tmp_path: Path, space: Path, data_dir: Path
) -> None:
    # The real data folder first: a later --data-dir replaces it; nothing may try to download.
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--runs-dir", "runs",
                 "--data-dir", str(data_dir), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists() and not (tmp_path / "s.db").exists()


HUGE = ",".join(["65536"] * 8)
"""Eight layers of 65,536: about 30 billion parameters, which no machine's memory holds."""


@pytest.mark.parametrize(
    "space_text, args",
    [
        (f"hidden = {{ choices = [[16], [{HUGE}]] }}", ()),  # a corner of the space
        ("lr = { low = 1e-4, high = 1e-1, log = true }", ("--set", f"hidden={HUGE}")),  # the base config
    ],
    ids=["a choice", "the base"],
)
def test_a_model_too_large_for_memory_exits_2_before_any_study(
    space_text: str, args: tuple[str, ...], cli: Callable[..., Any], tmp_path: Path, data_dir: Path
) -> None:
    """Training's memory check, applied before the study: each trial failed it once the study existed."""
    (tmp_path / "S.toml").write_text(space_text + "\n")
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--trials", "2", "--runs-dir", "runs",
                 "--data-dir", str(data_dir), *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"mnist-tui sweep: error: hidden = [{HUGE.replace(',', ', ')}] with adam needs about ")
    assert result.stderr.rstrip().endswith("use fewer or smaller hidden layers") and result.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # no journal, so no study


def test_a_journal_path_whose_folder_is_missing_is_refused_not_created(
    cli: Callable[..., Any], tmp_path: Path, space: Path, data_dir: Path
) -> None:
    """A typo in a shared journal's path made a second study in a new folder."""
    (tmp_path / "shared").mkdir()
    sweep = ("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--trials", "0", "--data-dir", str(data_dir))
    typo = cli(*sweep, "--storage", "shard/s.journal")
    assert (typo.returncode, typo.stderr) == (2, "mnist-tui sweep: error: --storage shard/s.journal: its folder does not exist\n")
    assert not (tmp_path / "shard").exists() and not (tmp_path / "runs").exists()
    make_study(tmp_path / "shared" / "s.journal", space)
    named = cli(*sweep, "--storage", "shared/s.journal")
    assert named.returncode == 0, named.stderr
    assert "study smoke-S: no trials" in named.stdout
    # QA: the header said "0 trials, 1 worker(s) x 2 thread(s)" of workers that never start.
    assert "shared/s.journal: no trial to run (--trials 0), the study as it stands;" in named.stdout
    assert "worker" not in named.stdout


def make_study(path: Path, space: Path, name: str = "smoke-S") -> None:
    """The study ``mnist-tui sweep --preset smoke --space S.toml`` makes, in the journal ``path``, with no trial."""
    from mnist_tui.engine.study import open_storage, open_study
    from mnist_tui.sweep import build_parser, resolve

    options = resolve(build_parser().parse_args(["--preset", "smoke", "--space", str(space)]))
    open_study(open_storage(str(path), path.parent), name, base=options.base, space=options.space, pruner="median")


def test_trials_0_refuses_a_study_that_is_not_there_and_creates_nothing(
    cli: Callable[..., Any], tmp_path: Path, space: Path, data_dir: Path
) -> None:
    """QA: ``--trials 0 --export-best`` with a misspelled --study made an empty study of that name (and then
    said it had no complete trial); with a journal that was not there, it made the journal."""
    sweep = ("sweep", "--no-ui", "--preset", "smoke", "--space", "S.toml", "--trials", "0", "--data-dir", str(data_dir),
             "--export-best", "best.toml")
    why = "mnist-tui sweep: error: --trials 0 runs no trial: it shows a study that exists (and exports its best with --export-best), and"
    none = cli(*sweep, "--runs-dir", "runs")
    assert (none.returncode, none.stderr) == (2, f"{why} runs/sweeps.journal does not exist\n")
    assert not (tmp_path / "runs").exists()

    journal = tmp_path / "runs" / "sweeps.journal"
    journal.parent.mkdir()
    make_study(journal, space)
    make_study(journal, space, "wide")
    before = journal.read_bytes()
    typo = cli(*sweep, "--runs-dir", "runs", "--study", "wdie")
    assert (typo.returncode, typo.stderr) == (2, f"{why} there is no study 'wdie' in runs/sweeps.journal; its studies: smoke-S, wide\n")
    assert journal.read_bytes() == before and not (tmp_path / "best.toml").exists()

    (tmp_path / "empty.journal").touch()
    empty = cli(*sweep, "--storage", "empty.journal")
    assert (empty.returncode, empty.stderr) == (2, f"{why} there is no study 'smoke-S' in empty.journal, which holds no study\n")
    assert (tmp_path / "empty.journal").read_bytes() == b""
    assert not (tmp_path / "best.toml").exists()


def complete_trial_in(runs: Path, space: Path) -> Any:
    """The study ``sweep_command`` makes in ``runs``, holding one complete trial (none trained); returns its options."""
    from mnist_tui.engine.study import open_storage, open_study
    from mnist_tui.sweep import build_parser, resolve

    options = resolve(build_parser().parse_args(["--preset", "smoke", "--space", str(space), *TINY]))
    study = open_study(open_storage(None, runs), options.study, base=options.base, space=options.space, pruner="median")
    trial = study.ask()
    options.space.suggest(trial)
    study.tell(trial, 90.0)
    return options


def test_export_best_to_a_full_device_says_so_in_one_line_and_exits_1(data_dir: Path, tmp_path: Path, space: Path) -> None:
    full = Path("/dev/full")
    if not full.is_char_device():
        pytest.skip("no /dev/full on this system")
    runs = tmp_path / "runs"
    complete_trial_in(runs, space)
    command = sweep_command(data_dir, runs, space, "--trials", "0", "--export-best", str(full))
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=cli_env(), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("mnist-tui sweep: cannot write /dev/full: No space left on device; best trial 0 (90.00 %) ")
    assert full.is_char_device()  # written in place: a rename over it would have replaced the device


def test_export_best_on_a_full_disk_leaves_the_earlier_file_whole(
    tmp_path: Path, space: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kernel's file size limit fails the write mid-file, as a full disk does: an empty or cut
    best.toml is still a valid config, which would train the defaults."""
    import resource

    from mnist_tui.sweep import build_parser, resolve
    from mnist_tui.sweep_run import export_best

    best = tmp_path / "best.toml"
    earlier = "# the best config an earlier sweep exported\nlr = 0.01\n"
    best.write_text(earlier)
    options = resolve(build_parser().parse_args(["--preset", "smoke", "--space", str(space), "--export-best", str(best)]))
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    options.space.suggest(trial)
    study.tell(trial, 90.0)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, hard))  # Python ignores SIGXFSZ: the write fails with EFBIG
    try:
        code = export_best(options, study)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert code == 1
    assert capsys.readouterr().err == (
        f"mnist-tui sweep: cannot write {best}: File too large; best trial 0 (90.00 %) stays in the study: "
        "export it with the same command, --trials 0 and an --export-best file that can be written\n"
    )
    assert best.read_text() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S.toml", "best.toml"]  # no temporary file left


@pytest.mark.slow
def test_trials_record_the_sweeps_preset_in_their_summary(data_dir: Path, tmp_path: Path, space: Path) -> None:
    """They recorded none, so ``mnist-tui runs`` showed an empty preset column for every trial."""
    runs = tmp_path / "runs"
    result = subprocess.run(sweep_command(data_dir, runs, space, "--trials", "1"), capture_output=True, text=True,
                            timeout=300, env=cli_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (trial,) = load_trials(journal(runs), "smoke-S")["trials"]
    assert summary_of(trial["attrs"]["run_dir"])["preset"] == "smoke"

    from mnist_tui.sweep import build_parser, resolve

    (tmp_path / "mine.toml").write_text("epochs = 1\n")
    from_file = resolve(build_parser().parse_args(["--config", str(tmp_path / "mine.toml"), "--space", str(space)]))
    assert from_file.preset is None  # a config file is no preset


def test_a_space_file_named_with_a_space_asks_for_a_study_name(cli: Callable[..., Any], tmp_path: Path, space: Path) -> None:
    (tmp_path / "my space.toml").write_text(space.read_text())
    result = cli("sweep", "--no-ui", "--preset", "smoke", "--space", "my space.toml", "--runs-dir", "runs")
    assert result.returncode == 2 and "'smoke-my space', made from the config's name and the space file's" in result.stderr
    assert result.stderr.rstrip().endswith("name the study with --study")


def test_a_torn_journal_is_cut_back_and_a_corrupt_one_refused_untouched(tmp_path: Path) -> None:
    """A torn last line got new records appended straight after it, and every later read failed."""
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.study import StudyError, open_storage, open_study

    base = load_preset("smoke")
    space = space_from_mapping({"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, base, source="S.toml")
    open_study(open_storage(None, tmp_path), "s", base=base, space=space, pruner="median")
    path = tmp_path / "sweeps.journal"
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code":4,"worker_id":"x","study_id":0,"dat')  # a record cut mid-write
    study = open_study(open_storage(None, tmp_path), "s", base=base, space=space, pruner="median")
    after = path.read_bytes()  # cut back to its last whole record (then Optuna appends its own)
    assert after.startswith(whole) and all(isinstance(json.loads(line), dict) for line in after.splitlines())
    study.enqueue_trial({"lr": 0.01})  # and written to again: every line still reads
    assert len(open_study(open_storage(None, tmp_path), "s", base=base, space=space, pruner="median").trials) == 1

    for bad, why in ((b"garbage\n", "not JSON"), (b'{"op_code":99}\n', "no Optuna operation"), (b"\xff\xfe\n", "not JSON")):
        lines = path.read_bytes().count(b"\n")
        path.write_bytes(path.read_bytes() + bad)
        before = path.read_bytes()
        with pytest.raises(StudyError, match=f"is corrupt at line {lines + 1} \\({why}\\); it was left as it is"):
            open_storage(None, tmp_path)
        assert path.read_bytes() == before
        path.write_bytes(before[: -len(bad)])


def test_a_joined_study_must_have_the_same_base_and_space(tmp_path: Path) -> None:
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.study import StudyError, open_storage, open_study

    base = load_preset("smoke")
    space = space_from_mapping({"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, base, source="S.toml")
    storage = open_storage(None, tmp_path)
    open_study(storage, "s", base=base, space=space, pruner="median")
    open_study(open_storage(None, tmp_path), "s", base=base, space=space, pruner="none")  # joins
    with pytest.raises(StudyError) as refused:  # QA: only the first field that differs was named
        open_study(storage, "s", base=base.replace(epochs=3, hidden=(32, 16)), space=space, pruner="median")
    assert str(refused.value).startswith(
        f"study 's' was created with another base config (hidden: [{base.hidden[0]}] in the study, [32, 16] here; "
        f"epochs: {base.epochs} in the study, 3 here); run it with the same"
    ), str(refused.value)
    wider = space_from_mapping({"lr": {"low": 1e-5, "high": 1e-1, "log": True}}, base, source="S.toml")
    with pytest.raises(StudyError, match="created with another search space \\(lr: .*1e-05.* here\\)"):
        open_study(storage, "s", base=base, space=wider, pruner="median")


def test_a_study_joined_while_its_creator_writes_it_is_joined(tmp_path: Path) -> None:
    """Two commands starting at once (test_sweep_postgres): the second read the study between its
    creator's two writes, found a base without its space, and refused ("lr differs")."""
    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.study import open_storage, open_study

    base = load_preset("smoke")
    space = space_from_mapping({"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, base, source="S.toml")
    storage = open_storage(None, tmp_path)
    joined: list[optuna.Study] = []
    writes: list[str] = []
    set_user_attr = optuna.Study.set_user_attr

    def creator_then_joiner(study: optuna.Study, key: str, value: Any) -> None:
        set_user_attr(study, key, value)
        writes.append(key)
        if len(writes) == 1:  # after the creator's first write, the other command opens the study
            joined.append(open_study(open_storage(None, tmp_path), "s", base=base, space=space, pruner="median"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optuna.Study, "set_user_attr", creator_then_joiner)
        open_study(storage, "s", base=base, space=space, pruner="median")
    assert joined and set(joined[0].user_attrs) >= {"base", "space"}


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study: Any, trial: Any) -> bool:
        return True


@pytest.mark.parametrize("prune", [True, False])
def test_a_pruned_trial_stops_after_its_epoch_and_says_so(prune: bool, data_dir: Path, tmp_path: Path) -> None:
    import threading

    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.trial import run_trial

    base = load_preset("smoke").replace(train_limit=300, eval_limit=200, device="cpu", epochs=3)
    space = space_from_mapping({"lr": {"low": 1e-3, "high": 1e-2, "log": True}}, base, source="S.toml")
    study = optuna.create_study(
        study_name="p", direction="maximize",
        pruner=_AlwaysPrune() if prune else optuna.pruners.NopPruner(),
    )
    study.optimize(
        lambda trial: run_trial(trial, base, space, data_dir=data_dir, runs_dir=tmp_path, stop=threading.Event(), session="x"),
        n_trials=1,
    )
    trial = study.trials[0]
    summary = summary_of(trial.user_attrs["run_dir"])
    events = [json.loads(line) for line in (Path(trial.user_attrs["run_dir"]) / "events.jsonl").read_text().splitlines()]
    if prune:
        assert trial.state.name == "PRUNED" and list(trial.intermediate_values) == [1]
        assert summary["sweep"]["state"] == "pruned" and summary["status"] == "stopped"
        assert events[-1]["event"] == "stopped" and events[-1]["epochs_completed"] == 1
    else:
        assert trial.state.name == "COMPLETE" and list(trial.intermediate_values) == [1, 2, 3]
        assert trial.value == summary["final_test_accuracy"] == trial.intermediate_values[3]
        assert summary["sweep"] == {"study": "p", "trial": 0, "state": "complete", "outcome": "complete", "params": trial.params}


def test_a_storage_lost_mid_run_stops_the_trial_checkpointed_and_its_summary_says_so(data_dir: Path, tmp_path: Path) -> None:
    """The report's error left the run mid-epoch, its summary "running" (listed as interrupted) and its epoch unsaved."""
    import threading

    from optuna.exceptions import StorageInternalError
    from optuna.storages import InMemoryStorage

    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.engine.train import resume_training
    from mnist_tui.engine.trial import run_trial

    class GoesDown(InMemoryStorage):
        """Answers until the first epoch's report; then nothing."""

        down = False

        def set_trial_intermediate_value(self, *args: Any) -> None:
            self.down = True
            raise StorageInternalError("server closed the connection unexpectedly")

        def set_trial_user_attr(self, *args: Any) -> None:
            if self.down:
                raise StorageInternalError("server closed the connection unexpectedly")
            super().set_trial_user_attr(*args)

    base = load_preset("smoke").replace(train_limit=300, eval_limit=200, device="cpu", epochs=3)
    space = space_from_mapping({"lr": {"low": 1e-3, "high": 1e-2, "log": True}}, base, source="S.toml")
    study = optuna.create_study(study_name="p", direction="maximize", storage=GoesDown())
    trial = study.ask()
    with pytest.raises(StorageInternalError):
        run_trial(trial, base, space, data_dir=data_dir, runs_dir=tmp_path, stop=threading.Event(), session="x",
                  storage="postgresql://u:***@db/s")
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = summary_of(str(run_dir))
    assert summary["status"] == "stopped" and summary["epochs_completed"] == 1
    assert summary["error"] == "the sweep lost its storage postgresql://u:***@db/s: server closed the connection unexpectedly"
    assert summary["sweep"] == {"study": "p", "trial": 0, "state": "failed", "outcome": "storage lost", "params": trial.params}
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "stopped" and events[-2]["event"] == "checkpoint"
    assert events[-2]["which"] == "last" and events[-2]["epoch"] == 1  # the epoch whose report failed is kept
    resumed = list(resume_training(run_dir, data_dir=data_dir))
    assert resumed[0].start_epoch == 1 and resumed[-1].status == "finished" and resumed[-1].epochs_completed == 3


def test_workers_share_the_cores_without_oversubscribing() -> None:
    import torch

    from mnist_tui.engine.threads import ThreadChoice
    from mnist_tui.sweep_workers import threads_per_worker

    assert [threads_per_worker(k, 16) for k in (1, 3, 16, 40)] == [16, 5, 1, 1]
    # The hook: a worker's torch.set_num_threads caps the engine's thread choice.
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert ThreadChoice.for_run(adaptive=True).counts == (1,)
        assert ThreadChoice.for_run(adaptive=False).counts == (1,)
    finally:
        torch.set_num_threads(threads)


def test_workers_claim_the_trial_count_and_start_nothing_after_the_timeout() -> None:
    import multiprocessing

    from mnist_tui.engine.presets import load_preset
    from mnist_tui.engine.space import space_from_mapping
    from mnist_tui.sweep_workers import Plan, _claim, _Shared

    base = load_preset("smoke")
    space = space_from_mapping({"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, base, source="S.toml")
    shared = _Shared(multiprocessing.get_context("spawn"), 2)

    def plan(trials: int | None, deadline: float | None) -> Plan:
        return Plan(storage=None, runs_dir="runs", study="s", base=base, preset="smoke", space=space, pruner="none",
                    data_dir=None, trials=trials, deadline=deadline, threads=1, session="x")

    three = plan(3, None)
    assert [_claim(three, shared, slot) for slot in (0, 1, 0, 1)] == [True, True, True, False]
    assert shared.claimed.value == 3 and list(shared.holding) == [1, 1]
    assert not _claim(plan(None, time.time() - 1), shared, 0)  # past --timeout: no new trial
    assert _claim(plan(None, time.time() + 60), shared, 0) and shared.claimed.value == 4


def test_the_final_table_names_each_column_once_when_epochs_is_searched() -> None:
    from mnist_tui.engine.trial_rows import TrialRow
    from mnist_tui.sweep_print import trial_table

    rows = [TrialRow(0, "complete", {"lr": 0.01, "epochs": 4}, (80.0, 85.0, 90.0), 90.0, 1.5, "runs/a", "complete")]
    header, row = (line.split("  ") for line in trial_table(rows, ("lr", "epochs")).splitlines())
    header = [cell.strip() for cell in header if cell.strip()]
    assert len(header) == len(set(header)) and header.count("epochs") == 1
    assert [cell.strip() for cell in row if cell.strip()][header.index("epochs")] == "4"
