"""Settings for bench/relay_bench.py: Flint's own, with room for long inline completions.

The benchmark streams 1,000 to 100,000 token answers through the inline-completion path;
in normal use that path stops at 128 tokens.
"""

from webapp.settings import *  # noqa: F403

FLINT_ASSIST_COMPLETION_MAX_TOKENS = 120_000  # of the 128,000-token context
