"""The Train view: the form, the loss chart, progress, accuracy per epoch and the prediction gallery."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll

from ..engine.config import Config
from .accuracy_table import AccuracyTable
from .config_form import ConfigForm
from .digit_gallery import DigitGallery
from .loss_chart import LossChart
from .pane import View
from .run_progress import RunProgress


class TrainView(View):
    """Today's dashboard: set up a run and watch it learn."""

    KEY = "1"
    TITLE = "Train"
    DEFAULT_CSS = """
    TrainView { layout: vertical; }
    """

    def __init__(self, config: Config, *, preset: str | None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._config = config
        self._preset = preset

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with VerticalScroll(id="sidebar"):
                yield ConfigForm(self._config, preset=self._preset, id="form")
            with Vertical(id="main"):
                yield LossChart(id="loss")
                with Horizontal(id="run-panes"):
                    yield RunProgress(id="progress")
                    yield AccuracyTable(id="accuracy")
        yield DigitGallery(id="gallery")

    def on_mount(self) -> None:
        self.query_one("#sidebar").border_title = "Hyperparameters"
        self.query_one("#progress").border_title = "Progress"
        self.query_one("#gallery").border_title = "Predictions"
