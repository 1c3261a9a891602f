"""Source-to-source edits of Python code, each correct or refused (raises CannotEdit).

They work on whole modules and on selections (a method cut out of its class is dedented,
edited and indented back). Edits are made as text splices at the positions ast and
tokenize report, so everything the edit does not touch stays byte for byte.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import string
import sys
import tokenize
from collections.abc import Callable

from editor.assist.simulator.demo import pysource

PRAGMA = re.compile(r"#\s*(noqa|type:|pragma|fmt:|pylint:|ruff:|isort:)", re.I)
LINE_LIMIT = 88


class CannotEdit(Exception):
    """The edit cannot be made correctly here; the message says why (shown to the user)."""


# --- splicing ------------------------------------------------------------------------------


class Splices:
    """Replacements at (line, column) positions, applied together from the end backwards."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.items: list[tuple[int, int, str]] = []

    def offset(self, line: int, col: int, *, utf8: bool = False) -> int:
        """Offset of 1-based `line`, column `col` (ast's columns count UTF-8 bytes)."""
        if line - 1 >= len(self.lines):
            return len(self.text)
        if utf8:
            col = len(self.lines[line - 1].encode()[:col].decode(errors="ignore"))
        return self.starts[line - 1] + col

    def replace(self, start: int, end: int, text: str) -> None:
        self.items.append((start, end, text))

    def insert_line(self, line: int, text: str) -> None:
        at = self.starts[min(line - 1, len(self.lines))]
        self.items.append((at, at, text))

    def apply(self) -> str:
        out = self.text
        for start, end, text in sorted(self.items, key=lambda i: (i[0], i[1]), reverse=True):
            out = out[:start] + text + out[end:]
        return out


def on_fragment(text: str, edit: Callable[[str, ast.Module], str]) -> str:
    """Run `edit` on a selection: dedent, parse, edit, indent back; keep its last newline."""
    parsed = pysource.parse_fragment(text)
    if parsed is None:
        raise CannotEdit(
            "the selection is not complete Python code; select whole statements or functions"
        )
    tree, indent = parsed
    source = text if not indent else _dedent(text, indent)
    return pysource.reindent(edit(source, tree), indent)


def _dedent(text: str, indent: str) -> str:
    return "".join(
        line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")
        for line in text.splitlines(keepends=True)
    )


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise CannotEdit(f"the code cannot be tokenized ({exc})") from None


def _body_indent(splices: Splices, node: ast.stmt) -> str:
    line = splices.lines[node.lineno - 1]
    return line[: len(line) - len(line.lstrip())]


# --- docstrings ----------------------------------------------------------------------------


def add_docstrings(source: str, tree: ast.Module) -> str:
    splices = Splices(source)
    tokens = _tokens(source)
    owners = {
        id(item): node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
    }
    added = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        (header_end, _), _ = _header_colon(tokens, node)
        if pysource.has_docstring(node) or node.body[0].lineno == header_end:
            continue  # documented already, or a one-line body we would have to reflow
        indent = _body_indent(splices, node.body[0])
        if isinstance(node, ast.ClassDef):
            text = f'{indent}"""{pysource.class_docstring(node)}"""\n'
            if splices.lines[header_end].strip():
                text += "\n"  # a blank line between the class docstring and its body
        else:
            text = pysource.docstring_for(node, owners.get(id(node)), source).render(indent)
        splices.insert_line(header_end + 1, text)  # right under the header, before comments
        added += 1
    if not added:
        raise CannotEdit("every function and class already has a docstring")
    return splices.apply()


# --- type hints ----------------------------------------------------------------------------


def _header_colon(tokens: list[tokenize.TokenInfo], node: ast.stmt) -> tuple:
    """(line, col) of the ':' that ends a def or class header, and the token before it."""
    depth, seen_def, previous = 0, False, None
    for token in tokens:
        if token.start[0] < node.lineno:
            continue
        if not seen_def:
            seen_def = token.type == tokenize.NAME and token.string in ("def", "class")
            continue
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type == tokenize.OP and token.string == ":" and depth == 0:
            return token.start, previous
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token
    raise CannotEdit(f"the header of {getattr(node, 'name', 'a definition')} could not be read")


