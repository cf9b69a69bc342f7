"""``/console/audit``: the trail of tool and PII decisions, filtered, newest first (admin
keys only).

The same :class:`AuditStore` as ``GET /admin/audit``, paged by its cursor: "Load more"
asks for the next rows (htmx, ``before=<cursor>``), which end with the next button.
A tool call's arguments are never shown: the trail holds only their sha256.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from psycopg.rows import dict_row

from gateway.api.console._render import fragment, is_htmx, page
from gateway.api.console._services import ConsoleServices
from gateway.api.console._user import ConsoleUser, console_services
from gateway.platform.errors import InvalidRequestError
from gateway.policy.audit import AuditQuery

__all__ = ["routes"]

PAGE_SIZE = 50
DECISIONS = ("allowed", "blocked", "removed", "rejected", "masked", "redacted")
KINDS = ("tool", "pii")
_BADGES = {
    "allowed": "badge-ok",
    "removed": "badge-warn",
    "masked": "badge-warn",
    "redacted": "badge-warn",
    "blocked": "badge-bad",
    "rejected": "badge-bad",
}
_KEYS_LISTED = 500


@dataclass(frozen=True, slots=True)
class Filters:
    """The page's filters as the form sent them ("" is "any")."""

    key_id: str = ""
    tool: str = ""
    decision: str = ""
    kind: str = ""
    since: str = ""
    until: str = ""

    def query(self, *, before: str | None = None) -> AuditQuery:
        if self.kind and self.kind not in KINDS:
            raise InvalidRequestError(f"kind must be one of {', '.join(KINDS)}", param="kind")
        return AuditQuery(
            kind=self.kind or None,
            key_id=self.key_id or None,
            subject=self.tool or None,
            decision=self.decision or None,
            since=_moment(self.since, "since"),
            before=before,
            limit=PAGE_SIZE,
            until=_moment(self.until, "until"),
        )

    def encoded(self, **extra: str) -> str:
        """The filters as a query string (empty ones left out), for the next page's URL."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return urlencode({k: v for k, v in {**fields, **extra}.items() if v})


def _moment(value: str, param: str) -> datetime | None:
    """A ``datetime-local`` field (read as UTC) or an ISO 8601 time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{param} is not a date and time", param=param) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AuditRow:
    time: str
    kind: str
    key_id: str | None
    key_name: str | None
    key_prefix: str | None
    model: str | None
    stage: str
    subject: str
    decision: str
    badge: str
    reason: str


async def _key_names(services: ConsoleServices, ids: set[str]) -> dict[str, dict[str, str]]:
    """Name and display prefix of the keys on a page (deleted keys are simply missing)."""
    if not ids:
        return {}
    async with services.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, name, display_prefix FROM api_keys WHERE id = ANY(%s)", [list(ids)]
        )
        return {row["id"]: row for row in await cur.fetchall()}


async def _rows(
    services: ConsoleServices, filters: Filters, before: str | None
) -> tuple[list[AuditRow], str | None]:
    found = await services.audit.list(filters.query(before=before))
    names = await _key_names(services, {e["key_id"] for e in found.events if e["key_id"]})
    rows = []
    for event in found.events:
        key = names.get(event["key_id"] or "", {})
        at = datetime.fromisoformat(event["created_at"]).astimezone(UTC)
        rows.append(
            AuditRow(
                time=at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                kind=event["kind"],
                key_id=event["key_id"],
                key_name=key.get("name"),
                key_prefix=key.get("display_prefix"),
                model=event["model"],
                stage=event["stage"],
                subject=event["subject"],
                decision=event["decision"],
                badge=_BADGES.get(event["decision"], "badge-muted"),
                reason=event["reason"],
            )
        )
    return rows, found.next_before


def _filters(
    key_id: str | None,
    tool: str | None,
    decision: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
) -> Filters:
    values = (key_id, tool, decision, kind, since, until)
    return Filters(*((value or "").strip() for value in values))


class AuditController(Controller):
    path = "/audit"
    include_in_schema = False

    @get("/", cache=False)
    async def overview(
        self,
        admin: NamedDependency[ConsoleUser],
        request: Request[Any, Any, Any],
        key_id: FromQuery[str | None] = None,
        tool: FromQuery[str | None] = None,
        decision: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        before: FromQuery[str | None] = None,
    ) -> Template:
        """The filtered trail; with ``before`` (htmx "Load more") only the next rows."""
        services = console_services(request)
        filters = _filters(key_id, tool, decision, kind, since, until)
        rows, next_before = await _rows(services, filters, before)
        more = filters.encoded(before=next_before) if next_before else None
        if before and is_htmx(request):
            return fragment("_audit_rows.html", admin, rows=rows, more=more)
        keys = await services.keys.list(include_revoked=True, limit=_KEYS_LISTED)
        return page(
            "audit.html",
            admin,
            nav="audit",
            filters=filters,
            rows=rows,
            more=more,
            keys=sorted(keys, key=lambda k: k.name.lower()),
            decisions=DECISIONS,
            kinds=KINDS,
        )


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [AuditController]
