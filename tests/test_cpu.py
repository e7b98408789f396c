"""The guard that keeps the embedded model away from llama.cpp's AMX kernels (newsqa/model/cpu.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from newsqa.errors import LocalModelError
from newsqa.model import cpu, local

# llama.cpp's own system info, as printed by an AMX build (Sapphire Rapids, -march=native) and by a
# build without AMX on the same CPU.
AMX_BUILD = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 | "
)
PLAIN_BUILD = AMX_BUILD.replace("AMX_INT8 = 1 | ", "")
# Taken before conftest's guard replaces it: the test below loads a stand-in for llama-cpp's Llama.
_LOAD = local.LocalModelTransport._load


# /proc/cpuinfo's flags of the Sapphire Rapids machine that printed AMX_BUILD (those newsqa compares),
# and of an AVX2 machine without AVX-512.
SAPPHIRE = {"pni", "ssse3", "fma", "avx", "f16c", "avx2", "bmi2", "avx512f", "avx_vnni", "avx512_bf16",
            "avx512vbmi", "avx512_vnni", "amx_tile", "amx_int8"}  # fmt: skip
AVX2_ONLY = {"pni", "ssse3", "fma", "avx", "f16c", "avx2", "bmi2"}


def test_a_build_for_instructions_this_cpu_lacks_is_an_error_not_a_crash() -> None:
    cpu.check_instructions(AMX_BUILD, SAPPHIRE)
    cpu.check_instructions(AMX_BUILD, SAPPHIRE - {"amx_int8", "amx_tile"})  # AMX never runs: no extra buffers
    with pytest.raises(LocalModelError, match=r"AVX512, AVX512_BF16, AVX512_VBMI, AVX512_VNNI, AVX_VNNI\)"):
        cpu.check_instructions(AMX_BUILD, AVX2_ONLY)
    cpu.check_instructions("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | FMA = 1 | F16C = 1 | BMI2 = 1 | ", AVX2_ONLY)
    cpu.check_instructions(AMX_BUILD, None)  # no flags to compare with (not Linux on x86): no verdict


def test_this_machine_passes_its_own_build() -> None:
    pytest.importorskip("llama_cpp")
    cpu.check_instructions()


def test_an_amx_build_is_recognised_from_its_system_info() -> None:
    assert cpu.build_has_amx(AMX_BUILD)
    assert not cpu.build_has_amx(PLAIN_BUILD)
    assert not cpu.build_has_amx("CPU : AVX2 = 1 | AMX_INT8 = 0 | ")


def test_extra_buffers_are_refused_on_an_amx_build_unless_the_user_vouches_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("llama_cpp")
    monkeypatch.delenv(cpu.AMX_ENV, raising=False)
    assert not cpu.extra_buffers_allowed(AMX_BUILD)
    assert cpu.extra_buffers_allowed(PLAIN_BUILD)
    assert cpu.safe_load_fields(AMX_BUILD) == {"use_extra_bufts": False}
    assert cpu.safe_load_fields(PLAIN_BUILD) == {}
    monkeypatch.setenv(cpu.AMX_ENV, "1")
    assert cpu.safe_load_fields(AMX_BUILD) == {}


def test_a_build_too_old_to_refuse_amx_is_an_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")
    monkeypatch.delenv(cpu.AMX_ENV, raising=False)
    assert cpu._can_refuse_extra_buffers()  # the installed llama-cpp-python has the field
    monkeypatch.setattr(cpu, "_can_refuse_extra_buffers", lambda: False)
    with pytest.raises(LocalModelError, match=cpu.AMX_ENV):
        cpu.safe_load_fields(AMX_BUILD)
    assert cpu.safe_load_fields(PLAIN_BUILD) == {}


def test_the_note_says_how_to_keep_amx_and_comes_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("llama_cpp")
    monkeypatch.delenv(cpu.AMX_ENV, raising=False)
    monkeypatch.setattr(cpu, "_noted", False)
    with caplog.at_level(logging.INFO, logger="newsqa"):
        cpu.safe_load_fields(AMX_BUILD)
        cpu.safe_load_fields(AMX_BUILD)
    notes = [r.getMessage() for r in caplog.records if "AMX" in r.getMessage()]
    assert len(notes) == 1
    assert cpu.AMX_ENV in notes[0]


def test_model_params_reach_llama_cpp_and_are_restored() -> None:
    lib = pytest.importorskip("llama_cpp.llama_cpp")
    assert lib.llama_model_default_params().use_extra_bufts
    with cpu.model_params(use_extra_bufts=False):
        assert not lib.llama_model_default_params().use_extra_bufts
    assert lib.llama_model_default_params().use_extra_bufts
    with pytest.raises(RuntimeError), cpu.model_params(use_extra_bufts=False):
        raise RuntimeError("a failed load")
    assert lib.llama_model_default_params().use_extra_bufts


def test_the_embedded_model_loads_without_extra_buffers_on_an_amx_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lib = pytest.importorskip("llama_cpp.llama_cpp")
    llama_cpp = pytest.importorskip("llama_cpp")
    seen: list[bool] = []

    class RecordingLlama:  # what Llama.__init__ does first: start from the default model params
        def __init__(self, **kwargs: Any) -> None:
            seen.append(bool(lib.llama_model_default_params().use_extra_bufts))

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(llama_cpp, "Llama", RecordingLlama)
    monkeypatch.setattr(local.LocalModelTransport, "_load", _LOAD)
    monkeypatch.setattr(cpu, "_cpu_flags", lambda: None)  # these builds' instructions, whatever this CPU has
    monkeypatch.setattr(local, "_report_reading", lambda llama: None)
    monkeypatch.delenv(cpu.AMX_ENV, raising=False)
    for info, expected in ((AMX_BUILD, False), (PLAIN_BUILD, True)):
        monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda info=info: info.encode())
        local.LocalModelTransport(str(gguf))._load()
        assert seen[-1] is expected
    monkeypatch.setattr(cpu, "_cpu_flags", lambda: AVX2_ONLY)
    with pytest.raises(LocalModelError, match="instructions this CPU lacks"):
        local.LocalModelTransport(str(gguf))._load()
    assert len(seen) == 2  # refused before llama.cpp could run anything


def test_newsqa_models_says_how_the_runtime_loads_models(monkeypatch: pytest.MonkeyPatch) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from click.testing import CliRunner

    from newsqa.faces.cli import main

    monkeypatch.delenv(cpu.AMX_ENV, raising=False)
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: AMX_BUILD.encode())
    r = CliRunner().invoke(main, ["models", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row["status"] for row in json.loads(r.output)["models"]}
    assert "AMX kernels: not used" in rows["embedded runtime"]
    monkeypatch.setenv(cpu.AMX_ENV, "1")
    assert "AMX kernels: used" in cpu.describe_runtime()
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: PLAIN_BUILD.encode())
    assert cpu.describe_runtime().endswith("llama.cpp's default buffers")