def add_type_hints(source: str, tree: ast.Module) -> str:
    splices = Splices(source)
    tokens = _tokens(source)
    added = 0
    for function in pysource.functions(tree):
        for arg in pysource.parameters(function):
            kind = pysource.parameter_type(function, arg) if arg.annotation is None else None
            if kind is None:
                continue
            end = splices.offset(arg.end_lineno or arg.lineno, arg.end_col_offset or 0, utf8=True)
            default = pysource.defaults(function)[arg.arg]
            default_at = splices.offset(default.lineno, default.col_offset, utf8=True)
            splices.replace(end, default_at, f": {kind} = ")  # PEP 8: spaces when annotated
            added += 1
        if function.returns is None:
            kind = pysource.return_type(function)
            if kind is not None:
                _, before = _header_colon(tokens, function)
                at = splices.offset(before.end[0], before.end[1])
                splices.replace(at, at, f" -> {kind}")
                added += 1
    if not added:
        raise CannotEdit(
            "no type can be proven from this code alone (the demo model adds hints only "
            "for literal defaults, functions returning nothing, and returns of one clear type)"
        )
    return splices.apply()


# --- rename --------------------------------------------------------------------------------


def check_identifier(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise CannotEdit(f"{name!r} is not a valid Python name")


def rename(source: str, old: str, new: str) -> str:
    """Every use of the name `old` (not inside strings or comments; inside f-string
    expressions too) becomes `new`."""
    check_identifier(new)
    splices = Splices(source)
    word = re.compile(rf"\b{re.escape(old)}\b")
    count = 0
    for token in _tokens(source):
        if token.type == tokenize.NAME and token.string == old:
            start = splices.offset(*token.start)
            splices.replace(start, start + len(old), new)
            count += 1
        elif token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string):
            renamed = _rename_in_fstring(token.string, word, new)
            if renamed != token.string:
                start = splices.offset(*token.start)
                splices.replace(start, start + len(token.string), renamed)
                count += 1
    if not count:
        raise CannotEdit(f"the name {old!r} does not occur in the code")
    return splices.apply()


def _rename_in_fstring(literal: str, word: re.Pattern[str], new: str) -> str:
    out, depth, i, piece = [], 0, 0, ""
    while i < len(literal):
        pair = literal[i : i + 2]
        if pair in ("{{", "}}") and depth == 0:
            out.append(pair)
            i += 2
            continue
        char = literal[i]
        if char == "{":
            depth += 1
            if depth == 1:
                out.append(char)
                i += 1
                continue
        if char == "}" and depth:
            depth -= 1
            if depth == 0:
                out.append(word.sub(new, piece) + char)
                piece = ""
                i += 1
                continue
        if depth:
            piece += char
        else:
            out.append(char)
        i += 1
    return "".join(out) + piece


# --- f-strings -----------------------------------------------------------------------------

_PERCENT = re.compile(
    r"%(?:\((?P<key>\w+)\))?(?P<flags>[-+ 0#]*)(?P<width>\d*)(?:\.(?P<prec>\d+))?"
    r"(?P<kind>[sdirfeEgGxXoc%])"
)
_STRING_START = re.compile(r"(?i)^(?P<prefix>[ru]*)(?P<quote>'''|\"\"\"|'|\")")


def _literal_parts(source_literal: str) -> tuple[str, str, str]:
    """(prefix, quote, body) of a plain (not f/b) string literal's source."""
    match = _STRING_START.match(source_literal)
    if match is None:
        raise CannotEdit("only plain string literals can become f-strings")
    quote = match["quote"]
    body = source_literal[match.end() : len(source_literal) - len(quote)]
    return match["prefix"], quote, body


def _placeholder(expression: ast.expr, spec: str, conversion: str, quote: str) -> str:
    text = ast.unparse(expression)
    if "\\" in text or quote[0] in text or "\n" in text:
        raise CannotEdit("an argument holds quotes or backslashes an f-string cannot hold")
    if isinstance(expression, ast.Lambda | ast.NamedExpr) or text.startswith("{"):
        text = f"({text})"
    conversion = f"!{conversion}" if conversion else ""
    spec = f":{spec}" if spec else ""
    return "{" + text + conversion + spec + "}"


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _from_percent(body: str, quote: str, right: ast.expr) -> str:
    items = right.elts if isinstance(right, ast.Tuple) else [right]
    by_key = None
    if isinstance(right, ast.Dict):
        if not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in right.keys):
            raise CannotEdit("a %-format with a computed mapping cannot become an f-string")
        by_key = {k.value: v for k, v in zip(right.keys, right.values, strict=True)}  # type: ignore[union-attr]
    out, last, index = [], 0, 0
    for match in _PERCENT.finditer(body):
        out.append(_escape_braces(body[last : match.start()]))
        last = match.end()
        if match["kind"] == "%":
            out.append("%")
            continue
        if match["key"]:
            if by_key is None or match["key"] not in by_key:
                raise CannotEdit("a %(name)s format needs a literal dict")
            value = by_key[match["key"]]
        else:
            if by_key is not None or index >= len(items):
                raise CannotEdit("the %-format and its arguments do not match")
            value, index = items[index], index + 1
        kind = match["kind"]
        flags = match["flags"].replace("-", "<") if "-" in match["flags"] else match["flags"]
        precision = f".{match['prec']}" if match["prec"] is not None else ""
        if kind in "sr":
            if precision or flags.strip("<"):
                raise CannotEdit("a %s with a precision or flags has no exact f-string form")
            conversion = "r" if kind == "r" else ""
            spec = f"{'<' if '<' in flags else ''}{match['width']}" if match["width"] else ""
            out.append(_placeholder(value, spec, conversion, quote))
        else:
            kind = "d" if kind in "iu" else kind
            spec = f"{flags}{match['width']}{precision}{kind}"
            out.append(_placeholder(value, "" if spec == "s" else spec, "", quote))
    if by_key is None and index != len(items):
        raise CannotEdit("the %-format and its arguments do not match")
    out.append(_escape_braces(body[last:]))
    return "".join(out)


