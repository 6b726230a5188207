"""Preparing digits as MNIST did: bounding box to 20x20, centre of mass to the field's centre; image files."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_tui.engine.prepare import MAX_PIXELS, ImageError, NoDigit, load_image, prepare_digit


def prepared(pixels: object) -> np.ndarray:
    out = prepare_digit(pixels)
    assert isinstance(out, bytes) and len(out) == 784
    return np.frombuffer(out, dtype=np.uint8).reshape(28, 28).astype(np.float64)


def box(image: np.ndarray, above: float = 0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels above ``above``, inclusive."""
    rows = np.flatnonzero((image > above).any(axis=1))
    columns = np.flatnonzero((image > above).any(axis=0))
    return rows[0], rows[-1], columns[0], columns[-1]


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    return (image * ys).sum() / image.sum(), (image * xs).sum() / image.sum()


def canvas(size: int, *rectangles: tuple[int, int, int, int]) -> np.ndarray:
    """A black canvas with full-ink rectangles (top, left, height, width)."""
    grid = np.zeros((size, size), dtype=np.float32)
    for top, left, height, width in rectangles:
        grid[top : top + height, left : left + width] = 1.0
    return grid


@pytest.mark.parametrize(("height", "width", "fitted"), [(50, 25, (20, 10)), (8, 80, (2, 20)), (10, 10, (20, 20))])
def test_the_bounding_box_is_scaled_to_fit_20x20_keeping_its_aspect(height: int, width: int, fitted: tuple) -> None:
    image = prepared(canvas(100, (30, 10, height, width)))
    top, bottom, left, right = box(image)
    assert (bottom - top + 1, right - left + 1) == fitted
    assert image.max() == 255


def test_the_centre_of_mass_lands_on_the_fields_centre_as_in_mnist() -> None:
    # A lopsided shape: a long bar with a heavy block at one end.
    for shape in (canvas(60, (5, 5, 40, 4), (35, 5, 10, 25)), canvas(60, (10, 30, 30, 3), (10, 10, 3, 23))):
        cy, cx = centre_of_mass(prepared(shape))
        assert 13.5 <= cy < 14.5 and 13.5 <= cx < 14.5, (cy, cx)


def test_where_and_how_big_it_was_drawn_does_not_matter() -> None:
    small = canvas(100, (10, 10, 20, 6), (10, 10, 4, 14))
    moved = canvas(100, (60, 70, 20, 6), (60, 70, 4, 14))
    assert np.array_equal(prepared(small), prepared(moved))
    big = np.kron(small, np.ones((3, 3), dtype=np.float32))  # the same drawing three times larger
    assert np.abs(prepared(big) - prepared(small)).max() <= 1


def test_mnist_digits_come_back_mostly_as_they_were(data_dir: Path) -> None:
    """MNIST's own digits are already prepared: preparing them again changes few of them."""
    from mnist_tui.engine import data

    images, _ = data._read(data_dir, "mnist", train=False)
    digits = images[:200].numpy().reshape(-1, 28, 28)
    unchanged = sum(np.array_equal(prepared(digit), digit) for digit in digits)
    assert unchanged >= 140, unchanged


def test_an_empty_canvas_is_no_digit() -> None:
    with pytest.raises(NoDigit, match="nothing to classify: the canvas is empty"):
        prepare_digit(np.zeros((28, 28)))
    with pytest.raises(NoDigit):
        prepare_digit(np.full((28, 28), 0.05))  # faint noise is not ink


def test_a_one_pixel_canvas_is_a_centred_block() -> None:
    image = prepared(canvas(28, (3, 25, 1, 1)))
    assert box(image) == (4, 23, 4, 23)
    assert (image[4:24, 4:24] == 255).all() and image.sum() == 400 * 255
    one = prepared([[1.0]])
    assert np.array_equal(one, image)


def test_pixel_formats() -> None:
    grid = canvas(28, (5, 12, 18, 4))
    as_bytes = bytes(np.rint(grid * 255).astype(np.uint8).ravel())
    assert np.array_equal(prepared(as_bytes), prepared(grid))
    assert np.array_equal(prepared((grid * 255).astype(np.uint8)), prepared(grid))
    assert np.array_equal(prepared(grid.tolist()), prepared(grid))
    with pytest.raises(ValueError, match="square image"):
        prepare_digit(b"\x00" * 10)
    with pytest.raises(ValueError, match="2-D grid"):
        prepare_digit([1.0, 2.0])


