"""Resident memory of the stack's processes, read from ``/proc``.

A *group* is one role of the stack (gateway, worker, postgres, ...) and holds a root process
and all of its descendants, found afresh at every sample so uvicorn workers, Dramatiq worker
processes and Postgres backends that come and go are counted while they live. ``rss`` sums
VmRSS over the group; ``private`` sums RssAnon, which leaves out shared memory that a process
merely maps (Postgres' shared buffers show up in every backend's RSS as they are touched).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GroupSample",
    "alive",
    "cmdline",
    "descendants",
    "process_table",
    "sample_group",
]

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class GroupSample:
    """One group's memory at one moment."""

    processes: int
    rss_mib: float
    private_mib: float


def process_table() -> dict[int, int]:
    """Every live pid and its parent pid."""
    table: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited between listing and reading
            continue
        table[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return table


def descendants(root: int, table: dict[int, int]) -> list[int]:
    """``root`` (when alive) and every process below it."""
    if root not in table:
        return []
    children: dict[int, list[int]] = {}
    for pid, parent in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _status_kib(pid: int) -> tuple[int, int]:
    rss = anon = 0
    try:
        text = (_PROC / str(pid) / "status").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("RssAnon:"):
            anon = int(line.split()[1])
    return rss, anon


def sample_group(
    root: int | None, table: dict[int, int] | None = None, *, children: bool = True
) -> GroupSample:
    """Memory of ``root`` and (with ``children``) its descendants; zeros when it is gone."""
    if root is None:
        return GroupSample(0, 0.0, 0.0)
    table = table if table is not None else process_table()
    pids = descendants(root, table) if children else [root] if root in table else []
    sizes = [_status_kib(pid) for pid in pids]
    return GroupSample(
        processes=len(pids),
        rss_mib=sum(rss for rss, _ in sizes) / 1024,
        private_mib=sum(anon for _, anon in sizes) / 1024,
    )


def cmdline(pid: int) -> list[str]:
    """A process's arguments (empty when it is gone)."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
