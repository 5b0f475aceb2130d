"""The one place the library writes files: atomically (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def save_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write all of `data` to `path` or nothing: a crash never leaves a half-written file."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
