"""What a parsed patch is: file operations, each update a list of hunks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hunk:
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    hint_line: int | None = None  # 1-based line a unified diff said the hunk starts at
    # "@@ text" lines above the change, outermost first: each is looked for after the one
    # before it, so `@@ class A` then `@@ def f():` picks f inside A among repeated snippets.
    anchors: list[str] = field(default_factory=list)
    end_of_file: bool = False  # "*** End of File": the old lines must end the file
    ops: list[tuple[str, str]] = field(default_factory=list)  # (" "|"-"|"+", line)

    def add_line(self, op: str, text: str) -> None:
        if op != "+":
            self.old.append(text)
        if op != "-":
            self.new.append(text)
        self.ops.append((op, text))

    def replacement(self, found: list[str]) -> list[str]:
        """The new lines for `found` (the matched old lines): context kept as in the file."""
        out, k = [], 0
        for op, line in self.ops:
            if op == " ":
                out.append(found[k])
                k += 1
            elif op == "-":
                k += 1
            else:
                out.append(line)
        return out

    def without_trailing_blank(self) -> Hunk:
        """The hunk minus a last blank context line (models often add one the file lacks)."""
        ops = list(self.ops)
        if ops and ops[-1] == (" ", ""):
            ops.pop()
        copy = Hunk(hint_line=self.hint_line, anchors=self.anchors, end_of_file=self.end_of_file)
        for op, text in ops:
            copy.add_line(op, text)
        return copy


@dataclass
class FileOp:
    op: str  # add | update | delete
    path: str
    move_to: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    added_lines: list[str] = field(default_factory=list)
    # The envelope's rules: hunks in file order, anchors must exist, the result ends with
    # a newline. A unified diff keeps its looser, line-number-guided placement.
    envelope: bool = False
