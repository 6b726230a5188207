"""``python -m mnist_tui`` and the ``mnist-tui`` console script."""

from __future__ import annotations

import sys


def main() -> int:
    from .command import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
