"""The ``harness`` command line: a thin layer over the library.

Each group of commands lives in its own module under ``harness/commands``; this module only
assembles them, so a broken optional command cannot take the others down.
"""

from __future__ import annotations

import importlib

import click

from harness import __version__

# A module that does not exist (yet) is skipped, so command groups can land one at a time.
_COMMAND_MODULES = (
    "harness.commands.stack_cmds",
    "harness.commands.report_cmds",
    "harness.commands.run_cmds",
    "harness.commands.control_cmds",
    "harness.commands.efficacy_cmds",
    "harness.commands.profile_cmds",
    "harness.commands.verify_cmds",
    "harness.commands.load_cmds",
    "harness.commands.audit_cmds",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Bring a web-service stack up, verify its controls, and report with evidence."""


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


def main() -> None:
    _register()
    cli(prog_name="harness")


if __name__ == "__main__":
    main()
