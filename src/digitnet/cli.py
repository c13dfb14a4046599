"""The ``digitnet`` command: parse, validate, call one library function, return an exit code.

Each command lives in the module that owns its job and registers itself through a
``register(subparsers)`` function that sets ``func`` (``args -> int``) on its parser. User errors
(:class:`~digitnet.errors.DigitnetError`) become one line on stderr and exit code 1; bad options
exit with argparse's code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from digitnet.errors import DigitnetError
from digitnet.version import __version__

# Modules that add subcommands, in the order they appear in ``digitnet --help``.
COMMAND_MODULES = [
    "digitnet.commands.train",
    "digitnet.commands.init",
    "digitnet.commands.evaluate",
    "digitnet.data.cli",
    "digitnet.commands.serve",
    "digitnet.commands.inside",
    "digitnet.commands.convert",
    "digitnet.commands.sweep",
    "digitnet.commands.experiment",
]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (argparse prints usage too)."""

    commands: list[str] = []  # the top-level parser's command names

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"digitnet: error: {message}\n")


def build_parser() -> _Parser:
    parser = _Parser(prog="digitnet", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.description = "A neural network from scratch that learns handwritten digits."
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    parser.commands = list(subparsers.choices)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits on --help, --version and bad options
        return int(stop.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        print(f"digitnet: error: choose a COMMAND: {', '.join(parser.commands)}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except DigitnetError as err:
        print(f"digitnet: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`digitnet eval M | head -1`)
        _silence_stdout()
        return 1
    except OSError as err:  # the environment: a full disk, a read-only folder, a missing file
        print(f"digitnet: error: {describe_os_error(err)}", file=sys.stderr)
        return 1


def describe_os_error(err: OSError) -> str:
    """One line for an OSError: the file it concerns and the system's reason."""
    reason = err.strerror or str(err)
    return f"{err.filename}: {reason}" if err.filename else reason


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
