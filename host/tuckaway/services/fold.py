"""What one batch does to one item, folded into its final effect.

wallabag and Readeck both change an entry with one PATCH: the flags take the
last value the batch gave them, and tag writes fold in order into either a
replacement list (after a replace or clear) or tags to add and to remove.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: op -> (flag, value)
FLAG_OPS = {
    "archive": ("archived", True),
    "readd": ("archived", False),
    "favorite": ("favorite", True),
    "unfavorite": ("favorite", False),
}


@dataclass
class Folded:
    """The writes of one batch on one item (``writes`` are indexes into the batch)."""

    target_id: str
    url: str
    writes: list[int] = field(default_factory=list)
    flags: dict[str, bool] = field(default_factory=dict)
    replace: list[str] | None = None  # after tags_replace / tags_clear (adds and removes fold in)
    adds: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    delete: bool = False

    def fold(self, op: str, tags: Sequence[str]) -> None:
        if op in FLAG_OPS:
            name, value = FLAG_OPS[op]
            self.flags[name] = value
        elif op == "delete":
            self.delete = True
        elif op in {"tags_clear", "tags_replace"}:
            self.replace = list(dict.fromkeys(tags)) if op == "tags_replace" else []
            self.adds, self.removes = [], []
        elif op == "tags_add":
            self._add(tags)
        elif op == "tags_remove":
            self._remove(tags)

    def _add(self, tags: Sequence[str]) -> None:
        if self.replace is not None:
            self.replace += [t for t in tags if t not in self.replace]
            return
        self.adds += [t for t in tags if t not in self.adds]
        self.removes = [t for t in self.removes if t not in tags]

    def _remove(self, tags: Sequence[str]) -> None:
        if self.replace is not None:
            self.replace = [t for t in self.replace if t not in tags]
            return
        self.removes += [t for t in tags if t not in self.removes]
        self.adds = [t for t in self.adds if t not in tags]
