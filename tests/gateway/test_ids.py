"""Ids made without a system call each stay unique, also across a fork."""

from __future__ import annotations

import os
import re

from gateway.platform.ids import unique_hex


def test_ids_are_unique_hex_of_a_fixed_length() -> None:
    ids = [unique_hex() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{24}", value) for value in ids[:100])


def test_a_forked_child_draws_its_own_prefix() -> None:
    parent = unique_hex()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one id to the parent, then gone
        os.write(write, unique_hex().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 24
    assert child[:12] != parent[:12]
