"""What commands print: Rich for people, one JSON document on stdout for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Results go to stdout; progress, prompts and errors to stderr, so `--json` output and
# pipes stay clean.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_json_line(data: Any) -> None:
    """One compact object per line, for streams (`--json` with --follow, ask, sync)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def error_line(message: str) -> None:
    err.print(f"[bold red]flint:[/] {message}", markup=True, highlight=False)
