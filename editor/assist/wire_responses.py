"""The Responses wire: `POST /responses` streamed as SSE, or WebSocket mode.

The codex models are served only here. Requests and replies are translated at the edge
(editor/assist/responses_shape.py), events read raw with jiter
(editor/assist/responses_events.py), over HTTP through the paced SDK clients or over one
kept-open WebSocket per conversation (editor/assist/responses_socket.py, the tier's
`transport`). Conversation state: nothing is stored on the provider unless the tier
says `store`; the previous response's items (encrypted reasoning included) travel with
each request, except where the server holds that response (stored, or on the same
socket), when only the new items are sent with `previous_response_id`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import jiter

from editor.assist import responses_socket
from editor.assist.responses_events import (
    ResponseReader,
    SSEEvents,
    fill_reply,
    read_events,
    reply_of_whole,
)
from editor.assist.responses_shape import request_body
from editor.assist.tiers import Tier
from editor.assist.transport import async_client, sync_client
from editor.assist.wire import ModelRequest, Reply


def _sdk_args(tier: Tier, request: ModelRequest) -> dict[str, Any]:
    """The body as the SDK's `extra_body`: sent as is. Given as typed parameters, the SDK
    walks every input item to transform it, which grows with the transcript (~15 ms a
    turn at 130 KB, measured by bench/deep_loop_bench.py)."""
    body = request_body(tier, request)
    args: dict[str, Any] = {"model": body.pop("model"), "extra_body": body}
    if request.extra_headers:
        args["extra_headers"] = request.extra_headers
    return args


class ResponsesWire:
    name = "responses"

    def stream(self, tier: Tier, request: ModelRequest, reply: Reply) -> AsyncGenerator[str, None]:
        if tier.transport == "websocket" and responses_socket.accepted(tier):
            return self._socket_stream(tier, request, reply)
        return self._http_stream(tier, request, reply)

    async def _socket_stream(
        self, tier: Tier, request: ModelRequest, reply: Reply
    ) -> AsyncGenerator[str, None]:
        try:
            async with contextlib.aclosing(responses_socket.stream(tier, request, reply)) as turn:
                async for text in turn:
                    yield text
            return
        except responses_socket.Refused:
            pass  # nothing was sent; logged once, and HTTP from now on
        async with contextlib.aclosing(self._http_stream(tier, request, reply)) as http:
            async for text in http:
                yield text

    async def _http_stream(
        self, tier: Tier, request: ModelRequest, reply: Reply
    ) -> AsyncGenerator[str, None]:
        create = async_client(tier).responses.with_streaming_response.create
        splitter = SSEEvents()
        reader = ResponseReader(on_reasoning=reply.on_reasoning)
        reply.tool_calls = reader.tool_calls  # grows as the calls arrive
        said = False
        async with create(**_sdk_args(tier, request), stream=True) as response:
            async for data in response.iter_bytes():
                text = read_events(tier, reader, splitter.feed(data), said=said)
                if text:
                    said = True
                    yield text
                if reader.done:
                    break
        fill_reply(tier, reply, reader, said=said)

    async def complete(self, tier: Tier, request: ModelRequest) -> Reply:
        if tier.transport == "websocket" and responses_socket.accepted(tier):
            reply = Reply()
            parts = [text async for text in self._socket_stream(tier, request, reply)]
            reply.text = reply.text or "".join(parts)
            return reply
        create = async_client(tier).responses.with_raw_response.create
        raw = await create(**_sdk_args(tier, request))
        return reply_of_whole(tier, jiter.from_json(raw.content))

    def complete_sync(self, tier: Tier, request: ModelRequest) -> Reply:
        if tier.transport == "websocket" and responses_socket.accepted(tier):
            with contextlib.suppress(responses_socket.Refused):
                return responses_socket.complete_sync(tier, request)
        create = sync_client(tier).responses.with_raw_response.create
        raw = create(**_sdk_args(tier, request))
        return reply_of_whole(tier, jiter.from_json(raw.content))
