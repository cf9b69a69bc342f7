"""Each newer format through the whole stack: uploaded with the ``openai`` SDK, parsed by a
real worker (in its parsing child), embedded, and found by searching for a sentence it
holds, with its sheet / chapter / attachment / language in the hit's attributes; a
corrupt file of each kind fails with a clear ``last_error``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from tests.ingestion.formats._msg import make_msg
from tests.ingestion.formats._samples import (
    make_eml,
    make_epub,
    make_json,
    make_jsonl,
    make_ods,
    make_odt,
    make_rtf,
    make_xlsx,
)
from tests.support.documents import make_document
from tests.support.worker_stack import worker_stack

FILLER = [["Day", "Note"], ["Monday", "Nothing to report today."]]

# name -> (bytes, the sentence searched for, its expected page number and section)
SAMPLES: dict[str, tuple[bytes, str, int | None, str | None]] = {
    "ledger.xlsx": (
        make_xlsx(
            {
                "Summary": [["Region", "Revenue"], ["North", "100"]],
                "Log": [*FILLER, ["Tuesday", "The walrus colony grew by forty animals."]],
            }
        ),
        "The walrus colony grew by forty animals.",
        2,
        "Log",
    ),
    "ledger.ods": (
        make_ods({"Log": [*FILLER, ["Friday", "Saffron prices doubled at the spice market."]]}),
        "Saffron prices doubled at the spice market.",
        1,
        "Log",
    ),
    "report.odt": (
        make_odt(
            [
                (1, "Overview"),
                (0, "Background."),
                (2, "Volcano"),
                (0, "The volcano observatory recorded sulfur plumes at midnight."),
            ]
        ),
        "The volcano observatory recorded sulfur plumes at midnight.",
        None,
        "Overview > Volcano",
    ),
    "voyage.epub": (
        make_epub(
            [
                ("Departure", "The ship left port at dawn."),
                ("Arrival", "Penguins greeted the expedition on the glacier."),
            ]
        ),
        "Penguins greeted the expedition on the glacier.",
        2,
        "Arrival",
    ),
    "memo.rtf": (
        make_rtf(["Memo.", "The orchestra rehearsed the cello concerto twice."]),
        "The orchestra rehearsed the cello concerto twice.",
        None,
        None,
    ),
    "mail.eml": (
        make_eml(
            "Hello, the inspection notes are attached.",
            [
                (
                    "inspection.docx",
                    make_document("docx", "The lighthouse lens was polished by hand."),
                    "application/octet-stream",
                )
            ],
        ),
        "The lighthouse lens was polished by hand.",
        None,
        "attachment inspection.docx > Findings",
    ),
    "memo.msg": (
        make_msg(
            subject="Harbour works",
            sender="Carol Example <carol@example.com>",
            body="Hello, the survey is attached.",
            attachments=[("survey.txt", b"Seals were counted on the northern breakwater.")],
        ),
        "Seals were counted on the northern breakwater.",
        None,
        "attachment survey.txt",
    ),
    "plant.json": (
        make_json({"reactor": {"log": "Tungsten filaments glowed in the vacuum chamber."}}),
        "Tungsten filaments glowed in the vacuum chamber.",
        None,
        "reactor",
    ),
    "events.jsonl": (
        make_jsonl([{"event": "start"}, {"note": "Bamboo scaffolding survived the typhoon."}]),
        "Bamboo scaffolding survived the typhoon.",
        None,
        "line 2",
    ),
    "orbit.py": (
        b"import math\n\n\ndef orbit():\n"
        b'    """The satellite telescope photographed a distant comet."""\n'
        b"    return math.pi\n",
        "The satellite telescope photographed a distant comet.",
        None,
        "python > def orbit():",
    ),
}

CORRUPT = {
    "broken.xlsx": (b"PK\x03\x04garbage", "could not be parsed as xlsx"),
    "broken.ods": (b"no zip here", "is not a valid ODS (not a zip package)"),
    "broken.odt": (make_epub([("a", "b")]), "no content.xml"),
    "broken.epub": (make_odt([(0, "x")]), "no META-INF/container.xml"),
    "broken.rtf": (b"not rtf", "is not RTF"),
    "broken.eml": (b"\x00\x01binary", "has binary content"),
    "broken.msg": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "could not be parsed as msg"),
    "broken.json": (b'{"a": ', "is not valid JSON"),
    "broken.jsonl": (b'{"a": 1}\n{', "is not valid JSON on line 2"),
    "broken.go": (b"package main\n\xff\xfe\n", "is not UTF-8 source code"),
}


@pytest.fixture(scope="module")
def admin(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenAI]:
    data = tmp_path_factory.mktemp("formats-data")
    with worker_stack(stack_env, database_url, data, "formats") as stack:
        yield stack.admin


def ragway(hit: Any) -> dict[str, Any]:
    extra: dict[str, Any] = hit.model_extra["ragway"]
    return extra


def test_each_format_is_found_by_a_sentence_it_holds(admin: OpenAI) -> None:
    store = admin.vector_stores.create(name=f"formats-{secrets.token_hex(4)}").id
    batch = admin.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store,
        files=[(name, data) for name, (data, *_rest) in SAMPLES.items()],
        poll_interval_ms=200,
    )
    failed = admin.vector_stores.files.list(vector_store_id=store, filter="failed").data
    assert batch.file_counts.completed == len(SAMPLES), [f.last_error for f in failed]
    for name, (_data, sentence, page, section) in SAMPLES.items():
        hits = admin.vector_stores.search(vector_store_id=store, query=sentence).data
        top = hits[0]
        assert top.filename == name, (name, [h.filename for h in hits])
        assert sentence in top.content[0].text
        assert (ragway(top)["page_number"], ragway(top)["section"]) == (page, section), name


def test_a_sheet_chunk_repeats_its_header_row(admin: OpenAI) -> None:
    rows = [["Serial", "Component"]] + [[f"S{n:04d}", f"Valve {n} of the loop"] for n in range(400)]
    store = admin.vector_stores.create(name=f"sheet-{secrets.token_hex(4)}").id
    file_id = admin.files.create(
        file=("parts.xlsx", make_xlsx({"Parts": rows})), purpose="assistants"
    ).id
    done = admin.vector_stores.files.create_and_poll(
        vector_store_id=store,
        file_id=file_id,
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
        },
        poll_interval_ms=100,
    )
    assert done.status == "completed", done.last_error
    hits = admin.vector_stores.search(vector_store_id=store, query="Valve 377", max_num_results=5)
    assert hits.data
    for hit in hits.data:
        assert hit.content[0].text.startswith("Serial | Component\n")
        assert ragway(hit)["section"] == "Parts"
    assert any("S0377 | Valve 377 of the loop" in h.content[0].text for h in hits.data)


def test_a_corrupt_file_of_each_kind_fails_clearly(admin: OpenAI) -> None:
    store = admin.vector_stores.create(name=f"corrupt-{secrets.token_hex(4)}").id
    batch = admin.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store,
        files=[(name, data) for name, (data, _words) in CORRUPT.items()],
        poll_interval_ms=200,
    )
    assert batch.file_counts.failed == len(CORRUPT)
    for entry in admin.vector_stores.files.list(vector_store_id=store, limit=100).data:
        name = admin.files.retrieve(entry.id).filename
        assert entry.last_error is not None, name
        assert entry.last_error.code == "invalid_file", (name, entry.last_error)
        assert entry.last_error.message.startswith(f"{name!r}"), entry.last_error.message
        assert CORRUPT[name][1] in entry.last_error.message, entry.last_error.message
