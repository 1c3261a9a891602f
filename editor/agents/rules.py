"""Project rules: the AGENTS.md files of the project, and the room's own rules.

An `AGENTS.md` applies to the folder it is in and everything under it; for a file, the
nearest one wins where they disagree, and the root one applies everywhere. The deep tier
gets every rules file of its snapshot (each labelled with where it applies) and the room's
rules in its system prompt; the review tier gets the ones that apply to the files it
reviews. The task records which it used (`Task.rules_used`, shown on the task sheet).
"""

from __future__ import annotations

from collections.abc import Iterable

RULES_NAME = "AGENTS.md"
ROOM_RULES = "room rules"
FILE_CHARS = 8000
TOTAL_CHARS = 24_000
HEADER = (
    "Project rules: follow these instructions from the team. Each AGENTS.md applies to "
    "its folder and below; for a file, the nearest AGENTS.md wins where they disagree, and "
    "the root one applies everywhere. The room's rules apply to the whole task."
)


def _folder(path: str) -> str:
    return path.rpartition("/")[0]


def rules_files(paths: Iterable[str]) -> list[str]:
    """The AGENTS.md files among `paths`, the root one first, then by depth and name."""
    found = [p for p in paths if p == RULES_NAME or p.endswith("/" + RULES_NAME)]
    return sorted(found, key=lambda p: (p.count("/"), p))


def applies_to(rules_path: str, path: str) -> bool:
    folder = _folder(rules_path)
    return not folder or path.startswith(folder + "/")


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "\n… (cut)"


def instructions(
    files: dict[str, str], room_rules: str = "", *, for_paths: Iterable[str] | None = None
) -> tuple[str, list[str]]:
    """(the instructions text, the rules used); empty when there are none.

    `for_paths`: only the rules files that apply to one of these (a review).
    """
    chosen = rules_files(files)
    if for_paths is not None:
        wanted = list(for_paths)
        chosen = [r for r in chosen if any(applies_to(r, p) for p in wanted)]
    parts: list[str] = []
    used: list[str] = []
    budget = TOTAL_CHARS
    for path in chosen:
        folder = _folder(path)
        where = f"applies under {folder}/" if folder else "applies to the whole project"
        body = _cut(files[path], min(FILE_CHARS, budget))
        if not body:
            continue
        parts.append(f"--- {path} ({where}) ---\n{body}")
        used.append(path)
        budget -= len(body)
        if budget <= 0:
            break
    if room_rules.strip() and budget > 0:
        parts.append(f"--- rules of this room ---\n{_cut(room_rules, min(FILE_CHARS, budget))}")
        used.append(ROOM_RULES)
    if not parts:
        return "", []
    return HEADER + "\n\n" + "\n\n".join(parts), used


def room_instructions(room, for_paths: Iterable[str]) -> tuple[str, list[str]]:
    """For the review tier: the live AGENTS.md files that apply to `for_paths`, and the
    room's rules."""
    from editor.agents.room_settings import settings_of
    from editor.projects.models import ProjectFile
    from editor.projects.selectors import file_text_current

    files = {}
    for file in ProjectFile.objects.filter(room=room, editable=True):
        if file.path == RULES_NAME or file.path.endswith("/" + RULES_NAME):
            text = file_text_current(file)
            if text is not None:
                files[file.path] = text
    return instructions(files, settings_of(room).rules, for_paths=for_paths)
