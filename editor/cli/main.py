"""The `flint` command: every failure becomes one line and an exit code (errors.py)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from . import __version__
from .errors import FAILED, INTERRUPTED, USAGE, CliError
from .output import error_line, print_json


class FlintGroup(click.Group):
    """Runs a command and turns whatever it raises into one line for the terminal."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as exc:
            error_line(exc.format_message())
            sys.exit(USAGE if exc.exit_code == 2 else exc.exit_code)
        except click.Abort:
            error_line("Stopped.")
            sys.exit(INTERRUPTED)
        except KeyboardInterrupt:
            error_line("Stopped.")
            sys.exit(INTERRUPTED)
        except CliError as exc:
            if _wants_json():
                print_json({"error": exc.error, "message": exc.message, "exit_code": exc.code})
            error_line(exc.message)
            sys.exit(exc.code)
        except Exception as exc:  # a bug: still one line, the traceback only on request
            if os.environ.get("FLINT_DEBUG"):
                raise
            error_line(
                f"Unexpected {type(exc).__name__}: {exc}. This is a bug in flint; run again "
                "with FLINT_DEBUG=1 for the details and report them."
            )
            sys.exit(FAILED)
        sys.exit(result if isinstance(result, int) else 0)


def _wants_json() -> bool:
    return "--json" in sys.argv[1:]


@click.group(cls=FlintGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flint")
def cli() -> None:
    """Flint from a terminal: rooms, files, a live folder sync, the models.

    Rooms are named by id or as team/room (the names lower-cased with dashes).
    Exit codes: 0 ok, 1 failed, 2 usage error, 3 refused by the server, 4 server failure,
    130 stopped with Ctrl-C.
    """


def _register() -> None:
    from . import account, assist, files, tasks, usage
    from .sync import command as sync_command

    for module in (account, files, sync_command, assist, tasks, usage):
        module.register(cli)


_register()


def main() -> None:
    cli.main(prog_name="flint")
