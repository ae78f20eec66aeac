"""A long text cut into pieces a model accepts, at sentence ends where it can be.

Pieces are packed greedily: as many whole sentences as fit. A sentence longer than the limit is cut at
its clause marks (commas, colons), and a clause longer still at its last space in reach, or at the limit.
Joined, the pieces give back the text (only pieces of nothing but whitespace are left out, as there is
nothing in them to speak).
"""

from __future__ import annotations

import re

# A sentence: up to its closing marks (with any closing quotes or brackets), a full stop before a space, or a
# line break; with the spaces after it.
_SENTENCE = re.compile(r"""(?s).*?(?:[。！？!?；;…]+[”’」』)\]"']*|\.[”’)\]"']*(?=\s)|\n|$)\s*""")
_CLAUSE = re.compile(r"(?s).*?(?:[，,、：:]|$)\s*")


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [part for part in pattern.findall(text) if part]


def _pack(parts: list[str], limit: int) -> list[str]:
    """Consecutive parts joined while the result stays within `limit` characters."""
    pieces: list[str] = []
    for part in parts:
        if pieces and len(pieces[-1]) + len(part) <= limit:
            pieces[-1] += part
        else:
            pieces.append(part)
    return pieces


def _hard_cut(text: str, limit: int) -> list[str]:
    """`text` in runs of at most `limit` characters, each ending after a space where one is in reach."""
    runs = []
    while len(text) > limit:
        space = text.rfind(" ", 0, limit)
        end = space + 1 if space > 0 else limit
        runs.append(text[:end])
        text = text[end:]
    return [*runs, text] if text else runs


def split_text(text: str, limit: int) -> list[str]:
    """`text` as pieces of at most `limit` characters, cut at sentence ends first, then at clause marks."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    parts: list[str] = []
    for sentence in _cut(text, _SENTENCE):
        if len(sentence) <= limit:
            parts.append(sentence)
            continue
        for clause in _pack(_cut(sentence, _CLAUSE), limit):
            parts.extend(_hard_cut(clause, limit))
    return [piece for piece in _pack(parts, limit) if piece.strip()]
