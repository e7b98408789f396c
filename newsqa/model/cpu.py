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
import re
import threading
from collections.abc import Iterator
from typing import Any

from ..errors import LocalModelError

__all__ = [
    "AMX_ENV",
    "build_has_amx",
    "check_instructions",
    "describe_runtime",
    "extra_buffers_allowed",
    "model_params",
    "safe_load_fields",
    "safe_loading",
]

log = logging.getLogger("newsqa")

AMX_ENV = "NEWSQA_LLAMA_AMX"
_lock = threading.Lock()
_noted = False


# Instruction sets in llama.cpp's system info, and their names among the CPU's flags in /proc/cpuinfo.
# AMX is left out: on a build with it the model loads without extra buffers, so its kernels never run.
_INSTRUCTIONS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
}


def _system_info() -> str:
    import llama_cpp

    return str(llama_cpp.llama_print_system_info().decode(errors="replace"))


def _cpu_flags() -> set[str] | None:
    """This CPU's flags, or None where /proc/cpuinfo does not list them (not Linux on x86)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return None


def check_instructions(system_info: str | None = None, cpu_flags: set[str] | None = None) -> None:
    """Raise :class:`LocalModelError` when llama.cpp was compiled for instructions this CPU lacks.

    A wheel built on another machine (a pip cache or an image carried over) otherwise dies with
    "illegal instruction" at the first decode, taking the caller's process with it.
    """
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    if not flags:
        return
    built = set(re.findall(r"(\w+) = 1", _system_info() if system_info is None else system_info))
    missing = sorted(name for name in built & _INSTRUCTIONS.keys() if _INSTRUCTIONS[name] not in flags)
    if missing:
        raise LocalModelError(
            f"llama-cpp-python was compiled for instructions this CPU lacks ({', '.join(missing)}), on another "
            "machine: build it here with pip install --force-reinstall --no-cache-dir llama-cpp-python"
        )


def build_has_amx(system_info: str | None = None) -> bool:
    """Whether the installed llama.cpp was compiled with its AMX kernels (from its own system info)."""
    if system_info is None:
        system_info = _system_info()
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


def safe_loading() -> contextlib.AbstractContextManager[None]:
    """Where a ``Llama(...)`` for inference is built: refuses a build this CPU cannot run
    (:class:`LocalModelError`) and loads with the fields this build needs."""
    check_instructions()
    return model_params(**safe_load_fields())
