"""Prompt building and trimming: what is kept, what is cut, what is refused."""

from __future__ import annotations

import pytest

from editor.assist.errors import ModelError
from editor.assist.prompts import completion_prompt, edit_prompt, qa_prompt
from editor.assist.router import route_tier


def test_completion_keeps_everything_when_it_fits():
    prompt = completion_prompt(
        tier_name="fast", context_tokens=8000, path="a.py", prefix="x = ", suffix="\ny = 2",
        snippets=[{"path": "b.py", "text": "def b(): pass"}],
    )  # fmt: skip
    user = prompt.messages[-1]["content"]
    assert 'path="a.py"' in user and "x = <CURSOR>\ny = 2" in user and "def b()" in user
    assert not prompt.trimmed


def test_completion_trims_far_context_first_and_keeps_the_cursor_side():
    prefix = "".join(f"a{n} = {n}\n" for n in range(3000))
    suffix = "".join(f"b{n} = {n}\n" for n in range(3000))
    prompt = completion_prompt(
        tier_name="fast", context_tokens=2048, path="a.py", prefix=prefix, suffix=suffix,
        snippets=[{"path": "big.py", "text": "z" * 19000}],
    )  # fmt: skip
    user = prompt.messages[-1]["content"]
    assert "a2999 = 2999\n<CURSOR>b0 = 0" in user
    assert "a0 = 0" not in user and "b2999" not in user and "zzzz" not in user
    assert prompt.prompt_tokens <= 2048 - prompt.max_tokens
    assert len(prompt.notes) == 3


def test_edit_refuses_a_selection_that_cannot_fit():
    with pytest.raises(ModelError) as caught:
        edit_prompt(
            tier_name="fast", context_tokens=2048, path="a.py", selection="x" * 40000,
            instruction="rename", before="", after="",
        )  # fmt: skip
    assert caught.value.kind == "too_large"


def test_qa_puts_the_question_last_and_drops_files_that_do_not_fit():
    files = [("one.py", "alpha " * 50), ("two.py", "beta " * 5000)]
    prompt = qa_prompt(
        tier_name="fast", context_tokens=2048, question="what is alpha?", path="open.py",
        open_text="print('open')", selection="", files=files,
        history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    )  # fmt: skip
    assert prompt.messages[-1] == {"role": "user", "content": "Question: what is alpha?"}
    context = prompt.messages[1]["content"]
    assert "print('open')" in context and "alpha alpha" in context
    assert prompt.messages[2:4] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert prompt.prompt_tokens <= 2048 - prompt.max_tokens
    assert any("two.py" in note for note in prompt.notes)


def test_router_table_and_overrides():
    assert route_tier(feature="inline_completion") == "fast"
    assert route_tier(feature="task") == "deep"
    assert route_tier(feature="review") == "review"
    assert route_tier(feature="qa", room_routes={"qa": "deep"}) == "deep"
    assert route_tier(feature="qa", room_routes={"qa": "deep"}, requested="review") == "review"
    with pytest.raises(ModelError):
        route_tier(feature="qa", requested="giant")
