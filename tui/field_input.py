"""A text field whose editing keys act in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class FieldInput(Input):
    """A text field whose editing keys (backspace, ctrl+u, home...) act in the order they were typed.

    Textual inserts a typed character in the field's own key handler, but runs a bound key's
    action only once the key has bubbled up to the app (Textual issue 6605): in a burst of keys
    (``end ctrl+u 0.05`` from ``tmux send-keys``, a fast typist) ``0.05`` was inserted before
    the clear, which then deleted it. The field's own bindings run here, where the key arrives.
    """

    async def _on_key(self, event: events.Key) -> None:
        self._restart_blink()  # as Input's own handler does first, which a key acted on here skips
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()  # Input's handler, next in line, would act on it again
                return
