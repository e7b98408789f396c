"""Older newsqa code, run on this machine's llama-cpp-python as this code runs it.

Releases before ``newsqa/model/cpu.py`` load the embedded model with llama.cpp's default buffers,
which crash at the first decode on a CPU whose llama.cpp build has AMX kernels. To time them here at
all, and on the same footing, their processes start with a ``sitecustomize`` that loads every model
with the fields this code uses (none on a build without AMX: then nothing is added). It wraps
``llama_model_default_params`` itself, as ``newsqa.model.cpu.model_params`` does, because that process
imports the older newsqa, which has no such module.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from newsqa.model.cpu import safe_load_fields

__all__ = ["same_buffers_path"]

_SITE = """\
# Written by benchmarks/buffers.py: load models with the llama_model_params fields newsqa uses here.
import llama_cpp.llama_cpp as _lib

_FIELDS = {fields}
_original = _lib.llama_model_default_params


def _defaults():
    params = _original()
    for name, value in _FIELDS.items():
        setattr(params, name, value)
    return params


_lib.llama_model_default_params = _defaults
"""


@functools.cache
def same_buffers_path() -> str | None:
    """A folder to put on the PYTHONPATH of an older newsqa's process, or None when none is needed."""
    fields = safe_load_fields()
    if not fields:
        return None
    d = Path(tempfile.mkdtemp(prefix="newsqa-buffers-"))
    (d / "sitecustomize.py").write_text(_SITE.format(fields=repr(fields)))
    return str(d)
