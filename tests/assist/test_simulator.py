"""The simulator as a model server: the openai SDK's view of it, its speed, its process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from editor.assist.simulator import Simulator, SimulatorThread, rules_from, tokenize

ROOT = Path(__file__).resolve().parents[2]


def _client(simulator: SimulatorThread, key: str = "sim-key") -> openai.OpenAI:
    return openai.OpenAI(base_url=simulator.base_url, api_key=key, max_retries=0, timeout=5)


def test_lists_models(simulator):
    models = _client(simulator).models.list()
    assert [model.id for model in models.data] == ["flint-simulator"]


def test_refuses_a_wrong_key(simulator):
    with pytest.raises(openai.AuthenticationError):
        _client(simulator, key="nope").models.list()


def test_sdk_parses_streams_and_usage(simulator):
    chunks = list(
        _client(simulator).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "[[sim:tokens=30]]"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(tokenize(text)) == 30
    assert chunks[-1].usage.completion_tokens == 30
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_answers_are_deterministic(simulator):
    client = _client(simulator)
    ask = [{"role": "user", "content": "explain the parser"}]
    first = client.chat.completions.create(model="m", messages=ask).choices[0].message.content
    again = client.chat.completions.create(model="m", messages=ask).choices[0].message.content
    assert first == again and first


def test_non_streamed_tool_calls_through_the_sdk(simulator):
    simulator.simulator.rules = rules_from(
        [{"regex": "^open (\\S+)", "tool_calls": [{"name": "open", "arguments": {"p": 1}}]}]
    )
    message = (
        _client(simulator)
        .chat.completions.create(model="m", messages=[{"role": "user", "content": "open a.py"}])
        .choices[0]
        .message
    )
    assert message.tool_calls[0].function.name == "open"
    assert json.loads(message.tool_calls[0].function.arguments) == {"p": 1}


def test_a_fault_with_times_hits_only_the_first_requests(simulator):
    client = _client(simulator)
    ask = [{"role": "user", "content": "[[sim:fault=500 times=2]]"}]
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=ask)
    assert client.chat.completions.create(model="m", messages=ask).choices[0].message.content


def test_fault_chosen_by_header(simulator):
    with pytest.raises(openai.RateLimitError) as caught:
        _client(simulator).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Sim": "fault=429 retry_after=7"},
        )
    assert caught.value.response.headers["retry-after"] == "7"


def test_streams_at_the_configured_rate_and_first_token_time():
    running = SimulatorThread(Simulator(tokens_per_s=1000, ttft_ms=120)).start()
    try:
        client = openai.OpenAI(base_url=running.base_url, api_key="k", max_retries=0)
        started = time.perf_counter()
        first = None
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "[[sim:tokens=300]]"}], stream=True
        )
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
    finally:
        running.stop()
    assert 0.11 < first < 0.3
    streaming = total - first
    assert 0.28 < streaming < 0.45  # 300 tokens at 1,000 tok/s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_management_command_serves_a_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"match": "hello", "reply": "Hi from the script."}]}))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulate_models", "--port", str(port),
         "--tokens-per-s", "2000", "--ttft-ms", "10", "--script", str(script)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        banner = process.stdout.readline().decode()
        assert f"127.0.0.1:{port}/v1" in banner
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hello"}]
        )
        assert reply.choices[0].message.content == "Hi from the script."
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_stream_events_are_encoded_as_sent_and_match_the_eager_encoding():
    from editor.assist.simulator.server import _Events

    pieces = ["def", " f", '("x")\n', "ü"]
    events = _Events(pieces, b'data: {"delta":{"content":', b"}}\n\n")
    assert len(events) == 4
    eager = [b'data: {"delta":{"content":' + json.dumps(p).encode() + b"}}\n\n" for p in pieces]
    assert events[0:4] == eager and events[1:3] == eager[1:3] and events[4:9] == []
