"""What llama.cpp may run on this CPU: keeps the model away from kernels that crash the process.

llama-cpp-python builds llama.cpp from source with ``-march=native``. On Intel CPUs with AMX (Sapphire
Rapids and later) the compiler then turns on llama.cpp's AMX kernels, which move the weights into an
"AMX buffer" at load and, on some of these machines, kill the process with a segmentation fault at the
first decode (seen on this project's own machines; llama.cpp issue 20824, ollama issue 17205). A crash
in C cannot be caught in Python, and it would take the caller's process with it. So when the build
reports AMX, the model loads without llama.cpp's extra buffer types (AMX and CPU weight repacking);
on the machine that crashed this is no slower than a build without AMX that repacks
(``benchmarks/trials/amx.md``). ``NEWSQA_LLAMA_AMX=1`` keeps them on a machine where AMX is known to work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

from ..errors import LocalModelError

__all__ = ["AMX_ENV", "build_has_amx", "describe_runtime", "extra_buffers_allowed", "model_params", "safe_load_fields"]

log = logging.getLogger("newsqa")

AMX_ENV = "NEWSQA_LLAMA_AMX"
_lock = threading.Lock()
_noted = False


def build_has_amx(system_info: str | None = None) -> bool:
    """Whether the installed llama.cpp was compiled with its AMX kernels (from its own system info)."""
    if system_info is None:
        import llama_cpp

        system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return any(f"{flag} = 1" in system_info for flag in ("AMX_INT8", "AMX_TILE"))


def extra_buffers_allowed(system_info: str | None = None) -> bool:
    """False when the weights would go into llama.cpp's AMX buffer and the user has not vouched for it."""
    if os.environ.get(AMX_ENV, "") == "1":
        return True
    return not build_has_amx(system_info)


@contextlib.contextmanager
def model_params(**fields: Any) -> Iterator[None]:
    """Make llama-cpp-python's ``Llama(...)`` load with these ``llama_model_params`` fields set.

    ``Llama`` takes no argument for them (``use_extra_bufts`` among them): it starts from
    ``llama_model_default_params()``, looked up at call time, so that function is wrapped while the
    model loads, under a lock so that no other load sees the change.
    """
    if not fields:
        yield
        return
    import llama_cpp.llama_cpp as lib

    with _lock:
        original = lib.llama_model_default_params

        def defaults() -> Any:
            params = original()
            for name, value in fields.items():
                setattr(params, name, value)
            return params

        lib.llama_model_default_params = defaults
        try:
            yield
        finally:
            lib.llama_model_default_params = original


def _can_refuse_extra_buffers() -> bool:
    import llama_cpp

    return "use_extra_bufts" in {f[0] for f in llama_cpp.llama_model_params._fields_}


def safe_load_fields(system_info: str | None = None) -> dict[str, bool]:
    """The ``llama_model_params`` fields a model must load with on this build (empty when none).

    Raises :class:`LocalModelError` when the build has AMX kernels and is too old to load a model
    without them: an error the caller can report, rather than a crash it cannot.
    """
    global _noted
    if extra_buffers_allowed(system_info):
        return {}
    if not _can_refuse_extra_buffers():
        raise LocalModelError(
            "this llama-cpp-python was built with llama.cpp's AMX kernels, which crash on some CPUs, and is "
            f"too old to load a model without them: upgrade llama-cpp-python, or set {AMX_ENV}=1 to use them"
        )
    if not _noted:
        _noted = True
        log.info(
            "llama-cpp-python was built with AMX kernels, which crash on some CPUs: the model loads "
            "without llama.cpp's extra buffers (%s=1 keeps them where AMX works)",
            AMX_ENV,
        )
    return {"use_extra_bufts": False}


def describe_runtime() -> str:
    """The installed llama-cpp-python and how newsqa loads models on it, in words (``newsqa models``)."""
    try:
        import llama_cpp
    except ImportError:
        return "not installed"
    name = f"llama-cpp-python {getattr(llama_cpp, '__version__', '?')}"
    if not build_has_amx():
        return f"{name}, llama.cpp's default buffers"
    if extra_buffers_allowed():
        return f"{name}, built with AMX kernels: used ({AMX_ENV}=1)"
    return f"{name}, built with AMX kernels: not used, they crash some CPUs ({AMX_ENV}=1 uses them)"
