"""Applies a policy to one text: mask, redact, block or allow each finding."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from gateway.policy.pii._analyzer import Finding, PiiAnalyzer
from gateway.policy.pii._policy import PiiPolicy, strictest
from gateway.policy.pii._vault import PlaceholderVault, redaction_marker

__all__ = ["Masker"]


class Masker:
    """One request's text transformer. Synchronous: may run in a worker thread.

    ``counts`` (entity, action) -> occurrences and ``blocked`` entity types accumulate over
    every text it sees; they never hold a value.
    """

    def __init__(self, analyzer: PiiAnalyzer, policy: PiiPolicy, vault: PlaceholderVault) -> None:
        self._analyzer = analyzer
        self._policy = policy
        self._vault = vault
        self.counts: Counter[tuple[str, str]] = Counter()
        self.blocked: set[str] = set()

    def text(self, text: str) -> str:
        findings = self._analyzer.analyze(text)
        if not findings:
            return text
        pieces: list[str] = []
        cursor = 0
        for entity, action, start, end in self._resolve(findings):
            self.counts[(entity, action)] += 1
            if action == "allow":
                continue
            if action == "block":
                self.blocked.add(entity)
                continue
            pieces.append(text[cursor:start])
            value = text[start:end]
            pieces.append(
                self._vault.mask(entity, value) if action == "mask" else redaction_marker(entity)
            )
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def json_text(self, text: str) -> str:
        """A JSON document (tool-call arguments): keys and values checked, layout rebuilt.

        Numbers that hold personal data (a card number sent as a number) become strings with
        the placeholder. Text that is not JSON is checked as plain text.
        """
        try:
            document = json.loads(text)
        except ValueError:
            return self.text(text)
        changed = self.tree(document)
        return json.dumps(changed, ensure_ascii=False) if changed is not document else text

    def tree(self, node: Any, *, skip: frozenset[str] = frozenset()) -> Any:
        """A JSON value with every string (dict keys too) and number checked.

        ``node`` itself when nothing changed; a number holding personal data becomes a string
        with the placeholder. Strings in ``skip`` (protocol words) are not analysed.
        """
        if isinstance(node, str):
            return node if node in skip else self.text(node)
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int | float):
            masked = self.text(str(node))
            return node if masked == str(node) else masked
        if isinstance(node, list):
            items = [self.tree(item, skip=skip) for item in node]
            return node if all(a is b for a, b in zip(items, node, strict=True)) else items
        if isinstance(node, dict):
            pairs = [(self.tree(k, skip=skip), self.tree(v, skip=skip)) for k, v in node.items()]
            same = all(
                k1 is k2 and v1 is v2
                for (k1, v1), (k2, v2) in zip(pairs, node.items(), strict=True)
            )
            return node if same else dict(pairs)
        return node

    def _resolve(self, findings: list[Finding]) -> list[tuple[str, str, int, int]]:
        """Overlapping findings become one span with the strictest action among them."""
        merged: list[tuple[str, str, int, int]] = []
        group: list[Finding] = []
        end = -1
        for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
            if group and finding.start >= end:
                merged.append(self._one(group))
                group = []
            group.append(finding)
            end = max(end, finding.end) if len(group) > 1 else finding.end
        if group:
            merged.append(self._one(group))
        return merged

    def _one(self, group: list[Finding]) -> tuple[str, str, int, int]:
        action = strictest([self._policy.action(f.entity) for f in group])
        lead = max(
            (f for f in group if self._policy.action(f.entity) == action),
            key=lambda f: (f.score, f.end - f.start),
        )
        return lead.entity, action, min(f.start for f in group), max(f.end for f in group)
