"""``mnist-tui predict RUN_DIR IMAGE...``: classify image files with a run's saved model.

Each image is prepared as MNIST's digits were (``engine/prepare.py``) and classified by the run's
``best.pt`` (else ``last.pt``). Every image is read before anything is printed, so a bad one
fails the command (one line, exit 2) without half an answer on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from .exit_codes import USAGE
from .table import printable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-tui predict",
        description=(
            "Classify image files (PNG, JPEG, PGM, up to 200 million pixels, white on black or black on white) "
            "with a run's best.pt (else last.pt)."
        ),
        epilog=(
            "exit codes: 0 classified, 1 the output could not be written (a full disk, a closed stdout), "
            "2 a missing run, a missing, unreadable, too large, blank or too faint image, or a corrupt checkpoint"
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (runs/NAME-...), or a run's name under --runs-dir")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files to classify")
    parser.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    parser.add_argument("--runs-dir", metavar="DIR", default="runs", help="where run names are looked up (default: ./runs)")
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``mnist-tui predict``; returns the exit code."""
    args = build_parser().parse_args(argv)
    # torch loads here, not for the other subcommands' --help.
    from .engine.catalog import look_up_run
    from .engine.predictor import load_predictor
    from .engine.prepare import ImageError, NoDigit, load_image, prepare_digit
    from .engine.runs import CheckpointError

    if not args.runs_dir.strip():  # Path("") is the current folder: run names were looked up there
        print("mnist-tui predict: error: --runs-dir is empty; name a folder", file=sys.stderr)
        return USAGE
    folder, problem = look_up_run(args.run_dir, Path(args.runs_dir))
    run_dir = str(folder)
    if problem is not None:
        return _fail(problem, run_dir)
    try:
        predictor = load_predictor(run_dir)
    except CheckpointError as error:
        return _fail(str(error), run_dir)
    digits: list[bytes] = []
    for path in args.images:
        try:
            ink = load_image(path)
        except (ImageError, NoDigit) as error:  # both name the file: unreadable, or too faint
            return _fail(str(error), path)
        try:
            digits.append(prepare_digit(ink))
        except NoDigit:
            return _fail(f"{path}: nothing to classify: the image is blank", path)
    if predictor.epoch == 0:  # stopped or diverged before its first epoch ended: barely trained, if at all
        print(
            f"mnist-tui predict: note: {predictor.checkpoint} was saved before the run's first epoch ended; "
            "its predictions are close to guesses",
            file=sys.stderr,
        )
    names = predictor.class_names
    for path, pixels in zip(args.images, digits):
        probabilities = predictor.predict(pixels)
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        if args.json:
            line = {
                "image": path,
                "prediction": best,
                "class": names[best],
                "probabilities": list(probabilities),
                "checkpoint": str(predictor.checkpoint),
            }
            print(json.dumps(line), flush=True)
        else:
            spread = "  ".join(f"{name} {p:.3f}" for name, p in zip(names, probabilities))
            print(f"{printable(path)}: {names[best]} ({probabilities[best]:.1%})  {spread}", flush=True)
    return 0


def _fail(message: str, path: str | None = None) -> int:
    """One line naming ``path`` escaped as ``runs`` and ``compare`` escape names: a newline in it
    neither splits the line nor loses the reason, and an escape sequence is not sent to the terminal."""
    if path:
        for written in {path, str(Path(path))}:  # the engine names the path as given or as Path writes it
            message = message.replace(written, printable(written))
    first = message.strip().splitlines()[0]  # torch's load errors run to several lines
    print(f"mnist-tui predict: error: {printable(first)}", file=sys.stderr)
    return USAGE
