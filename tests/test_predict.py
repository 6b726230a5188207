"""``mnist-tui predict``: real test digits as enlarged image files, classified by a small trained model."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_tui.command import main
from mnist_tui.engine.config import Config
from mnist_tui.engine.events import RunFinished
from mnist_tui.engine.predictor import load_predictor
from mnist_tui.engine.train import run_training

DIGITS = 200


@pytest.fixture(scope="module")
def trained(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunFinished]:
    """A smoke model trained for three epochs (seconds) and its ending."""
    from mnist_tui.engine.presets import load_preset

    config: Config = load_preset("smoke").replace(epochs=3, device="cpu")
    events = list(run_training(config, data_dir=data_dir, runs_dir=tmp_path_factory.mktemp("runs")))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    return Path(events[0].run_dir), finished


@pytest.fixture(scope="module")
def images(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[int]]:
    """The first 200 test digits as 280x280 PNG files, every other one black on white."""
    from mnist_tui.engine import data

    pixels, labels = data._read(data_dir, "mnist", train=False)
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for index in range(DIGITS):
        digit = pixels[index].numpy().reshape(28, 28)
        big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
        if index % 2:
            big = 255 - big
        path = folder / f"{index:03d}.png"
        Image.fromarray(big).save(path)
        paths.append(path)
    return paths, labels[:DIGITS].tolist()


def test_predictions_agree_with_the_labels_about_as_often_as_the_model_is_right(
    trained, images, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, finished = trained
    paths, labels = images
    assert main(["predict", str(run_dir), *map(str, paths), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["image"] for row in rows] == list(map(str, paths))
    assert all(row["checkpoint"] == str(run_dir / "best.pt") for row in rows)
    assert all(len(row["probabilities"]) == 10 and abs(sum(row["probabilities"]) - 1) < 1e-4 for row in rows)
    assert all(row["prediction"] == int(np.argmax(row["probabilities"])) == int(row["class"]) for row in rows)
    agree = 100 * sum(row["prediction"] == label for row, label in zip(rows, labels)) / DIGITS
    inverted = 100 * sum(row["prediction"] == label for row, label in list(zip(rows, labels))[1::2]) / (DIGITS // 2)
    print(f"agreement {agree:.1f} % (black on white {inverted:.1f} %), best test accuracy {finished.best_accuracy:.1f} %")
    assert agree >= finished.best_accuracy - 3
    assert inverted >= finished.best_accuracy - 3, "black on white is read as well"


def test_plain_output_names_the_digit_and_every_probability(trained, images, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir, _ = trained
    paths, _ = images
    assert main(["predict", str(run_dir), str(paths[0])]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    head, spread = line.split("  ", 1)
    assert head.startswith(f"{paths[0]}: ") and head.endswith("%)")
    pairs = spread.split("  ")
    assert [pair.split()[0] for pair in pairs] == [str(d) for d in range(10)]
    assert abs(sum(float(pair.split()[1]) for pair in pairs) - 1) < 0.01


def copy_without_best(run_dir: Path, folder: Path) -> Path:
    """``folder`` holding ``run_dir``'s config.toml and last.pt, but no best.pt."""
    folder.mkdir()
    for name in ("config.toml", "last.pt"):
        (folder / name).write_bytes((run_dir / name).read_bytes())
    return folder


def test_best_pt_is_used_else_last_pt(trained, tmp_path: Path) -> None:
    run_dir, _ = trained
    assert load_predictor(run_dir).checkpoint.name == "best.pt"
    predictor = load_predictor(copy_without_best(run_dir, tmp_path / "copy"))
    assert predictor.checkpoint.name == "last.pt" and predictor.epoch == 3


