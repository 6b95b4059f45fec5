"""The native stack: PostgreSQL, Prometheus, Alertmanager, SeaweedFS, Temporal and the
controller as local processes.

``vigil stack up|down|status`` runs the compose stack's own config files, rendered for
127.0.0.1 into a state directory (``.stack/``). For tests::

    stack = Stack(StackSettings(state_dir=tmp, controller_port=port, ...))
    stack.up()
    ...
    stack.down()
"""

from vigil.stack._cli import add_stack_commands, run_stack_command
from vigil.stack._component import ComponentStatus
from vigil.stack._render import render_alertmanager, render_prometheus
from vigil.stack._settings import StackSettings
from vigil.stack._stack import Stack
from vigil.stack.errors import RenderError, StackError

__all__ = [
    "ComponentStatus",
    "RenderError",
    "Stack",
    "StackError",
    "StackSettings",
    "add_stack_commands",
    "render_alertmanager",
    "render_prometheus",
    "run_stack_command",
]
