"""One writer at a time per knowledge base, readers never wait.

An ingest holds an exclusive ``flock`` on ``HOME/write.lock`` for its whole run;
a second ingest is refused at once with a message naming the holder (pid and start
time written into the file), instead of queueing behind it unseen. The operating
system drops the lock when the holder dies, even by SIGKILL, so a crash never
leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .errors import LockedError


class WriteLock:
    def __init__(self, home: Path):
        self.path = Path(home) / "write.lock"
        self._fh = None

    def acquire(self, *, wait: float = 0.0) -> "WriteLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown process"
                    fh.close()
                    raise LockedError(
                        f"another ingest is writing to this knowledge base ({holder}); "
                        "wait for it to finish and try again") from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "WriteLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
