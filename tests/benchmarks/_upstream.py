"""Near-zero-cost fake upstreams for the gateway benchmark.

nginx answering fixed bodies when it is installed (``apt-get install nginx-light``), else a
tiny uvloop server that answers every request with the same bytes. Both serve
``/json/v1/chat/completions`` (a ``chat.completion``) and ``/sse/v1/chat/completions`` (a
fixed stream of ``chat.completion.chunk`` events ending with ``[DONE]``), and the same answer
in OpenAI's Responses wire format at ``/json/v1/responses`` (a ``response`` object) and
``/sse/v1/responses`` (14 events, ``response.created`` to ``response.completed``: what OpenAI
sends less ``response.in_progress``, which the gateway ignores and which would take the body
past nginx's 4 KiB limit on one parameter), for deployments that reach an upstream's own
``/responses``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = [
    "CHAT_BODY",
    "RESPONSE_BODY",
    "RESPONSE_SSE_BODY",
    "SSE_BODY",
    "start_upstream",
]

CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
    },
    separators=(",", ":"),
)


def _sse_body() -> str:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for word in ("Hello!", "How", "can", "I", "help", "you", "today?"):
        events.append({**base, "choices": [{"index": 0, "delta": {"content": word + " "}}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18}
    events.append({**base, "choices": [], "usage": usage})
    lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events]
    return "".join(lines) + "data: [DONE]\n\n"


SSE_BODY = _sse_body()

_WORDS = ("Hello!", "How", "can", "I", "help", "you", "today?")
_TEXT = " ".join(_WORDS)
_RESPONSES_USAGE = {
    "input_tokens": 9,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 9,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 18,
}


def _response(status: str, output: list[dict[str, object]]) -> dict[str, object]:
    """A ``response`` object with the fields OpenAI sends, as its size matters here."""
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "metadata": {},
        "model": "bench",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _RESPONSES_USAGE if status == "completed" else None,
        "user": None,
    }


_PART: dict[str, object] = {"type": "output_text", "text": _TEXT, "annotations": [], "logprobs": []}
_MESSAGE: dict[str, object] = {
    "id": "msg_bench",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [_PART],
}
RESPONSE_BODY = json.dumps(_response("completed", [_MESSAGE]), separators=(",", ":"))


def _responses_sse_body() -> str:
    at = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    events: list[dict[str, object]] = [
        {"type": "response.created", "response": _response("in_progress", [])},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**_MESSAGE, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **at, "part": {**_PART, "text": ""}},
    ]
    for index, word in enumerate(_WORDS):
        delta = word if index == 0 else " " + word
        events.append({"type": "response.output_text.delta", **at, "delta": delta, "logprobs": []})
    events.append({"type": "response.output_text.done", **at, "text": _TEXT, "logprobs": []})
    events.append({"type": "response.content_part.done", **at, "part": _PART})
    events.append({"type": "response.output_item.done", "output_index": 0, "item": _MESSAGE})
    events.append({"type": "response.completed", "response": _response("completed", [_MESSAGE])})
    frames = []
    for number, event in enumerate(events):
        data = json.dumps({**event, "sequence_number": number}, separators=(",", ":"))
        frames.append(f"event: {event['type']}\ndata: {data}\n\n")
    return "".join(frames)


RESPONSE_SSE_BODY = _responses_sse_body()

_NGINX = """worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  server {{
    listen 127.0.0.1:{port};
    location /v1/traces {{
      default_type application/x-protobuf;
      return 200 '';
    }}
    location /json/v1/chat/completions {{
      default_type application/json;
      return 200 '{chat}';
    }}
    location /sse/v1/chat/completions {{
      default_type text/event-stream;
      return 200 '{sse}';
    }}
    location /json/v1/responses {{
      default_type application/json;
      return 200 '{response}';
    }}
    location /sse/v1/responses {{
      default_type text/event-stream;
      return 200 '{response_sse}';
    }}
  }}
}}
"""

_PYTHON = r"""
import asyncio, sys, uvloop
chat, sse, resp, resp_sse = (a.encode() for a in sys.argv[2:6])
def reply(body, kind):
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)
CHAT, SSE = reply(chat, b"application/json"), reply(sse, b"text/event-stream")
RESP, RESP_SSE = reply(resp, b"application/json"), reply(resp_sse, b"text/event-stream")
class P(asyncio.Protocol):
    def connection_made(self, t): self.t, self.buf = t, b""
    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0: return
            head = self.buf[:end].lower()
            i = head.find(b"content-length:")
            n = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
            if len(self.buf) < end + 4 + n: return
            self.buf = self.buf[end + 4 + n:]
            line, sse = head.split(b"\r\n", 1)[0], head.startswith(b"post /sse")
            if b"/responses" in line:
                self.t.write(RESP_SSE if sse else RESP)
            else:
                self.t.write(SSE if sse else CHAT)
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
uvloop.run(main())
"""


def start_upstream(folder: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start the fake upstream; returns the process and what it is."""
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if nginx is not None:
        config = folder / "nginx.conf"
        config.write_text(
            _NGINX.format(
                folder=folder,
                port=port,
                chat=CHAT_BODY,
                sse=SSE_BODY.replace("'", ""),
                response=RESPONSE_BODY,
                response_sse=RESPONSE_SSE_BODY.replace("'", ""),
            )
        )
        process = subprocess.Popen(
            [nginx, "-c", str(config), "-p", str(folder)], stderr=subprocess.DEVNULL
        )
        return process, "nginx (fixed bodies)"
    bodies = [CHAT_BODY, SSE_BODY, RESPONSE_BODY, RESPONSE_SSE_BODY]
    process = subprocess.Popen([sys.executable, "-c", _PYTHON, str(port), *bodies])
    return process, "uvloop raw server (fixed bodies; nginx not installed)"