def _from_format(body: str, quote: str, call: ast.Call) -> str:
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        raise CannotEdit(".format(*args) or (**kwargs) has no f-string form")
    keywords = {k.arg: k.value for k in call.keywords}
    out, automatic = [], 0
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise CannotEdit(f"the format string is malformed ({exc})") from None
    for literal, field, spec, conversion in parsed:
        out.append(_escape_braces(literal))
        if field is None:
            continue
        head = re.match(r"\w*", field).group(0)  # type: ignore[union-attr]
        rest = field[len(head) :]
        if head == "":
            value, automatic = (
                call.args[automatic] if automatic < len(call.args) else None,
                automatic + 1,
            )
        elif head.isdigit():
            value = call.args[int(head)] if int(head) < len(call.args) else None
        else:
            value = keywords.get(head)
        if value is None or "{" in (spec or ""):
            raise CannotEdit("the format string and its arguments do not match")
        if rest:
            value = ast.parse(f"({ast.unparse(value)}){rest}", mode="eval").body
        out.append(_placeholder(value, spec or "", conversion or "", quote))
    return "".join(out)


def to_fstrings(source: str, tree: ast.Module) -> str:
    splices = Splices(source)
    converted, refused = 0, []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            literal = node.left
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
        ):
            literal = node.func.value
        else:
            continue
        if not (isinstance(literal, ast.Constant) and isinstance(literal.value, str)):
            continue
        segment = ast.get_source_segment(source, literal) or ""
        try:
            if len(_tokens(segment)) > 3:  # STRING NEWLINE ENDMARKER: one literal only
                raise CannotEdit("implicitly joined string literals are left as they are")
            prefix, quote, body = _literal_parts(segment)
            if isinstance(node, ast.BinOp):
                new_body = _from_percent(body, quote, node.right)
            else:
                new_body = _from_format(body, quote, node)
        except CannotEdit as exc:
            refused.append(str(exc))
            continue
        start = splices.offset(node.lineno, node.col_offset, utf8=True)
        end = splices.offset(node.end_lineno or node.lineno, node.end_col_offset or 0, utf8=True)
        raw = "r" if "r" in prefix.lower() else ""
        splices.replace(start, end, f"{raw}f{quote}{new_body}{quote}")
        converted += 1
    if not converted:
        why = refused[0] if refused else "there is no %-formatting or .format() call"
        raise CannotEdit(f"nothing to convert: {why}")
    return splices.apply()


# --- imports -------------------------------------------------------------------------------


def _section(module: str, level: int) -> int:
    if level:
        return 4
    top = module.split(".")[0]
    if top == "__future__":
        return 0
    if top in sys.stdlib_module_names:
        return 1
    return 2


def _name_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return 0, name
    if name[:1].isupper():
        return 1, name.lower()
    return 2, name.lower()


def _alias(alias: ast.alias) -> str:
    return alias.name + (f" as {alias.asname}" if alias.asname else "")


