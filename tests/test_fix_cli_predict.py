"""``predict`` of faint images: classified where the digit is plain to see, refused with the contrast
measured where it is not, and a blank image still refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_tui.command import main
from mnist_tui.engine.prepare import NoDigit, load_image
from test_predict import images, trained  # noqa: F401  (fixtures: a smoke model, and test digits as PNG files)

FAINT = 40
"""Test digits read faint: the first 40 of ``images``."""


def faint_copy(path: Path, folder: Path, *, paper: tuple[int, ...], ink: tuple[int, ...]) -> Path:
    """The digit of ``path`` (white on black or black on white) drawn in ``ink`` on ``paper`` (grey or RGB)."""
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255
    if np.median(grey[0]) > 0.5:
        grey = 1 - grey
    colours = grey[..., None] * np.array(ink) + (1 - grey[..., None]) * np.array(paper)
    pixels = np.rint(colours).astype(np.uint8)
    copy = folder / path.name
    Image.fromarray(pixels[..., 0] if len(ink) == 1 else pixels).save(copy)
    return copy


def predictions(paths: list[Path], capsys: pytest.CaptureFixture[str], run_dir: Path) -> list[int]:
    assert main(["predict", str(run_dir), *map(str, paths), "--json"]) == 0, capsys.readouterr().err
    return [json.loads(line)["prediction"] for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    ("paper", "ink"),
    [((255,), (210,)), ((0, 0, 255), (255, 0, 0))],
    ids=["light-grey pencil on white", "red on blue"],
)
def test_a_faint_digit_is_classified_as_its_dark_original(
    trained, images, tmp_path: Path, capsys: pytest.CaptureFixture[str], paper: tuple[int, ...], ink: tuple[int, ...]  # noqa: F811
) -> None:
    """Both were "nothing to classify: the image is blank" (their contrast in grey, 0.18, was under 0.2)."""
    run_dir, _ = trained
    originals = images[0][:FAINT]
    faint = [faint_copy(path, tmp_path, paper=paper, ink=ink) for path in originals]
    same = sum(a == b for a, b in zip(predictions(faint, capsys, run_dir), predictions(originals, capsys, run_dir)))
    assert same >= FAINT - 2, f"{same} of {FAINT} faint digits read as their originals"


def test_too_faint_an_image_says_its_contrast_and_what_to_do(tmp_path: Path) -> None:
    grey = np.full((100, 100), 255, dtype=np.uint8)
    grey[20:80, 45:55] = 240  # a stroke of 6 % contrast
    Image.fromarray(grey).save(tmp_path / "faint.png")
    with pytest.raises(NoDigit) as refused:
        load_image(tmp_path / "faint.png")
    assert str(refused.value) == (
        f"{tmp_path / 'faint.png'}: nothing to classify: the digit has too little contrast with its background "
        "(5.8 % of full brightness; at least 10 % is needed): raise the image's contrast, or use darker ink on the light paper"
    )
    Image.fromarray(255 - grey).save(tmp_path / "faint-chalk.png")
    with pytest.raises(NoDigit, match=r"\(5.8 % .*: raise the image's contrast, or use lighter ink on the dark background$"):
        load_image(tmp_path / "faint-chalk.png")


@pytest.mark.parametrize("shade", [0, 128, 255])
def test_a_blank_image_is_still_refused_as_blank(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str], shade: int  # noqa: F811
) -> None:
    Image.fromarray(np.full((60, 80), shade, dtype=np.uint8)).save(tmp_path / "blank.png")
    assert main(["predict", str(trained[0]), str(tmp_path / "blank.png")]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"mnist-tui predict: error: {tmp_path / 'blank.png'}: nothing to classify: the image is blank\n")


def test_a_blank_scans_noise_is_no_digit(tmp_path: Path) -> None:
    """Paper scanned with the noise of a phone camera in dim light (3 of 255) stays under the threshold."""
    noise = np.random.default_rng(0).normal(230, 3, (280, 280))
    Image.fromarray(np.clip(np.rint(noise), 0, 255).astype(np.uint8)).save(tmp_path / "paper.png")
    with pytest.raises(NoDigit, match="too little contrast"):
        load_image(tmp_path / "paper.png")


def test_the_command_names_the_faint_image_on_one_line(trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    run_dir, _ = trained
    Image.fromarray(np.full((40, 40), 250, dtype=np.uint8)).save(tmp_path / "faint.png")
    pixels = np.asarray(Image.open(tmp_path / "faint.png")).copy()
    pixels[10:30, 18:22] = 240
    Image.fromarray(pixels).save(tmp_path / "faint.png")
    assert main(["predict", str(run_dir), str(tmp_path / "faint.png")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"mnist-tui predict: error: {tmp_path / 'faint.png'}: nothing to classify: the digit has too little contrast")
