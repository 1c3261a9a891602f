"""Python quick edits of the demo model: the results parse, and they behave as before."""

from __future__ import annotations

import ast
import textwrap

import pytest

from editor.assist.simulator.demo import pyedits, pysource
from editor.assist.simulator.demo.pyedits import CannotEdit


def edit(source: str, transform) -> str:
    return pyedits.on_fragment(source, transform)


def run(source: str, call: str):
    scope: dict = {}
    exec(compile(source, "<demo>", "exec"), scope)  # noqa: S102 - our own test code
    return eval(call, scope)  # noqa: S307


FORMATS = """
def show(name, width, height, ratio):
    a = "%s is %d wide and %.2f tall" % (name, width, height)
    b = "%-8s|%5d|%r" % (name, width, name)
    c = "{} ({!r}) {w:>4} {{literal}}".format(name, name, w=width)
    d = "{0}/{1}/{0}".format(width, height)
    e = "%(n)s: %(r).1f%%" % {"n": name, "r": ratio}
    f = 'it\\'s {}'.format(name)
    g = "{}".format(name.upper())
    return a, b, c, d, e, f, g
"""


def test_f_strings_give_the_same_strings():
    converted = edit(FORMATS, pyedits.to_fstrings)

    assert converted.count('f"') + converted.count("f'") == 7
    assert '" % ' not in converted and "% {" not in converted
    assert ".format(" not in converted
    call = "show('box', 12, 3.14159, 0.25)"
    assert run(converted, call) == run(FORMATS, call)


def test_f_strings_leave_what_has_no_exact_form():
    source = 'x = "%s" % value\ny = "{}".format(*args)\nz = "a" "b %s" % q\n'
    converted = edit(source, pyedits.to_fstrings)
    assert converted == 'x = f"{value}"\ny = "{}".format(*args)\nz = "a" "b %s" % q\n'


def test_docstrings_describe_the_code_and_keep_it_working():
    source = textwrap.dedent("""
        class Shelf:
            def __init__(self, size=10):
                self.items = []

            def is_full(self):
                # a comment under the header stays where it is
                return len(self.items) >= 10

            def put(self, item):
                if self.is_full():
                    raise OverflowError("full")
                self.items.append(item)
    """)
    out = edit(source, pyedits.add_docstrings)
    tree = ast.parse(out)
    docs = {
        n.name: ast.get_docstring(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.ClassDef)
    }
    assert docs["Shelf"] == "A shelf."
    assert docs["is_full"].startswith("Return whether it is full.")
    assert "`len(self.items) >= 10`" in docs["is_full"]
    assert docs["put"].startswith("Put `item`.")
    assert "Raises:\n    OverflowError: 'full'." in docs["put"]
    assert "size: Size (default `10`)." in docs["__init__"]
    assert '"""Return whether it is full.' in out.split("# a comment")[0]
    assert run(out, "Shelf().is_full()") is False


def test_docstrings_on_an_indented_method_keep_its_indent():
    method = "    def area(self):\n        return self.w * self.h\n"
    out = edit(method, pyedits.add_docstrings)
    assert out == (
        "    def area(self):\n"
        '        """Return the area.\n\n        Returns:\n            `self.w * self.h`.\n'
        '        """\n        return self.w * self.h\n'
    )


def test_nothing_to_document_is_said():
    with pytest.raises(CannotEdit, match="already has a docstring"):
        edit('def f():\n    """Done."""\n', pyedits.add_docstrings)


def test_type_hints_only_where_proven():
    source = textwrap.dedent("""
        def label(amount, currency="EUR", digits=2, ratio=0.5, flag=False, extra=None):
            return "%.2f %s" % (amount, currency)

        def check(code):
            return code in CODES

        def total(items):
            return sum(items)

        def log_it(message):
            print(message)
    """)
    out = edit(source, pyedits.add_type_hints)
    assert ('def label(amount, currency: str = "EUR", digits: int = 2, ratio: float = 0.5, '
            "flag: bool = False, extra=None) -> str:") in out  # fmt: skip
    assert "def check(code) -> bool:" in out
    assert "def total(items):" in out  # sum() of what? not proven
    assert "def log_it(message) -> None:" in out


def test_rename_touches_names_not_strings_or_comments():
    source = 'def area(w):\n    # area of w\n    return f"{area} {w}" + "area"\n\nx = area(2)\n'
    out = pyedits.rename(source, "area", "surface")
    assert (
        out == 'def surface(w):\n    # area of w\n    return f"{surface} {w}" + "area"\n'
        "\nx = surface(2)\n"
    )
    with pytest.raises(CannotEdit):
        pyedits.rename(source, "area", "class")


def test_sort_imports_in_sections():
    source = (
        "import sys\nfrom os import path, environ\nimport requests\nfrom .models import b, A\n"
        "import os\nfrom __future__ import annotations\n\nx = 1\n"
    )
    out = edit(source, pyedits.sort_imports)
    assert out == (
        "from __future__ import annotations\n\nimport os\nimport sys\n"
        "from os import environ, path\n\n"
        "import requests\n\nfrom .models import A, b\n\nx = 1\n"
    )


def test_wrap_in_try_logs_with_the_module_logger_and_reraises():
    function = (
        'def load(path):\n    """Read it."""\n    with open(path) as f:\n        return f.read()\n'
    )
    out = pyedits.on_fragment(
        function, lambda s, t: pyedits.wrap_try(s, t, context="log = logging.getLogger(__name__)\n")
    )
    assert out == (
        'def load(path):\n    """Read it."""\n    try:\n        with open(path) as f:\n'
        '            return f.read()\n    except Exception:\n        log.exception("load failed")\n'
        "        raise\n"
    )
    with pytest.raises(CannotEdit, match="select one function"):
        pyedits.on_fragment("def a():\n    pass\n\ndef b():\n    pass\n", pyedits.wrap_try)


def test_remove_comments_keeps_pragmas_and_code():
    source = (
        "#!/usr/bin/env python3\n# heading\nx = 1  # one\nimport os  # noqa: F401\n"
        "s = '# not a comment'\n"
    )
    assert pyedits.remove_comments(source) == (
        "#!/usr/bin/env python3\nx = 1\nimport os  # noqa: F401\ns = '# not a comment'\n"
    )


def test_a_fragment_that_is_not_code_is_refused():
    with pytest.raises(CannotEdit, match="not complete Python"):
        edit("def broken(:\n", pyedits.add_docstrings)


def test_return_types_from_the_code():
    tree = ast.parse(
        "def a():\n    return 'x' + 'y'\ndef b():\n    yield 1\ndef c(x):\n    return x or 1\n"
    )
    a, b, c = pysource.functions(tree)
    assert (pysource.return_type(a), pysource.return_type(b), pysource.return_type(c)) == (
        "str",
        None,
        None,
    )
