"""Download a dataset archive for users with internet, verified against the published checksum.

Never imported by the run path: the harness works from local files, and a missing dataset is one
line saying where to put it. BEIR publishes an MD5 per archive (beir-cellar/beir README), so that
is what a download is checked against before it is moved into the data root (atomically).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from harness.data.cards import DatasetCard
from harness.errors import HarnessError

Progress = Callable[[int, int | None], None]


def fetch(
    card: DatasetCard, data_root: Path, progress: Progress | None = None, url: str | None = None
) -> Path:
    """Download ``card``'s archive into ``data_root`` at its first location; returns the path."""
    source = url or card.url
    target = data_root / card.locations[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    md5 = hashlib.md5(usedforsecurity=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310
            total = response.headers.get("Content-Length")
            size = int(total) if total else None
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                md5.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, size)
            out.flush()
            os.fsync(out.fileno())
        if card.archive_md5 and md5.hexdigest() != card.archive_md5:
            raise HarnessError(
                f"{source}: md5 {md5.hexdigest()} differs from the published {card.archive_md5}"
            )
        Path(tmp).replace(target)
    except (urllib.error.URLError, OSError) as error:
        raise HarnessError(f"{source}: download failed ({error}); put the file at {target} by hand") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
