"""Reading Python source for the demo model: functions, what they return, docstrings.

Everything here is derived from the code itself (ast), never guessed from thin air: a
docstring describes the parameters and the return expression the function really has,
a type hint is added only where the code proves it (a literal default, a literal or
builtin-call return, no return at all).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_SPLIT_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_VERBS = {
    "add", "apply", "build", "check", "clear", "close", "compute", "convert", "count",
    "create", "delete", "draw", "find", "format", "handle", "load", "make", "merge", "move",
    "open", "parse", "print", "read", "remove", "render", "reset", "run", "save", "scale",
    "send", "set", "show", "sort", "start", "stop", "update", "validate", "write",
    "describe", "fetch", "calculate", "generate", "encode", "decode", "normalize", "process",
    "transform", "filter", "collect", "split", "join", "wrap", "register", "resolve",
    "serialize", "notify", "log", "emit", "dispatch", "execute", "evaluate", "measure",
    "append", "insert", "extend", "greet", "connect", "fill", "init", "setup", "configure",
    "list", "summarize", "export", "import", "refresh", "restore", "store", "cache", "clean",
    "copy", "ensure", "extract", "group", "hash", "index", "limit", "push", "pop",
    "select", "sum", "test", "toggle", "track", "truncate", "verify", "visit", "walk",
}  # fmt: skip
_STR_METHODS = {"format", "join", "upper", "lower", "strip", "lstrip", "rstrip", "replace",
                "title", "capitalize"}  # fmt: skip
_LITERAL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}
_BUILTIN_RESULTS = {
    "len": "int", "int": "int", "str": "str", "float": "float", "bool": "bool", "repr": "str",
    "list": "list", "dict": "dict", "set": "set", "tuple": "tuple", "sorted": "list",
    "round": "int", "abs": None, "isinstance": "bool", "hasattr": "bool", "any": "bool",
    "all": "bool", "callable": "bool", "format": "str", "bytes": "bytes",
}  # fmt: skip


def words(name: str) -> list[str]:
    """`parse_header`, `parseHeader` → ["parse", "header"]."""
    return [w.lower() for chunk in name.strip("_").split("_") for w in _SPLIT_WORDS.findall(chunk)]


def parse_fragment(text: str) -> tuple[ast.Module, str] | None:
    """Parse a selection that may be indented (a method picked out of a class): the tree
    of the dedented text and the indent that was taken off, or None if it is not code."""
    dedented = textwrap.dedent(text)
    indent = ""
    if dedented != text:
        first = next((line for line in text.splitlines() if line.strip()), "")
        indent = first[: len(first) - len(first.lstrip())]
    try:
        return ast.parse(dedented), indent
    except (SyntaxError, ValueError):
        return None


def reindent(text: str, indent: str) -> str:
    if not indent:
        return text
    return "".join(
        indent + line if line.strip() else line for line in text.splitlines(keepends=True)
    )


def functions(tree: ast.AST) -> list[FunctionNode]:
    """Every function and method, outermost first, in source order."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def own_nodes(function: FunctionNode) -> list[ast.AST]:
    """The nodes of a function's body, without the insides of functions or classes in it."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return out


def returns(function: FunctionNode) -> list[ast.Return]:
    return [n for n in own_nodes(function) if isinstance(n, ast.Return)]


def is_generator(function: FunctionNode) -> bool:
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own_nodes(function))


def raised(function: FunctionNode) -> list[tuple[str, str]]:
    """(exception name, its message when a literal) of each `raise` in the function."""
    found: dict[str, str] = {}
    for node in sorted(own_nodes(function), key=lambda n: getattr(n, "lineno", 0)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc if isinstance(node.exc, ast.Call) else None
            exc = call.func if call else node.exc
            message = ""
            if call and call.args and isinstance(call.args[0], ast.Constant | ast.JoinedStr):
                first = call.args[0]
                message = str(first.value) if isinstance(first, ast.Constant) else "formatted"
            if isinstance(exc, ast.Name) and exc.id not in found:
                found[exc.id] = message
    return list(found.items())


def has_docstring(node: FunctionNode | ast.ClassDef) -> bool:
    return ast.get_docstring(node, clean=False) is not None


def parameters(function: FunctionNode) -> list[ast.arg]:
    args = function.args
    every = [*args.posonlyargs, *args.args]
    if args.vararg:
        every.append(args.vararg)
    every.extend(args.kwonlyargs)
    if args.kwarg:
        every.append(args.kwarg)
    if every and every[0].arg in ("self", "cls") and _is_method(function):
        every = every[1:]
    return every


def _is_method(function: FunctionNode) -> bool:
    # ast has no parent links; a first parameter called self/cls is the convention.
    first = (function.args.posonlyargs + function.args.args)[:1]
    return bool(first) and first[0].arg in ("self", "cls")


def defaults(function: FunctionNode) -> dict[str, ast.expr]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    found = dict(
        zip([a.arg for a in positional[-len(args.defaults) :]], args.defaults, strict=False)
    )
    if not args.defaults:
        found = {}
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if default is not None:
            found[arg.arg] = default
    return found


def expression_type(node: ast.expr | None) -> str | None:
    """The type an expression certainly has, when its form alone says so."""
    if node is None:
        return "None"
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "None"
        return _LITERAL_TYPES.get(type(node.value))
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        left = expression_type(node.left)
        right = "str" if isinstance(node.op, ast.Mod) else expression_type(node.right)
        if left == "str" and right == "str":
            return "str"  # "..." % x and "..." + "..." are strings
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _STR_METHODS
        and expression_type(node.func.value) == "str"
    ):
        return "str"
    if isinstance(node, ast.Compare) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return "bool"
    if isinstance(node, ast.List | ast.ListComp):
        return "list"
    if isinstance(node, ast.Dict | ast.DictComp):
        return "dict"
    if isinstance(node, ast.Set | ast.SetComp):
        return "set"
    if isinstance(node, ast.Tuple):
        return "tuple"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "round" and len(node.args) > 1:
            return None  # round(x, n) keeps x's type
        return _BUILTIN_RESULTS.get(node.func.id)
    if isinstance(node, ast.BoolOp):
        kinds = {expression_type(v) for v in node.values}
        return kinds.pop() if len(kinds) == 1 and None not in kinds else None
    return None


def return_type(function: FunctionNode) -> str | None:
    """`None` for a function that returns nothing, the one type all its returns share, or
    None when the code does not prove one."""
    if is_generator(function):
        return None
    found = returns(function)
    if function.name == "__init__" or not found or all(r.value is None for r in found):
        return "None"
    kinds = {expression_type(r.value) for r in found}
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()
    if kinds == {"int", "float"}:
        return "float"
    return None


def parameter_type(function: FunctionNode, arg: ast.arg) -> str | None:
    default = defaults(function).get(arg.arg)
    if default is None or arg is function.args.vararg or arg is function.args.kwarg:
        return None
    kind = expression_type(default)
    return None if kind in (None, "None") else kind


@dataclass
class Docstring:
    summary: str
    args: list[tuple[str, str]]
    returns: str | None
    raises: list[tuple[str, str]]

    def render(self, indent: str, quote: str = '"""') -> str:
        lines = [self.summary]
        if self.args:
            lines += ["", "Args:"] + [f"    {name}: {text}" for name, text in self.args]
        if self.returns:
            lines += ["", "Returns:", f"    {self.returns}"]
        if self.raises:
            lines += ["", "Raises:"] + [
                f"    {name}: {message!r}."
                if message and message != "formatted"
                else f"    {name}."
                for name, message in self.raises
            ]
        if len(lines) == 1:
            return f"{indent}{quote}{self.summary}{quote}\n"
        body = "".join(f"{indent}{line}\n" if line else "\n" for line in lines[1:])
        return f"{indent}{quote}{lines[0]}\n{body}{indent}{quote}\n"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _summary(name: str, returns_value: bool, owner: str | None, params: list[str]) -> str:
    parts = words(name) or [name]
    if len(parts) == 1 and (parts[0] in _VERBS or (params and not returns_value)):
        # A bare verb: what it acts on is its parameters, else the object it belongs to.
        target = f"the {' '.join(words(owner))}" if owner else "it"
        if params:
            target = _listed([f"`{p}`" for p in params])
        return f"{parts[0].capitalize()} {target}."
    if name == "__init__":
        return "Initialise the instance."
    if name.startswith("__") and name.endswith("__"):
        return f"Implement `{name}`."
    head, rest = parts[0], " ".join(parts[1:])
    if head in ("is", "has", "can", "should") and rest:
        return f"Return whether {'it ' + head + ' ' if head != 'is' else 'it is '}{rest}."
    if head == "get" and rest:
        return f"Return the {rest}."
    if head in _VERBS:
        sentence = " ".join(parts)
        return f"{sentence[0].upper()}{sentence[1:]}."
    if returns_value:
        return f"Return the {' '.join(parts)}."
    sentence = " ".join(parts)
    return f"{sentence[0].upper()}{sentence[1:]}."


