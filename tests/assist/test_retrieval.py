"""BM25 retrieval over a room's files."""

from __future__ import annotations

from editor.assist.retrieval import excerpt, rank, terms

FILES = {
    "src/parser.py": "def parse_header(line):\n    return HeaderParser().feed(line)\n" * 3,
    "src/render.py": "def render_page(page):\n    return template.render(page)\n",
    "README.md": "Flint parses headers and renders pages.\n",
    "src/util.py": "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n",
}


def test_identifiers_are_split_into_their_parts():
    assert terms("parseHeader_v2") == ["parseheader_v2", "parse", "header", "v2"]
    assert "the" not in terms("what does the parser do")


def test_the_file_that_defines_the_thing_ranks_first():
    ranked = rank("where is parse_header defined?", FILES)
    assert ranked[0][0] == "src/parser.py"
    assert "src/util.py" not in [path for path, _ in ranked]


def test_paths_count_and_limit_applies():
    assert rank("util", FILES, limit=1) == [("src/util.py", rank("util", FILES)[0][1])]
    assert rank("", FILES) == [] and rank("parse", {}) == []


def test_excerpt_windows_around_the_first_mention():
    text = "".join(f"line {n}\n" for n in range(1000)) + "def target():\n    pass\n"
    window = excerpt(text, "target", max_chars=300)
    assert "def target()" in window and len(window) <= 300
    assert excerpt("short", "x", max_chars=300) == "short"
