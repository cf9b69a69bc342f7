"""Near-zero-cost fake upstreams for the gateway benchmark.

nginx answering fixed bodies when it is installed (``apt-get install nginx-light``), else a
tiny uvloop server that answers every request with the same bytes. Both serve
``/json/v1/chat/completions`` (a ``chat.completion``) and ``/sse/v1/chat/completions`` (a
fixed stream of ``chat.completion.chunk`` events ending with ``[DONE]``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CHAT_BODY", "SSE_BODY", "start_upstream"]

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
    location /json/v1/chat/completions {{
      default_type application/json;
      return 200 '{chat}';
    }}
    location /sse/v1/chat/completions {{
      default_type text/event-stream;
      return 200 '{sse}';
    }}
  }}
}}
"""

_PYTHON = r"""
import asyncio, sys, uvloop
chat, sse = sys.argv[2].encode(), sys.argv[3].encode()
def reply(body, kind):
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)
CHAT, SSE = reply(chat, b"application/json"), reply(sse, b"text/event-stream")
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
            self.t.write(SSE if head.startswith(b"post /sse") else CHAT)
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
            _NGINX.format(folder=folder, port=port, chat=CHAT_BODY, sse=SSE_BODY.replace("'", ""))
        )
        process = subprocess.Popen(
            [nginx, "-c", str(config), "-p", str(folder)], stderr=subprocess.DEVNULL
        )
        return process, "nginx (fixed bodies)"
    process = subprocess.Popen([sys.executable, "-c", _PYTHON, str(port), CHAT_BODY, SSE_BODY])
    return process, "uvloop raw server (fixed bodies; nginx not installed)"