def _sorted_imports(nodes: list[ast.stmt]) -> str:
    plain: dict[int, set[str]] = {}
    froms: dict[tuple[int, str], set[str]] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                plain.setdefault(_section(alias.name, 0), set()).add(_alias(alias))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            key = (_section(node.module or "", node.level), module)
            froms.setdefault(key, set()).update(_alias(a) for a in node.names)
    blocks = []
    for section in sorted(set(plain) | {s for s, _ in froms}):
        lines = [f"import {name}" for name in sorted(plain.get(section, ()), key=str.lower)]
        for _, module in sorted((k for k in froms if k[0] == section), key=lambda k: k[1].lower()):
            names = sorted(froms[(section, module)], key=_name_key)
            line = f"from {module} import {', '.join(names)}"
            if len(line) > LINE_LIMIT:
                line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
            lines.append(line)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def sort_imports(source: str, tree: ast.Module) -> str:
    splices = Splices(source)
    runs: list[list[ast.stmt]] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if runs and runs[-1][-1] is _previous(tree.body, node):
                runs[-1].append(node)
            else:
                runs.append([node])
    if not runs:
        raise CannotEdit("there are no imports at the top level of the selection")
    changed = False
    for run in runs:
        first, last = run[0].lineno, run[-1].end_lineno or run[-1].lineno
        original = "".join(splices.lines[first - 1 : last])
        if any(t.type == tokenize.COMMENT for t in _tokens(original)):
            raise CannotEdit("the imports carry comments, which sorting could misplace")
        block = _sorted_imports(run)
        if block != original:
            splices.replace(splices.starts[first - 1], splices.starts[last], block)
            changed = True
    if not changed:
        raise CannotEdit("the imports are sorted already")
    return splices.apply()


def _previous(body: list[ast.stmt], node: ast.stmt) -> ast.stmt | None:
    index = body.index(node)
    return body[index - 1] if index else None


# --- try/except with logging ---------------------------------------------------------------


def logger_name(context: str) -> str | None:
    """The module's logger variable (`log = logging.getLogger(...)`), if it has one."""
    match = re.search(r"^(\w+)\s*=\s*logging\.getLogger\(", context, re.M)
    return match.group(1) if match else None


def wrap_try(source: str, tree: ast.Module, *, context: str = "") -> str:
    """Wrap the statements (or, for a selected function, its body) in try/except that
    logs the exception with its traceback and re-raises it: nothing is swallowed."""
    logger = logger_name(context + "\n" + source)
    imported = re.search(r"^\s*import logging\b", context + "\n" + source, re.M)
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        function = tree.body[0]
        body = function.body[1:] if pysource.has_docstring(function) else function.body
        if not body:
            raise CannotEdit(f"{function.name} has no statements to wrap")
        what = f"{function.name} failed"
    elif any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for n in tree.body
    ):
        raise CannotEdit("select one function, or the statements inside one, to wrap")
    else:
        body, what = tree.body, "the operation failed"
        names = [
            ast.unparse(n.func)
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and re.fullmatch(r"[\w.]+", ast.unparse(n.func))
        ]
        if names:
            what = f"{names[0]} failed"
    splices = Splices(source)
    first, last = body[0].lineno, body[-1].end_lineno or body[-1].lineno
    indent = _body_indent(splices, body[0])
    block = "".join(splices.lines[first - 1 : last])
    if not block.endswith("\n"):
        block += "\n"
    inner = indent + "    "
    if logger:
        handler = f'{inner}{logger}.exception("{what}")\n'
    elif imported:
        handler = f'{inner}logging.getLogger(__name__).exception("{what}")\n'
    else:
        handler = (
            f'{inner}import logging\n\n{inner}logging.getLogger(__name__).exception("{what}")\n'
        )
    wrapped = (
        f"{indent}try:\n{pysource.reindent(block, '    ')}"
        f"{indent}except Exception:\n{handler}{inner}raise\n"
    )
    splices.replace(splices.starts[first - 1], splices.starts[last], wrapped)
    out = splices.apply()
    return out if source.endswith("\n") else out.rstrip("\n")


# --- comments ------------------------------------------------------------------------------


def remove_comments(source: str) -> str:
    """Drop comments; keep the shebang and tool pragmas (noqa, type:, fmt:, …), which
    change what tools do rather than explain the code."""
    splices = Splices(source)
    removed = 0
    for token in _tokens(source):
        if token.type != tokenize.COMMENT or PRAGMA.search(token.string):
            continue
        if token.start == (1, 0) and token.string.startswith("#!"):
            continue
        line_no, col = token.start
        line = splices.lines[line_no - 1]
        if not line[:col].strip():  # a comment on a line of its own: the line goes
            splices.replace(splices.starts[line_no - 1], splices.starts[line_no], "")
        else:
            code_end = len(line[:col].rstrip())
            start = splices.starts[line_no - 1] + code_end
            splices.replace(start, splices.offset(*token.end), "")
        removed += 1
    if not removed:
        raise CannotEdit("there are no comments to remove (tool pragmas like # noqa are kept)")
    return splices.apply()
