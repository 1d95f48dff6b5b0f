"""Progress on stderr: a tqdm bar on a terminal, otherwise a plain line now and then (CI logs)."""

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished requests of one step at a time."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None, every_s: float = 5.0) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.every_s = every_s
        self._bar: object | None = None
        self._label = ""
        self._total = 0
        self._done = 0
        self._last = 0.0

    def start(self, label: str, total: int) -> None:
        self._label, self._total, self._done = label, total, 0
        self._last = time.monotonic()
        if not self.enabled:
            return
        if self.stream.isatty():
            try:
                from tqdm import tqdm  # optional: not a serving dependency
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, desc=label, unit="req", file=self.stream, leave=False)
                return
        print(f"[loadtest] {label}: {total} requests", file=self.stream, flush=True)

    def tick(self) -> None:
        self._done += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)  # type: ignore[attr-defined]
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(f"[loadtest] {self._label}: {self._done}/{self._total}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()  # type: ignore[attr-defined]
            self._bar = None
        elif self.enabled:
            print(f"[loadtest] {self._label}: done, {self._done} requests", file=self.stream, flush=True)
