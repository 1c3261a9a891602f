"""Which CodeMirror language mode a path gets, from its file name or extension."""

from __future__ import annotations

from pathlib import PurePosixPath

_BY_NAME = {
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "gnumakefile": "makefile",
    "cmakelists.txt": "cmake",
    "gemfile": "ruby",
    "rakefile": "ruby",
    "jenkinsfile": "groovy",
    ".gitignore": "gitignore",
    ".dockerignore": "gitignore",
    ".bashrc": "shell",
    ".zshrc": "shell",
    ".env": "properties",
}

_BY_EXT = {
    "py": "python", "pyi": "python", "pyw": "python",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "jsx",
    "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "json": "json", "jsonc": "json", "json5": "json",
    "html": "html", "htm": "html", "vue": "vue", "svelte": "svelte",
    "css": "css", "scss": "scss", "sass": "sass", "less": "less",
    "md": "markdown", "markdown": "markdown", "rst": "rst",
    "rs": "rust", "go": "go", "java": "java", "kt": "kotlin", "kts": "kotlin",
    "scala": "scala", "swift": "swift", "rb": "ruby", "php": "php", "pl": "perl",
    "lua": "lua", "r": "r", "jl": "julia", "dart": "dart", "ex": "elixir", "exs": "elixir",
    "erl": "erlang", "hs": "haskell", "ml": "ocaml", "clj": "clojure", "cs": "csharp",
    "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp",
    "sh": "shell", "bash": "shell", "zsh": "shell", "ps1": "powershell",
    "sql": "sql", "xml": "xml", "svg": "xml", "yaml": "yaml", "yml": "yaml",
    "toml": "toml", "ini": "ini", "cfg": "ini", "conf": "ini", "properties": "properties",
    "proto": "protobuf", "graphql": "graphql", "gql": "graphql", "tex": "latex",
    "diff": "diff", "patch": "diff", "txt": "text",
}  # fmt: skip


def language_for(path: str) -> str:
    """The language name for syntax highlighting, or "" when nothing fits."""
    name = PurePosixPath(path).name.lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.startswith("dockerfile"):
        return "dockerfile"
    _, dot, ext = name.rpartition(".")
    return _BY_EXT.get(ext, "") if dot else ""