# --- image files ----------------------------------------------------------------------------


def digit_image(size: int = 280) -> np.ndarray:
    """A 7-like digit, white on black, as 8-bit greys."""
    grid = canvas(28, (6, 8, 3, 13), (6, 18, 16, 3))
    big = Image.fromarray(np.rint(grid * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(big)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".pgm"])
def test_black_on_white_reads_as_white_on_black_in_every_format(tmp_path: Path, suffix: str) -> None:
    white_on_black = digit_image()
    Image.fromarray(white_on_black).save(tmp_path / f"plain{suffix}")
    Image.fromarray(255 - white_on_black).save(tmp_path / f"inverted{suffix}")
    plain, inverted = (prepared(load_image(tmp_path / f"{name}{suffix}")) for name in ("plain", "inverted"))
    reference = prepared(white_on_black)
    tolerance = 40 if suffix == ".jpg" else 1  # JPEG is lossy around the strokes
    assert np.abs(plain - reference).max() <= tolerance
    assert np.abs(inverted - reference).max() <= tolerance


def test_grey_paper_and_colour_are_taken_away(tmp_path: Path) -> None:
    ink = digit_image(140)
    paper = np.rint(200 - ink.astype(np.float64) * 150 / 255).astype(np.uint8)  # dark grey ink, light grey paper
    rgb = np.stack([paper, paper, paper], axis=-1)
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    assert np.abs(prepared(load_image(tmp_path / "photo.png")) - prepared(ink)).max() <= 2


def test_transparent_parts_are_paper(tmp_path: Path) -> None:
    ink = digit_image(56)
    rgba = np.zeros((56, 56, 4), dtype=np.uint8)
    rgba[..., 3] = ink  # black strokes on a transparent background
    Image.fromarray(rgba).save(tmp_path / "strokes.png")
    assert np.abs(prepared(load_image(tmp_path / "strokes.png")) - prepared(ink)).max() <= 2
    rgba[..., :3] = 255  # white strokes on a transparent layer: they read as blank on white paper
    Image.fromarray(rgba).save(tmp_path / "white-strokes.png")
    assert np.abs(prepared(load_image(tmp_path / "white-strokes.png")) - prepared(ink)).max() <= 2


def test_unreadable_images_and_blank_ones(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="missing.png: no such file"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageError, match="folder.png: a folder"):
        load_image(tmp_path / "folder.png")
    with pytest.raises(ImageError, match="null: not a regular file"):
        load_image("/dev/null")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError, match="text.png: not an image Pillow can read"):
        load_image(tmp_path / "text.png")
    Image.fromarray(digit_image()).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: "):
        load_image(tmp_path / "cut.png")
    Image.fromarray(np.full((50, 50), 255, dtype=np.uint8)).save(tmp_path / "white.png")
    with pytest.raises(NoDigit):
        prepare_digit(load_image(tmp_path / "white.png"))


# --- orientation and size -------------------------------------------------------------------

# What a camera does to the pixels it stores for each EXIF orientation: viewers undo it.
STORED = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # a phone held upright: the sensor's rows run up the digit
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def save_turned(upright: Image.Image, orientation: int, path: Path, **options: object) -> None:
    """``upright`` stored as a camera stores it, with the EXIF orientation that tells viewers how to show it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    upright.transpose(STORED[orientation]).save(path, exif=exif, **options)


def png_header(path: Path, width: int, height: int) -> None:
    """A PNG of ``width`` x ``height`` greys whose pixel data is one row: a few bytes that claim any size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes(width + 1))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize("orientation", sorted(STORED))
def test_an_image_is_read_upright_as_its_exif_orientation_says(tmp_path: Path, orientation: int) -> None:
    """Phones store photos sideways and say so in EXIF; a sideways 7 was classified as a 0."""
    upright = digit_image()
    save_turned(Image.fromarray(upright), orientation, tmp_path / "turned.png")
    assert np.array_equal(prepared(load_image(tmp_path / "turned.png")), prepared(upright))


