"""Serve Flint's model simulator: an OpenAI-compatible API for tests, benchmarks, demos."""

from __future__ import annotations

import asyncio
import contextlib

from django.core.management.base import BaseCommand, CommandError

from editor.assist.simulator import Simulator, load_script


class Command(BaseCommand):
    help = "Serve a simulated OpenAI-compatible model at http://HOST:PORT/v1 (docs/MODELS.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--tokens-per-s", type=float, default=1000.0)
        parser.add_argument("--ttft-ms", type=float, default=120.0)
        parser.add_argument("--script", help="JSON or YAML rules (see docs/MODELS.md)")
        parser.add_argument("--api-key", help="require this bearer key (default: any)")
        parser.add_argument("--context-tokens", type=int, default=128_000)
        parser.add_argument(
            "--demo",
            action="store_true",
            help="answer what no script rule answers as the demo model (real work on the "
            "project in the prompt) instead of filler text",
        )

    def handle(self, *args, **options) -> None:
        rules = []
        if options["script"]:
            try:
                rules = load_script(options["script"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"Cannot load script {options['script']}: {exc}") from exc
        simulator = Simulator(
            tokens_per_s=options["tokens_per_s"],
            ttft_ms=options["ttft_ms"],
            rules=rules,
            api_key=options["api_key"],
            context_tokens=options["context_tokens"],
            demo=options["demo"],
        )
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
            asyncio.run(self._serve(simulator, options["host"], options["port"]))

    async def _serve(self, simulator: Simulator, host: str, port: int) -> None:
        bound = await simulator.start(host, port)
        self.stdout.write(
            f"Model simulator on http://{host}:{bound}/v1 "
            f"({simulator.tokens_per_s:g} tok/s, {simulator.ttft_ms:g} ms to first token"
            f"{', demo model' if simulator.demo else ''})",
        )
        self.stdout.flush()
        await asyncio.Event().wait()