def _describe_arg(function: FunctionNode, arg: ast.arg, source: str) -> str:
    text = " ".join(words(arg.arg)) or arg.arg
    if arg is function.args.vararg:
        text = f"extra positional arguments ({text})"
    elif arg is function.args.kwarg:
        text = f"extra keyword arguments ({text})"
    default = defaults(function).get(arg.arg)
    if default is not None:
        text += f" (default `{_shown(default, source)}`)"
    return text[0].upper() + text[1:] + "."


def _shown(node: ast.expr, source: str) -> str:
    """An expression as written (ast.unparse would add parentheses and change quotes)."""
    segment = ast.get_source_segment(source, node) if source else None
    return " ".join((segment or ast.unparse(node)).split())


def docstring_for(function: FunctionNode, owner: str | None = None, source: str = "") -> Docstring:
    """A docstring from the function's own code; `owner` is the class of a method."""
    found = [r for r in returns(function) if r.value is not None]
    shown = list(dict.fromkeys(_shown(r.value, source) for r in found if r.value is not None))
    value = None
    if is_generator(function):
        value = "The values it yields, one by one."
    elif len(shown) == 1:
        value = f"`{shown[0]}`." if len(shown[0]) <= 60 else "The computed result."
    elif shown:
        value = "One of: " + ", ".join(f"`{s}`" for s in shown[:4]) + "."
        if len(value) > 100:
            value = "The computed result, depending on the branch taken."
    params = [a.arg for a in parameters(function)]
    summary = _summary(function.name, bool(found), owner, params)
    args = [(a.arg, _describe_arg(function, a, source)) for a in parameters(function)]
    return Docstring(summary, args, value, raised(function))


def class_docstring(node: ast.ClassDef) -> str:
    parts = words(node.name) or [node.name]
    bases = [ast.unparse(b) for b in node.bases]
    noun = " ".join(parts)
    text = f"{'An' if noun[:1] in 'aeiou' else 'A'} {noun}"
    if bases:
        text += f" ({', '.join(bases)})"
    return text + "."


def long_functions(tree: ast.AST, limit: int) -> list[tuple[FunctionNode, int]]:
    out = []
    for function in functions(tree):
        length = (function.end_lineno or function.lineno) - function.lineno + 1
        if length > limit:
            out.append((function, length))
    return out