def test_a_phone_photo_of_a_digit_reads_upright(tmp_path: Path) -> None:
    """4000x3000, black on white, stored sideways in a JPEG as a phone held upright stores it."""
    ink = Image.fromarray(digit_image(2000))
    photo = Image.new("L", (3000, 4000), 255)
    photo.paste(Image.fromarray(255 - np.asarray(ink)), (500, 1000))
    save_turned(photo, 6, tmp_path / "photo.jpg", quality=90)
    with Image.open(tmp_path / "photo.jpg") as stored:
        assert stored.size == (4000, 3000)
    assert np.abs(prepared(load_image(tmp_path / "photo.jpg")) - prepared(digit_image())).max() <= 40


def test_damaged_exif_data_is_ignored_as_viewers_ignore_it(tmp_path: Path) -> None:
    upright = digit_image()
    Image.fromarray(upright).save(tmp_path / "odd.png", exif=b"Exif\x00\x00not a TIFF header")
    assert np.array_equal(prepared(load_image(tmp_path / "odd.png")), prepared(upright))


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (9460, 9460),  # past Pillow's warning (89,478,485 pixels)
        (12000, 12000),
        (13378, 13378),  # past Pillow's error (twice that)
        (16320, 12240),  # a 200-megapixel phone's photo
        (20000, 10000),  # the limit
    ],
)
def test_images_up_to_the_limit_are_read_and_pillow_warns_of_none(tmp_path: Path, width: int, height: int) -> None:
    """Pillow's decompression-bomb warning went to stderr (naming its own file) and its error refused
    readable photos; the rows these files leave out read as black."""
    png_header(tmp_path / "big.png", width, height)
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ink = load_image(tmp_path / "big.png")
    assert [str(warning.message) for warning in caught] == []
    assert ink.shape == (round(1024 * height / width), 1024) and not ink.any()
    assert Image.MAX_IMAGE_PIXELS == limit, "Pillow's own limit is back for everyone else"


@pytest.mark.parametrize(("width", "height"), [(20000, 10001), (20000, 20000), (1_000_000, 1_000)])
def test_an_image_over_the_limit_is_refused_by_its_size_before_it_is_decoded(tmp_path: Path, width: int, height: int) -> None:
    assert width * height > MAX_PIXELS == 200_000_000
    png_header(tmp_path / "huge.png", width, height)
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError) as refused:
            load_image(tmp_path / "huge.png")
    assert str(refused.value) == (
        f"{tmp_path / 'huge.png'}: the image is {width}x{height} pixels ({width * height:,}); "
        "images of more than 200,000,000 pixels are not read"
    )
    assert caught == [] and Image.MAX_IMAGE_PIXELS == limit


def pen_drawing(size: int, pen: int) -> Image.Image:
    """A 0 drawn black on white with a round pen ``pen`` pixels wide, in a square image of ``size``."""
    from PIL import ImageDraw

    image = Image.new("L", (size, size), 255)
    ImageDraw.Draw(image).ellipse([size * 0.3, size * 0.15, size * 0.7, size * 0.85], outline=0, width=pen)
    return image


@pytest.mark.parametrize(("size", "pen"), [(1000, 3), (1000, 8), (500, 2), (3000, 4)])
def test_a_thin_pen_in_a_large_image_comes_out_as_wide_as_mnists_strokes(tmp_path: Path, size: int, pen: int) -> None:
    """QA: a pen line of 3 pixels in a 1000-pixel image shrank to a faint trace a tenth of a pixel
    wide, which a model read as a near-even guess."""
    from mnist_tui.engine.prepare import THIN_STROKE, stroke_width

    path = tmp_path / "thin.png"
    pen_drawing(size, pen).save(path)
    digit = prepared(load_image(path)) / 255
    assert THIN_STROKE <= stroke_width(digit) <= 2.7, stroke_width(digit)  # MNIST's middle 80 %
    assert digit.max() > 0.9  # ink, not a trace
    ring = digit > 0.5  # a ring still: its middle is empty
    assert not ring[12:16, 12:16].any() and ring[:, 14].sum() >= 2


def test_a_stroke_as_wide_as_mnists_or_a_canvas_is_left_as_drawn() -> None:
    from mnist_tui.engine.prepare import _thickened

    ink = 1 - np.asarray(pen_drawing(280, 20), dtype=np.float32) / 255
    top, bottom, left, right = box(ink, 0.1)
    wide = ink[top : bottom + 1, left : right + 1]  # as prepare_digit crops it
    assert _thickened(wide) is wide  # 20 pixels of a 197-pixel-high digit: about 1.6 in the 20x20 box
    line = canvas(28, (4, 14, 20, 1))  # the Draw view's one-cell stroke
    assert _thickened(line) is line
