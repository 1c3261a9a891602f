"""The demo model's fast-tier features and review, on requests built by Flint's own code."""

from __future__ import annotations

import json

import pytest

from editor.agents.review import REVIEW_PROMPT, _numbered, parse_comments
from editor.assist.prompts import completion_prompt, edit_prompt, qa_prompt
from editor.assist.simulator import demo
from editor.assist.simulator.demo import jsedits, lint
from editor.assist.simulator.demo.quickedit import NOTE_HEAD


def answer(prompt) -> str:
    reply = demo.respond(prompt.messages, [])
    assert reply is not None
    return reply.text


def complete(prefix: str, suffix: str, sample: dict[str, str], path="shop/extra.py") -> str:
    snippets = [{"path": p, "text": t} for p, t in sample.items() if p.endswith(".py")]
    return answer(completion_prompt(tier_name="fast", context_tokens=128_000, path=path,
                                    prefix=prefix, suffix=suffix, snippets=snippets))  # fmt: skip


def quick_edit(selection: str, instruction: str, path="shop/pricing.py", before="", after=""):
    return answer(edit_prompt(tier_name="fast", context_tokens=128_000, path=path,
                              selection=selection, instruction=instruction, before=before,
                              after=after))  # fmt: skip


# --- inline completion ---------------------------------------------------------------------


def test_completion_finishes_a_project_identifier(sample):
    assert complete("def grand_total(cart):\n    return cart.subt", "", sample) == "otal"


def test_completion_continues_a_line_the_way_the_project_writes_it(sample):
    text = complete("def label(amount):\n    rate = DISCOUNTS.get(", "\n", sample)
    assert text == "code.upper(), 0.0)"


def test_completion_on_a_new_line_offers_what_followed_elsewhere(sample):
    text = complete(
        "import logging\n\nlog = logging.getLogger(__name__)\n\n\n@dataclass\n", "", sample
    )
    assert text in {"class Item:", "class Cart:"}


def test_completion_without_a_match_offers_nothing(sample):
    assert complete("zzqx wobble ", "", sample) == ""


def test_completion_does_not_repeat_what_follows_the_cursor(sample):
    text = complete("def f(cart):\n    return cart.subt", "otal()\n", sample)
    assert text == ""


# --- quick edit ----------------------------------------------------------------------------


def test_quick_edit_docstring_on_a_real_prompt(sample):
    selection = (
        'def price_label(amount, currency="EUR"):\n'
        '    return "{:.2f} {}".format(amount, currency)\n'
    )
    out = quick_edit(selection, "add type hints and a docstring")
    assert out.startswith(
        'def price_label(amount, currency: str = "EUR") -> str:\n    """Return the price label.'
    )
    assert 'currency: Currency (default `"EUR"`).' in out


def test_quick_edit_unknown_instruction_gives_the_selection_back_with_a_note():
    selection = "def f():\n    return 1\n"
    out = quick_edit(selection, "make it faster")
    assert out.startswith("```python\ndef f():\n    return 1\n```\n\n" + NOTE_HEAD)
    assert "add docstrings" in out and "rename" in out


def test_quick_edit_says_why_when_it_cannot():
    out = quick_edit("def f():\n    return 1\n", "convert to f-strings")
    assert NOTE_HEAD in out and "nothing to convert" in out


def test_quick_edit_in_javascript(sample):
    badge = sample["web/badge.js"]
    out = quick_edit(badge, "remove comments", path="web/badge.js")
    assert "//" not in out and "/*" not in out and "`${count} items" in out
    out = quick_edit(badge, "rename formatPrice to money", path="web/badge.js")
    assert out.count("money") == 3 and "formatPrice" not in out
    out = quick_edit(badge, "add a docstring", path="web/badge.js")
    assert (
        "/**\n * Format price.\n * @param amount amount.\n * @param currency currency.\n */\n"
        "function formatPrice" in out
    )


def test_js_scanner_knows_strings_and_regexes():
    source = "const a = '// no'; const r = /\\/\\/x/g; // yes\nlet b = x / 2 / y; /* c */\n"
    assert (
        jsedits.remove_comments(source)
        == "const a = '// no'; const r = /\\/\\/x/g;\nlet b = x / 2 / y;\n"
    )


# --- Q&A -----------------------------------------------------------------------------------


def test_an_answer_quotes_the_files_and_lines_that_match(sample):
    files = [(p, t) for p, t in sample.items() if p != "shop/cart.py"]
    question = "Where is the discount applied?"
    prompt = qa_prompt(tier_name="fast", context_tokens=128_000, question=question,
                       path="shop/cart.py", open_text=sample["shop/cart.py"], selection="",
                       files=files, history=[])  # fmt: skip
    text = answer(prompt)
    assert text.startswith("*Retrieved by the demo model*")
    assert "shop/pricing.py, line" in text and "shop/cart.py, line" in text
    line = (
        sample["shop/cart.py"]
        .split("\n")
        .index("        amount = apply_discount(self.subtotal(), code)")
        + 1
    )
    assert f"shop/cart.py, line {line}" in text


def test_a_question_about_a_name_quotes_its_definition(sample):
    question = "what does daily_report do?"
    prompt = qa_prompt(tier_name="fast", context_tokens=128_000, question=question,
                       path="", open_text="", selection="", files=list(sample.items()),
                       history=[])  # fmt: skip
    text = answer(prompt)
    assert "**shop/report.py, lines 5-15** — where `daily_report` is defined" in text
    assert 'lines.append("%-12s %10s" % ("TOTAL", price_label(total)))' in text


def test_a_question_with_nothing_to_find_says_so(sample):
    prompt = qa_prompt(tier_name="fast", context_tokens=128_000, question="zebra quokka?",
                       path="", open_text="", selection="", files=list(sample.items()),
                       history=[])  # fmt: skip
    assert "Nothing in the files I was given mentions" in answer(prompt)


# --- review --------------------------------------------------------------------------------


def review_messages(files: dict[str, str]) -> list[dict]:
    body = "\n\n".join(f"=== {p}\n{_numbered(t)}" for p, t in files.items())
    return [{"role": "system", "content": REVIEW_PROMPT},
            {"role": "user", "content": f"Review these files:\n\n{body}"}]  # fmt: skip


@pytest.mark.skipif(lint.ruff_path() is None, reason="ruff is a dev dependency of Flint")
def test_review_comments_are_anchored_json_the_review_tier_accepts(sample):
    files = {p: t for p, t in sample.items() if p.startswith("shop/")}
    reply = demo.respond(review_messages(files), [])
    sources = {p: {"text": t} for p, t in files.items()}

    comments, dropped = parse_comments(reply.text, sources)

    assert dropped == 0
    by_line = {(c["path"], c["line"]): c for c in comments}
    assert "F401" in by_line[("shop/pricing.py", 1)]["body"]  # import sys, unused
    assert by_line[("shop/pricing.py", 1)]["line_text"] == "import sys"
    assert "`apply_discount` has no docstring" in by_line[("shop/pricing.py", 8)]["body"]
    assert all("demo model" in c["body"] for c in comments)
    assert {c["severity"] for c in comments} <= {"info", "warning", "error"}


def test_review_flags_long_functions():
    body = "\n".join(f"    x{i} = {i}" for i in range(45))
    text = f'def long_one():\n    """Doc."""\n{body}\n    return x0\n'
    comments = json.loads(demo.respond(review_messages({"a.py": text}), []).text)
    assert any(c["line"] == 1 and "48 lines long" in c["body"] for c in comments)


def test_requests_that_are_no_feature_get_no_demo_answer():
    assert demo.respond([{"role": "user", "content": "hello"}], []) is None
