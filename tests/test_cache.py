"""The response cache: hits, keys, concurrency, damage."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import newsqa
from newsqa import Cache, ModelClient
from newsqa.schemas import Answer, draft_model
from newsqa.testing import ScriptedTransport

GOOD = {"evidence": ["S1"], "status": "answered", "answer": "DHS asked for 20,000 National Guard troops"}
MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
DRAFT = draft_model(Answer)


def test_hit_makes_no_http_call(sample: newsqa.Article, tmp_path: Path) -> None:
    t = ScriptedTransport([GOOD], verdict="yes")  # one draft only: a second would raise ReplayError
    c = ModelClient(transport=t, cache=Cache(tmp_path))
    first = newsqa.ask(sample, "Who requested what?", client=c)
    second = newsqa.ask(sample, "Who requested what?", client=c)
    assert len(t.requests) == 2  # the draft and its check, both cached
    assert not first.cached and first.usage.total_tokens > 0
    assert second.cached and second.usage.total_tokens == 0 and second.usage.requests == 0
    assert second.answer == first.answer and second.evidence == first.evidence


def test_cache_false_bypasses(sample: newsqa.Article, tmp_path: Path) -> None:
    t = ScriptedTransport([GOOD, GOOD], verdict="yes")
    c = ModelClient(transport=t, cache=Cache(tmp_path))
    newsqa.ask(sample, "Who requested what?", client=c)
    assert not newsqa.ask(sample, "Who requested what?", client=c, cache=False).cached
    assert len(t.requests) == 4  # draft and check, twice


def _key(**kw: Any) -> str:
    schema = kw.pop("schema", DRAFT)
    messages = kw.pop("messages", MESSAGES)
    return ModelClient(cache=False, **kw).cache_key(messages, schema, 256)


def test_key_changes_with_everything_that_shapes_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel

    class Other(BaseModel):
        x: int

    base = _key()
    assert base == _key()
    assert _key(model="other") != base
    assert _key(temperature=0.5) != base
    assert _key(schema=Other) != base
    assert _key(messages=[*MESSAGES, {"role": "user", "content": "more"}]) != base
    import newsqa.prompts

    monkeypatch.setattr(newsqa.prompts, "prompt_version", lambda: "changed")
    assert _key() != base


def test_key_never_holds_credentials(tmp_path: Path) -> None:
    key = "sk-secret-" + "B" * 30
    t = ScriptedTransport([GOOD], verdict="yes")
    c = ModelClient(
        api_key=key,
        base_url="http://u:pw@127.0.0.1:1/v1",
        model="m",
        transport=t,
        cache=Cache(tmp_path),
        response_format="json_object",
    )
    c.complete(MESSAGES, DRAFT)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert key.encode() not in blob and b"pw@" not in blob


def test_only_valid_results_are_stored(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    c = ModelClient(transport=ScriptedTransport(["bad", "bad", "bad"]), cache=cache, max_reasks=2)
    with pytest.raises(newsqa.ValidationExhaustedError):
        c.complete(MESSAGES, DRAFT)
    assert cache.stats().entries == 0


def test_stats_and_clear(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.set("k1", "m", {"a": 1}, {"total_tokens": 3})
    cache.set("k2", "m", {"a": 2}, {"total_tokens": 3})
    assert cache.get("k1") is not None
    st = cache.stats()
    assert st.entries == 2 and st.hits == 1 and st.bytes > 0
    assert cache.clear() == 2 and cache.stats().entries == 0


def test_ttl_expires_entries(tmp_path: Path) -> None:
    cache = Cache(tmp_path, ttl=0.0)
    cache.set("k", "m", {"a": 1}, {})
    assert cache.get("k") is None
    assert Cache(tmp_path).get("k") is not None


def _writer(directory: str, worker: int, n: int) -> None:
    cache = Cache(directory)
    for i in range(n):
        cache.set(f"{worker}-{i}", "m", {"worker": worker, "i": i}, {"total_tokens": i})


def test_several_processes_and_threads_write_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=_writer, args=(str(tmp_path), 10 + w, 150)) for w in range(3)]
    for t in threads:
        t.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for t in threads:
        t.join(60)
    cache = Cache(tmp_path)
    assert cache.stats().entries == 7 * 150
    assert cache.get("3-149") is not None and cache.get("3-149").value == {"worker": 3, "i": 149}  # type: ignore[union-attr]


def test_corrupted_database_is_moved_aside_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "responses.sqlite3").write_bytes(b"this is not a database" * 100)
    cache = Cache(tmp_path)
    assert cache.get("k") is None
    cache.set("k", "m", {"a": 1}, {})
    assert cache.get("k") is not None
    assert any(p.name.startswith("responses.sqlite3.corrupt-") for p in tmp_path.iterdir())
    assert "unreadable" in caplog.text


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_directory_degrades_to_no_cache(tmp_path: Path) -> None:  # pragma: no cover - root in CI
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    cache = Cache(ro / "sub")
    cache.set("k", "m", {}, {})
    assert cache.get("k") is None and not cache.enabled


def test_unwritable_location_degrades_to_no_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    cache = Cache(blocker / "cache")
    cache.set("k", "m", {}, {})
    assert cache.get("k") is None and not cache.enabled
    assert "cache disabled" in caplog.text


def _killed_mid_write(directory: str) -> None:
    import signal

    conn = sqlite3.connect(Path(directory) / "responses.sqlite3", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO responses (key, model, value, usage, created) VALUES ('lost', 'm', '{}', '{}', 0)")
    os.kill(os.getpid(), signal.SIGKILL)


def test_committed_rows_survive_a_killed_writer(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.set("kept", "m", {"a": 1}, {})
    proc = multiprocessing.get_context("spawn").Process(target=_killed_mid_write, args=(str(tmp_path),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -9
    fresh = Cache(tmp_path)
    assert fresh.get("kept") is not None and fresh.get("lost") is None
    fresh.set("after", "m", {"a": 2}, {})
    assert fresh.stats().entries == 2


def test_a_locked_database_is_never_moved_aside(tmp_path: Path) -> None:
    Cache(tmp_path).set("kept", "m", {"a": 1}, {})
    holder = sqlite3.connect(tmp_path / "responses.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        fresh = Cache(tmp_path, busy_timeout=0.2)
        assert fresh.get("kept") is None  # busy: a miss, not damage
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not any("corrupt" in p.name for p in tmp_path.iterdir())
    assert Cache(tmp_path).get("kept") is not None


def test_full_disk_degrades_to_no_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = Cache(tmp_path)
    cache.set("kept", "m", {"a": 1}, {})
    conn = cache._connect()
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL, as on a full disk
    cache.set("big", "m", {"blob": "x" * 200_000}, {})
    assert not cache.enabled and "cache disabled" in caplog.text
    assert Cache(tmp_path).get("kept") is not None  # nothing committed was lost


def test_read_only_database_degrades_to_no_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = Cache(tmp_path)
    cache.set("kept", "m", {"a": 1}, {})
    conn = cache._connect()
    assert conn is not None
    conn.execute("PRAGMA query_only = ON")  # writes now fail as on a read-only file (root ignores chmod)
    cache.set("new", "m", {"a": 2}, {})
    assert not cache.enabled and "cache disabled" in caplog.text
    assert Cache(tmp_path).get("kept") is not None


def test_a_prompt_edit_changes_the_keys_of_the_requests_that_use_it_and_only_those(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from newsqa import prompts
    from newsqa.grounding.second_reading import check_messages
    from newsqa.schemas import Answer, Verdict, draft_model

    c = newsqa.ModelClient(transport=ScriptedTransport([]), cache=False)
    art = newsqa.Article.from_text("The council met. It approved the plan.")
    draft = prompts.messages_for(prompts.article_block(art), prompts.render("ask", question="What was approved?"))
    before = (c.cache_key(draft, draft_model(Answer), 300), c.cache_key(check_messages("q", "a", []), Verdict, 20))
    load = prompts.load
    monkeypatch.setattr(prompts, "load", lambda name: load(name) + (" Be brief." if name == "check" else ""))
    prompts._template.cache_clear()
    try:
        after = (c.cache_key(draft, draft_model(Answer), 300), c.cache_key(check_messages("q", "a", []), Verdict, 20))
        assert after[0] == before[0]  # the draft's request did not change: its cached reply still serves
        assert after[1] != before[1]  # the second reading's did
        prompts.prompt_version.cache_clear()
        monkeypatch.setattr(prompts, "load", lambda name: load(name) + (" Again." if name == "reask" else ""))
        assert c.cache_key(draft, draft_model(Answer), 300) != before[0]  # re-ask feedback is unseen: every key moves
    finally:
        prompts._template.cache_clear()
        prompts.prompt_version.cache_clear()
