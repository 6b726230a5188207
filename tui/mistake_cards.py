"""The mistakes of one (true, predicted) cell as pixel art, the most confident first."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from ..engine.events import MistakesFound
from .pane import FitsWidth
from .pixels import caption, half_block_rows, tile_grid

CARD = 28


def cell_mistakes(mistakes: MistakesFound, true: int, predicted: int) -> list[int]:
    """Positions in ``mistakes`` of the digits of class ``true`` taken for ``predicted``, most confident first."""
    found = [
        i for i, (label, prediction) in enumerate(zip(mistakes.labels, mistakes.predictions))
        if label == true and prediction == predicted
    ]
    return sorted(found, key=lambda i: -mistakes.confidences[i])


class MistakeCards(FitsWidth):
    """Digit, label → prediction, confidence and its index in the evaluation set."""

    def show(
        self,
        mistakes: MistakesFound | None,
        cell: tuple[int, int],
        names: tuple[str, ...],
        count: int | None,
        *,
        note: str | None = None,
    ) -> None:
        """The mistakes of ``cell`` (true, predicted); ``count`` is the cell's count in the confusion
        matrix; ``note`` says why there are no ``mistakes`` where none will come."""
        if self.same_as_shown(mistakes, cell, names, count, note):
            return
        width = self.fit_to_width(lambda: self.show(mistakes, cell, names, count, note=note))
        true, predicted = cell
        title = f"{names[true]} taken for {names[predicted]}"
        if true == predicted:
            self.update_content(Text(
                f"{names[true]} → {names[predicted]} is the diagonal: the digits it got right.\n"
                "Select an off-diagonal cell (arrows, then enter, or a click) to see its mistakes.", style="dim"))
            return
        if mistakes is None:
            self.update_content(Text(note or "Mistakes appear after the first epoch.", style="dim"))
            return
        chosen = cell_mistakes(mistakes, true, predicted)
        if not chosen:
            self.update_content(Text(f"No mistakes: no {names[true]} was taken for {names[predicted]}.", style="dim"))
            return
        columns = max(1, (width + 1) // (CARD + 1)) if width else 3
        cards = []
        for i in chosen:
            under = caption([
                (names[mistakes.labels[i]], "bold"),
                (" → ", ""),
                (names[mistakes.predictions[i]], "bold red"),
                (f" {mistakes.confidences[i]:.0%}", "red"),
                (f" #{mistakes.indices[i]}", "dim"),
            ], CARD)
            cards.append((half_block_rows(mistakes.images[i]), under))
        grid = tile_grid(cards, CARD, columns)
        shown = f"{len(chosen)} most confident of {count:,}" if count is not None else f"{len(chosen)}"
        self.update_content(Group(Text(f"{title}: {shown}", style="bold"), grid))
