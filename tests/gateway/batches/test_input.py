"""``parse_input``: what a batch's input file may hold, and the errors OpenAI reports (1-based
line numbers, a code per problem, at most 20)."""

from __future__ import annotations

import json

from gateway.api.batches.protocol import parse_input

CHAT = "/v1/chat/completions"


def line(custom_id: str = "a", **overrides: object) -> bytes:
    item: dict[str, object] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": "chat", "messages": []},
    }
    item.update(overrides)
    return json.dumps(item).encode()


def codes(data: bytes, max_lines: int = 100) -> list[tuple[str, int | None]]:
    _, errors = parse_input(data, endpoint=CHAT, max_lines=max_lines)
    return [(e.code, e.line) for e in errors]


def test_good_lines_keep_their_order_and_blank_lines_are_skipped() -> None:
    lines, errors = parse_input(
        line("a") + b"\n\n" + line("b") + b"\r\n", endpoint=CHAT, max_lines=10
    )
    assert errors == []
    assert [(x.line, x.custom_id) for x in lines] == [(0, "a"), (1, "b")]
    assert json.loads(lines[0].body) == {"model": "chat", "messages": []}


def test_a_body_is_kept_as_the_file_wrote_it() -> None:
    data = b'{"custom_id": "a", "method": "POST", "url": "%s", "body": { "model" : "chat" }}'
    lines, errors = parse_input(data % CHAT.encode(), endpoint=CHAT, max_lines=10)
    assert errors == []
    assert lines[0].body == '{ "model" : "chat" }'


def test_each_kind_of_bad_line_is_named_with_its_line() -> None:
    data = b"\n".join(
        [
            b"{not json",
            b"[1, 2]",
            line("", url=CHAT),
            line("dup"),
            line("dup"),
            line("m", method="GET"),
            line("u", url="/v1/embeddings"),
            line("s", body={"model": "chat", "stream": True}),
            line("b", body="text"),
            line("x", extra=1),
        ]
    )
    assert codes(data) == [
        ("invalid_json_line", 1),
        ("invalid_json_line", 2),
        ("missing_required_parameter", 3),
        ("duplicate_custom_id", 5),
        ("invalid_method", 6),
        ("mismatched_endpoint", 7),
        ("invalid_request", 8),
        ("invalid_request", 9),
        ("invalid_request", 10),
    ]


def test_limits_empty_files_and_at_most_twenty_errors() -> None:
    assert codes(b"") == [("empty_file", None)]
    assert codes(b"\n".join(line(f"c{n}") for n in range(4)), max_lines=3) == [
        ("too_many_requests", None)
    ]
    assert len(codes(b"\n".join(b"{" for _ in range(50)))) == 20
    assert codes(b"\xff\xfe\n") == [("invalid_json_line", 1)]
    # Python's parser takes NaN; JSON (and Postgres, which stores the body) does not
    assert codes(line("n", body={"model": "chat", "temperature": float("nan")})) == [
        ("invalid_json_line", 1)
    ]
