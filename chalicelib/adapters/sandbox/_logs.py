"""A plugin's output kept within a byte budget: its head and its tail, with what was cut counted."""

from __future__ import annotations

__all__ = ["LogCapture"]


class LogCapture:
    """Keeps the head and the tail of a plugin's output within a byte budget."""

    def __init__(self, cap: int) -> None:
        self._head_cap = cap * 3 // 4
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            if len(self._tail) > self._tail_cap:
                del self._tail[: len(self._tail) - self._tail_cap]

    def text(self) -> str:
        kept = len(self._head) + len(self._tail)
        head = self._head.decode(errors="replace")
        if self.total == kept:
            return head + self._tail.decode(errors="replace")
        skipped = self.total - kept
        return f"{head}\n[... {skipped} bytes of log truncated ...]\n{self._tail.decode(errors='replace')}"
