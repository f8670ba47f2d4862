"""Every ImageJ command: the one place that imports the handler modules.

Each ``_commands*.py`` module registers its handlers in :data:`._spec.COMMANDS` with
``@command(...)`` when it is imported; nothing imports this module back, so the commands and the
registry that serves them form no import circle.
"""

from __future__ import annotations

from colocalize.imagej import (  # noqa: F401 - importing the handler modules registers them
    _commands,
    _commands_batch,
    _commands_diagnostics,
    _commands_import,
    _commands_masks,
    _commands_objects,
)
from colocalize.imagej._spec import COMMANDS, Command

__all__ = ["commands"]


def commands() -> dict[str, Command]:
    """All commands, by key."""
    return COMMANDS
