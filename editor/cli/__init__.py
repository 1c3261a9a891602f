"""`flint`, the command-line client of a Flint server (docs/CLI.md).

It speaks only the server's public interface: the JSON API under /api/ and the sockets
under /ws/ (docs/API.md, docs/PROTOCOL.md). It imports nothing from Django or the rest of
`editor/`, so it installs on its own (editor/cli/pyproject.toml builds `flint-cli`).
Imports inside the package are relative for the same reason: the same files are the
package `editor.cli` in the server's distribution and `flint_cli` in the client's.
"""

__version__ = "0.1.0"
