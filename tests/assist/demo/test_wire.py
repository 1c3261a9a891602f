"""The demo model behind the simulator's HTTP wire: scripts and faults still come first."""

from __future__ import annotations

import openai
import pytest

from editor.assist.prompts import edit_prompt
from editor.assist.simulator import rules_from, tokenize
from tests.support.models import SIM_KEY


def client(sim) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url, api_key=SIM_KEY, max_retries=0, timeout=10)


def edit_messages(instruction: str) -> list[dict]:
    return edit_prompt(tier_name="fast", context_tokens=128_000, path="a.py",
                       selection="def f():\n    return 1\n", instruction=instruction,
                       before="", after="").messages  # fmt: skip


def test_a_streamed_quick_edit_comes_from_the_demo_model(demo_sim):
    stream = client(demo_sim).chat.completions.create(
        model="m", messages=edit_messages("add a docstring"), stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert (
        text
        == 'def f():\n    """Return the f.\n\n    Returns:\n        `1`.\n    """\n    return 1\n'
    )


def test_a_script_rule_still_answers_first(demo_sim):
    demo_sim.simulator.rules = rules_from([{"match": "add a docstring", "reply": "scripted"}])
    answer = client(demo_sim).chat.completions.create(
        model="m", messages=edit_messages("add a docstring")
    )
    assert answer.choices[0].message.content == "scripted"


def test_faults_still_apply(demo_sim):
    with pytest.raises(openai.InternalServerError):
        client(demo_sim).chat.completions.create(
            model="m", messages=edit_messages("add a docstring [[sim:fault=500]]")
        )


def test_a_length_request_still_gets_filler_of_that_length(demo_sim):
    answer = client(demo_sim).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "anything [[sim:tokens=30]]"}]
    )
    assert len(tokenize(answer.choices[0].message.content)) == 30


def test_without_demo_mode_the_simulator_answers_filler(simulator):
    answer = client(simulator).chat.completions.create(
        model="m", messages=edit_messages("add a docstring")
    )
    assert "def f()" not in answer.choices[0].message.content
