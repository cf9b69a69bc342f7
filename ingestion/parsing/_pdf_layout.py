"""Text lines of a PDF page grouped into blocks (paragraphs), the way pdfminer groups them.

PDFium gives a page's text as lines in content order with each line's position; what it
does not give is pdfminer's layout analysis: which lines form one paragraph. The rule here
is pdfminer's own (``LTTextLineHorizontal.find_neighbors`` with its default
``line_margin`` of 0.5): two lines are one block when they overlap horizontally, are about
as tall, are aligned on the left, the right or the centre, and the gap between them is at
most half a line. A line is compared with the last line of each block still open near it,
so two columns whose lines alternate in the content stream still make two blocks.

Coordinates are PDF user space: points, y growing upwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Block", "Line", "group_blocks"]

LINE_MARGIN = 0.5
# Blocks compared with each new line, most recent first: enough for a few columns or a
# table's cells, while a page of many blocks stays linear in its lines.
_OPEN_BLOCKS = 8


@dataclass(frozen=True, slots=True)
class Line:
    """One line (or one run of a line cut at a wide gap) and its box.

    ``joins_next`` marks a line that ends in a hyphen PDFium took for a word break: the
    next line continues the word, without a space.
    """

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    joins_next: bool = False

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def is_neighbour(self, above: Line, *, margin: float = LINE_MARGIN) -> bool:
        """pdfminer's test of two lines for one block, ``above`` coming first."""
        slack = margin * max(self.height, above.height)
        return (
            self.x0 < above.x1
            and above.x0 < self.x1
            and self.y1 > above.y0 - slack
            and self.y0 < above.y1 + slack
            and abs(self.height - above.height) <= slack
            and (
                abs(self.x0 - above.x0) <= slack
                or abs(self.x1 - above.x1) <= slack
                or abs((self.x0 + self.x1) - (above.x0 + above.x1)) <= 2 * slack
            )
        )


@dataclass(slots=True)
class Block:
    """Lines of one paragraph, in reading order, and the box around them."""

    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts: list[str] = []
        for line in self.lines:
            parts.append(line.text)
            if not line.joins_next:
                parts.append(" ")
        return "".join(parts).strip()

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1)."""
        return (
            min(line.x0 for line in self.lines),
            min(line.y0 for line in self.lines),
            max(line.x1 for line in self.lines),
            max(line.y1 for line in self.lines),
        )


def group_blocks(lines: list[Line]) -> list[Block]:
    """Blocks of ``lines`` (in content order), in the order their first lines come; inside
    a block, lines from the top down (as pdfminer orders a box's lines)."""
    blocks: list[Block] = []
    for line in lines:
        for block in reversed(blocks[-_OPEN_BLOCKS:]):
            if line.is_neighbour(block.lines[-1]):
                block.lines.append(line)
                break
        else:
            blocks.append(Block([line]))
    for block in blocks:
        block.lines.sort(key=lambda line: -line.y1)
    return blocks
