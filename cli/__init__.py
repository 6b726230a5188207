"""mnist-tui: train MNIST classifiers in a terminal dashboard, or headless for scripts and CI."""

from __future__ import annotations

__version__ = "0.1.0"