def test_a_model_saved_before_its_first_epoch_ended_is_used_with_a_note(
    trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that diverged or stopped in epoch 1 predicted near-guesses with nothing said."""
    import torch

    run_dir, _ = trained
    copy = tmp_path / "early"
    copy.mkdir()
    (copy / "config.toml").write_bytes((run_dir / "config.toml").read_bytes())
    state = torch.load(run_dir / "last.pt", weights_only=False)
    state["epoch"] = 0
    torch.save(state, copy / "last.pt")
    assert main(["predict", str(copy), str(images[0][0])]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1
    assert err == f"mnist-tui predict: note: {copy / 'last.pt'} was saved before the run's first epoch ended; its predictions are close to guesses\n"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("folder", "best.pt is a folder, not a checkpoint file"),
        ("broken link", "best.pt is a broken link (to gone.pt)"),
        ("pipe", "best.pt is not a regular file"),
    ],
)
def test_a_best_pt_that_is_no_file_is_reported_not_skipped_for_last_pt(
    trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    """A best.pt folder was passed over for last.pt, by predict and by the Draw view, with nothing said."""
    from mnist_tui.tui.saved_model import ModelError, has_checkpoint, load_model

    run_dir, _ = trained
    copy = copy_without_best(run_dir, tmp_path / "copy")
    best = copy / "best.pt"
    if kind == "folder":
        best.mkdir()
    elif kind == "broken link":
        best.symlink_to("gone.pt")
    else:
        os.mkfifo(best)
    assert main(["predict", str(copy), str(images[0][0])]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"mnist-tui predict: error: {copy / message}\n"
    with pytest.raises(ModelError) as refused:  # the Draw view shows this in place of the bars
        load_model(copy)
    assert str(refused.value) == str(copy / message)
    (copy / "last.pt").unlink()
    assert has_checkpoint(copy), "a run with only a broken best.pt is still the Draw view's to report"


def test_a_checkpoint_of_another_model_names_the_first_mismatch(trained, images, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mnist_tui.engine.presets import config_to_toml, load_preset

    run_dir, _ = trained
    copy = tmp_path / "other"
    copy.mkdir()
    (copy / "config.toml").write_text(config_to_toml(load_preset("smoke").replace(hidden=(128,))))
    (copy / "best.pt").write_bytes((run_dir / "best.pt").read_bytes())
    assert main(["predict", str(copy), str(images[0][0])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mnist-tui predict: error: {copy / 'best.pt'} does not fit the run's config.toml: size mismatch for ")
    assert err.count("\n") == 1 and not err.rstrip().endswith(":")


def test_a_photo_stored_sideways_is_classified_upright(trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Phones store photos sideways with an EXIF orientation; a sideways 7 was classified as a 0."""
    run_dir, _ = trained
    upright = images[0][0]
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    Image.open(upright).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.png", exif=exif)
    assert main(["predict", str(run_dir), str(upright), str(tmp_path / "sideways.png"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["prediction"] == rows[1]["prediction"] == 7
    assert rows[0]["probabilities"] == rows[1]["probabilities"]


def png_claiming(path: Path, width: int, height: int) -> None:
    """A PNG a few bytes long whose header says ``width`` x ``height``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(width + 1))) + chunk(b"IEND", b""))


def test_bad_inputs_are_one_line_and_exit_2(trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir, _ = trained
    image = str(images[0][0])
    (tmp_path / "notes.png").write_text("not an image")
    Image.fromarray(np.zeros((40, 40), dtype=np.uint8)).save(tmp_path / "black.png")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.toml").write_bytes((run_dir / "config.toml").read_bytes())
    (corrupt / "best.pt").write_bytes(b"garbage" * 50)
    png_claiming(tmp_path / "huge.png", 20000, 20000)
    cases = {
        "no such run": ([str(tmp_path / "nowhere"), image], "does not exist"),
        "missing image": ([str(run_dir), image, str(tmp_path / "gone.png")], "gone.png: no such file"),
        "unreadable image": ([str(run_dir), str(tmp_path / "notes.png")], "notes.png: not an image Pillow can read"),
        "blank image": ([str(run_dir), str(tmp_path / "black.png")], "black.png: nothing to classify: the image is blank"),
        "corrupt checkpoint": ([str(corrupt), image], "best.pt is corrupt or not an mnist-tui checkpoint"),
        "huge image": (
            [str(run_dir), str(tmp_path / "huge.png")],
            "huge.png: the image is 20000x20000 pixels (400,000,000); images of more than 200,000,000 pixels are not read",
        ),
    }
    for name, (argv, message) in cases.items():
        assert main(["predict", *argv]) == 2, name
        out, err = capsys.readouterr()
        assert out == "", f"{name}: nothing on stdout"
        assert err.count("\n") == 1 and err.startswith("mnist-tui predict: error: ") and message in err, (name, err)


def test_a_run_is_named_as_watch_and_compare_name_it(
    trained, images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bare run name is looked up under --runs-dir (./runs by default); one found nowhere says where it was looked for."""
    run_dir, _ = trained
    image = str(images[0][0])
    assert main(["predict", run_dir.name, image, "--runs-dir", str(run_dir.parent), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["checkpoint"] == str(run_dir / "best.pt")
    monkeypatch.chdir(tmp_path)
    assert main(["predict", run_dir.name, image]) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui predict: error: run folder {run_dir.name} does not exist (nor in runs, which does not exist)\n"
    )
    # QA: a --runs-dir that is a file read "(nor in /etc/hostname)"; a run's name was never looked for in it.
    (tmp_path / "listing.txt").write_text("runs\n")
    assert main(["predict", run_dir.name, image, "--runs-dir", "listing.txt"]) == 2
    assert capsys.readouterr().err == (
        f"mnist-tui predict: error: run folder {run_dir.name} does not exist (and --runs-dir listing.txt is a file, "
        "not a folder of runs)\n"
    )


def test_the_real_command_dispatches_predict_and_keeps_its_flags(cli, trained, images) -> None:
    run_dir, _ = trained
    result = cli("predict", str(run_dir), str(images[0][0]), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["prediction"] == 7  # the first test digit, a clear 7
    missing = cli("predict")
    assert missing.returncode == 2 and "RUN_DIR" in missing.stderr
    presets = cli("--list-presets")
    assert presets.returncode == 0 and "smoke" in presets.stdout


@pytest.mark.parametrize("name", ["a\nb.png", "\x1b[31mred.png", "\u202eevil.png"], ids=["newline", "escape", "bidi override"])
def test_a_file_name_is_printed_escaped_on_one_line(
    trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The name was printed raw: a newline split the result over two lines, an escape recoloured the terminal."""
    run_dir, _ = trained
    image = tmp_path / name
    image.write_bytes(images[0][0].read_bytes())
    assert main(["predict", str(run_dir), str(image)]) == 0
    out = capsys.readouterr().out
    escaped = str(image).encode("unicode_escape").decode().replace("\\\\", "\\")
    assert out.count("\n") == 1 and out.startswith(f"{escaped}: "), out
    assert name not in out


def test_an_error_naming_a_file_keeps_its_reason_on_one_line(
    trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``img/nope\\nfake line.png`` printed only ``error: img/nope``: the reason was cut off at the newline."""
    run_dir, _ = trained
    Image.fromarray(np.zeros((40, 40), dtype=np.uint8)).save(tmp_path / "black\x1b[2J.png")
    cases = {
        "missing image": ([str(run_dir), str(tmp_path / "nope\nfake line.png")], "nope\\nfake line.png: no such file"),
        "blank image": ([str(run_dir), str(tmp_path / "black\x1b[2J.png")], "black\\x1b[2J.png: nothing to classify"),
        "no such run": ([str(tmp_path / "no\nrun"), str(images[0][0])], "no\\nrun"),
    }
    for case, (argv, message) in cases.items():
        assert main(["predict", *argv]) == 2, case
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "\x1b" not in err, (case, err)
        assert err.startswith("mnist-tui predict: error: ") and message in err, (case, err)
    assert "does not exist" in err


def test_a_digit_drawn_with_a_thin_pen_in_a_large_image_reads_as_with_a_thick_one(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA: strokes of a few pixels in a 1000-pixel image were read as a near-even guess (15-25 %)."""
    from PIL import ImageDraw

    def drawn(name: str, size: int, pen: int, points: list[tuple[float, float]]) -> str:
        image = Image.new("L", (size, size), 255)
        ImageDraw.Draw(image).line([(x * size, y * size) for x, y in points], fill=0, width=pen, joint="curve")
        image.save(tmp_path / name)
        return str(tmp_path / name)

    ring = [(0.5 + 0.2 * np.sin(2 * np.pi * k / 48), 0.5 - 0.35 * np.cos(2 * np.pi * k / 48)) for k in range(49)]
    shapes = {"0": ring, "1": [(0.5, 0.15), (0.5, 0.85)], "7": [(0.3, 0.15), (0.7, 0.15), (0.45, 0.85)]}
    run_dir, _ = trained
    for digit, points in shapes.items():
        thick, thin = drawn(f"{digit}-thick.png", 280, 20, points), drawn(f"{digit}-thin.png", 1000, 3, points)
        assert main(["predict", str(run_dir), thick, thin, "--json"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert rows[0]["prediction"] == rows[1]["prediction"], (digit, rows)
        assert max(rows[1]["probabilities"]) > 0.5, (digit, rows[1])
