"""Token counts in the embedded model's own vocabulary: the GGUF file's tokenizer, loaded without weights."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import LocalModelError
from .weights import INSTALL_HINT, assemble_model

__all__ = ["VocabTokenizer", "check_gguf", "model_tokenizer"]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a while: llama.cpp writes there from C, around Python's sys.stderr."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (a daemon): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_gguf(path: Path) -> str | None:
    """Why ``path`` cannot serve as a model, or None when its vocabulary loads."""
    if not path.is_file():
        return "file not found"
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                return "not a GGUF file"
        VocabTokenizer(path)
    except LocalModelError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    return None


class VocabTokenizer:
    """Exact token counts from a GGUF file's own vocabulary (loaded alone: fast, no weights)."""

    exact = True

    def __init__(self, path: Path) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LocalModelError(f"llama-cpp-python is not installed; {INSTALL_HINT}") from exc
        self.name = path.name
        try:
            with _quiet_stderr():  # llama.cpp prints context notes straight to fd 2
                self._llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise LocalModelError(f"cannot read the GGUF file {path.name}: it is damaged or not a GGUF model") from exc
        self._lock = threading.Lock()

    def encode(self, text: str) -> list[int]:
        with self._lock:
            return list(self._llama.tokenize(text.encode(), add_bos=False, special=False))

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def count_batch(self, texts: list[str]) -> list[int]:
        return [self.count(t) for t in texts]


_tokenizers: dict[str, VocabTokenizer] = {}
_lock = threading.Lock()


def model_tokenizer(gguf: str | None = None) -> VocabTokenizer:
    key = gguf or ""
    with _lock:
        if key not in _tokenizers:
            path = Path(gguf).expanduser() if gguf else assemble_model()
            if not path.is_file():
                raise LocalModelError(f"GGUF file not found: {path}")
            _tokenizers[key] = VocabTokenizer(path)
        return _tokenizers[key]
