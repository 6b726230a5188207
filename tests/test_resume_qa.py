"""``--resume``: a run's name or folder, checked on the command line, and the runs folder it implies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_tui.command import build_parser, main, resolve
from mnist_tui.engine.config import Config
from mnist_tui.engine.presets import config_to_toml, load_preset


def run_folder(parent: Path, name: str = "smoke-20260101-000000-abcd") -> Path:
    """A folder with a valid config.toml: enough for the command line's checks."""
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(config_to_toml(load_preset("smoke")))
    return folder


def options_of(*argv: str):  # type: ignore[no-untyped-def]
    return resolve(build_parser().parse_args(list(argv)))


def test_a_resumed_run_keeps_its_own_runs_folder_unless_another_is_named(tmp_path: Path) -> None:
    folder = run_folder(tmp_path / "runs2")
    assert options_of("--resume", str(folder)).runs_dir == str(tmp_path / "runs2")
    assert options_of("--resume", str(folder), "--runs-dir", str(tmp_path / "other")).runs_dir == str(tmp_path / "other")
    assert options_of("--preset", "smoke").runs_dir == "runs"


def test_a_bare_run_name_is_looked_up_in_the_runs_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = run_folder(tmp_path / "runs2")
    options = options_of("--resume", folder.name, "--runs-dir", str(tmp_path / "runs2"))
    assert (options.resume, options.runs_dir) == (str(folder), str(tmp_path / "runs2"))
    assert main(["--no-ui", "--resume", "smoke-nowhere", "--runs-dir", str(tmp_path / "runs2")]) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui: error: run folder smoke-nowhere does not exist (nor in {tmp_path / 'runs2'})\n"
    )


@pytest.mark.parametrize("ui", [[], ["--no-ui"]], ids=["dashboard", "headless"])
def test_a_folder_without_a_config_is_refused_on_the_command_line(
    ui: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As a missing folder is: exit 2 before the dashboard opens (it showed two toasts instead)."""
    (tmp_path / "runs" / "junkdir").mkdir(parents=True)
    assert main([*ui, "--resume", str(tmp_path / "runs" / "junkdir")]) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui: error: run folder {tmp_path / 'runs' / 'junkdir'} cannot be resumed: "
        f"config file {tmp_path / 'runs' / 'junkdir' / 'config.toml'} does not exist\n"
    )


def test_a_file_as_the_runs_folder_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "d1_2.png"
    picture.write_bytes(b"\x89PNG")
    assert main(["--no-ui", "--preset", "smoke", "--runs-dir", str(picture)]) == 2
    assert capsys.readouterr().err == f"mnist-tui: error: --runs-dir {picture} is a file, not a folder\n"
    assert main(["--no-ui", "--preset", "smoke", "--runs-dir", str(picture / "runs")]) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui: error: --runs-dir {picture / 'runs'} cannot be made: {picture} is a file, not a folder\n"
    )
    assert picture.read_bytes() == b"\x89PNG"


def test_a_run_resumed_by_name_trains_in_its_folder_and_says_how_to_go_on(
    train, tiny: Config, stop_after, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs = tmp_path / "runs2"
    run_dir = Path(train(tiny, runs_dir=runs, stop=stop_after(3))[0].run_dir)
    monkeypatch.chdir(tmp_path)  # ./runs is not where the run is
    assert main(["--no-ui", "--resume", run_dir.name, "--runs-dir", "runs2", "--data-dir", str(data_dir)]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
    assert f"run folder: {Path('runs2') / run_dir.name}" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()


def test_commands_from_before_the_resume_get_one_note_not_a_refusal_each(
    train, tiny: Config, stop_after, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a kill, the commands carried out since the checkpoint lost their answers with the log:
    the resume printed ``command pause from file refused: ignored: stale ...`` for each, as errors."""
    from mnist_tui.engine.commands import send_command

    run_dir = Path(train(tiny, runs_dir=tmp_path / "runs", stop=stop_after(3))[0].run_dir)
    for command in ("pause", "resume", "pause", "resume"):
        send_command(run_dir, command)
    assert main(["--no-ui", "--resume", str(run_dir), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "refused" not in out
    assert [line for line in out.splitlines() if "replayed" in line] == [
        "note: the commands written to commands.jsonl before this session started were not replayed"
    ]
