"""Why a checkpoint cannot be used, said truly by every consumer: ``--resume``, ``predict`` and the Draw view.

A ``best.pt`` that could not be read for Permission denied was called corrupt; a text file showed
Python's ``KeyError``; a link loop or a FIFO "did not exist"; a checkpoint without an optimizer
named it as ``'optimizer'``. Permission errors are injected (tests may run as root, whom chmod 000
does not stop): opening the file raises what the operating system would.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from mnist_tui.command import main
from mnist_tui.engine.events import RunFailed
from mnist_tui.engine.checkpoint import CheckpointError, load_checkpoint
from mnist_tui.engine.train import resume_training, run_training


@pytest.fixture(scope="module")
def finished(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-epoch smoke run's folder (never changed: tests change copies)."""
    from mnist_tui.engine.presets import load_preset

    config = load_preset("smoke").replace(epochs=1, device="cpu")
    events = list(run_training(config, data_dir=data_dir, runs_dir=tmp_path_factory.mktemp("runs")))
    return Path(events[0].run_dir)


@pytest.fixture
def run_dir(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished run to damage."""
    return Path(shutil.copytree(finished, tmp_path / finished.name))


def refuse_reading(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    """Opening any of ``paths`` fails as an unreadable file's opening does (EACCES)."""
    real_open = builtins.open
    refused = {str(path) for path in paths}

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) in refused:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


def test_an_unreadable_checkpoint_is_called_unreadable_by_every_consumer(
    run_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was "corrupt or not an mnist-tui checkpoint (Permission denied)"."""
    from mnist_tui.tui.saved_model import ModelError, load_model

    best, last = run_dir / "best.pt", run_dir / "last.pt"
    refuse_reading(monkeypatch, best, last)
    assert main(["predict", str(run_dir), str(run_dir / "digit.png")]) == 2
    assert capsys.readouterr() == ("", f"mnist-tui predict: error: {best} cannot be read (permission denied)\n")
    with pytest.raises(ModelError) as refused:  # the Draw view shows this in place of its bars
        load_model(run_dir)
    assert str(refused.value) == f"{best} cannot be read (permission denied)"
    assert main(["--no-ui", "--resume", str(run_dir), "--data-dir", str(data_dir)]) == 2
    assert capsys.readouterr().err == f"mnist-tui: error: {last} cannot be read (permission denied)\n"


def saved(value: object) -> bytes:
    """``value`` as torch.save writes it."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def checkpoint_bytes(finished: Path, change: Callable[[dict[str, Any]], object]) -> bytes:
    """The finished run's ``last.pt`` saved again after ``change`` (given its loaded state)."""
    state = torch.load(finished / "last.pt", weights_only=True)
    change(state)
    return saved(state)


def rezipped(data: bytes, keep: Callable[[str], bool]) -> bytes:
    """A zip archive of the entries of ``data`` that ``keep`` keeps (their checksums all sound)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            if keep(name):
                target.writestr(name, source.read(name))
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not weights")
    return buffer.getvalue()


CONTENTS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "truncated": (lambda f: (f / "last.pt").read_bytes()[:50_000], "is corrupt (truncated or damaged: not a whole zip archive)"),
    "a tensor's record lost": (
        lambda f: rezipped((f / "last.pt").read_bytes(), lambda name: not name.endswith("/data/0")),
        "is corrupt (its archive lacks data/0)",
    ),
    "another zip": (lambda f: plain_zip(), "is not an mnist-tui checkpoint (a zip archive, but not one PyTorch wrote)"),
    # was "(KeyError)": torch read the text as an old pickle
    "text": (lambda f: b"hello\n", "is corrupt or not an mnist-tui checkpoint (not a whole PyTorch file)"),
    "no weights": (lambda f: checkpoint_bytes(f, lambda s: s.pop("model")), "is not an mnist-tui checkpoint (it holds no model weights)"),
    "no table": (lambda f: saved([1, 2]), "is not an mnist-tui checkpoint (it holds a list, not a table of fields)"),
    "no format": (lambda f: checkpoint_bytes(f, lambda s: s.pop("format")), "is not an mnist-tui checkpoint (it has no format number)"),
}


@pytest.mark.parametrize("case", list(CONTENTS))
def test_each_kind_of_bad_content_is_named_for_what_it_is(finished: Path, tmp_path: Path, case: str) -> None:
    make, reason = CONTENTS[case]
    path = tmp_path / "last.pt"
    path.write_bytes(make(finished))
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == f"{path} {reason}"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.symlink_to(p.name), "cannot be read (too many levels of symbolic links)"),  # was "does not exist"
        (lambda p: os.mkfifo(p), "is not a regular file"),  # was "does not exist"
        (lambda p: p.symlink_to("gone.pt"), "is a broken link (to gone.pt)"),
    ],
    ids=["link loop", "fifo", "broken link"],
)
def test_a_last_pt_that_is_no_file_is_named_by_a_resume(run_dir: Path, make: Callable[[Path], object], reason: str) -> None:
    last = run_dir / "last.pt"
    last.unlink()
    make(last)
    (failed,) = resume_training(run_dir)
    assert isinstance(failed, RunFailed) and failed.reason == "checkpoint"
    assert failed.error == f"{last} {reason}"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.pop("optimizer"), "it lacks the optimizer's state"),
        (lambda s: [s.pop(k) for k in ("schedule", "cpu_rng_state")],
         "it lacks the learning-rate schedule's state and the random number generator's state"),
        (lambda s: s.__setitem__("optimizer", {}), "the optimizer's state is malformed"),  # was "'param_groups'"
        (lambda s: s.__setitem__("shuffle_state", "x"), "the shuffling generator's state is malformed"),
    ],
    ids=["no optimizer", "two parts missing", "empty optimizer", "shuffle state not a tensor"],
)
def test_a_last_pt_without_what_a_resume_needs_names_it_in_words(
    finished: Path, run_dir: Path, change: Callable[[dict[str, Any]], object], reason: str
) -> None:
    last = run_dir / "last.pt"
    last.write_bytes(checkpoint_bytes(finished, change))
    (failed,) = resume_training(run_dir)
    assert isinstance(failed, RunFailed) and failed.reason == "checkpoint"
    assert failed.error == f"{last} is not an mnist-tui checkpoint to resume from ({reason})"


def test_predict_names_an_epoch_that_is_no_count(
    finished: Path, run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``int()`` of it raised a ValueError: a traceback."""
    best = run_dir / "best.pt"
    best.write_bytes(checkpoint_bytes(finished, lambda s: s.__setitem__("epoch", "one")))
    assert main(["predict", str(run_dir), str(run_dir / "digit.png")]) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui predict: error: {best} is not an mnist-tui checkpoint (its epoch is 'one', not a count of epochs)\n"
    )
