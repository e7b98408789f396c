"""Trial (issue #16 item 1, with #14's yardstick): the second reading's instructions in its system prompt.

    python benchmarks/trials/check_layout.py            # both splits (about 12 minutes)
    python benchmarks/trials/check_layout.py --table    # the tables again from the saved rows

The shipped second reading puts its instructions (about 70 tokens) after the evidence, in the user
message, so every answer check reads them again. In the system prompt they are read once per process
and kept with its saved state (newsqa.model.local), and each check reads only the evidence, the
question and the answer. The model sees the same words in another place, so P(yes) moves: the
threshold is fitted again on the SQuAD tune split (the bound that refuses no more right drafts than
the shipped 0.55 does there) and both splits are scored end to end from newsqa's stored drafts
(every rule as it ran and the draft's P(answered) at its shipped bound, as benchmarks/calibrate.py
replays the pipeline). Writes benchmarks/trials/check-layout.md and check-layout.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.trials.claim_reading import DATA, ROWS_AT, Reader, scored, stands, stored_rows  # noqa: E402
from benchmarks.trials.question_pmi import auc  # noqa: E402
from newsqa import prompts  # noqa: E402
from newsqa.grounding.second_reading import YES_THRESHOLD  # noqa: E402

OUT = Path(__file__).with_name("check-layout.md")
SAVED = Path(__file__).with_name("check-layout.jsonl")
INSTRUCTIONS = (
    "Each request gives a text, a question and a proposed answer. Does the text state this answer to the question? "
    'Say "yes" only if the text itself says it. Say "no" if the text says something different, says only something '
    'related, or does not say it.\nReply as JSON: {"verdict": "yes"} or {"verdict": "no"}'
)
USER = "Text:\n{text}\n\nQuestion: {question}\nProposed answer: {answer}"


def system() -> str:
    return prompts.load("check_system") + "\n\n" + INSTRUCTIONS


def tokens(reader: Reader, text: str) -> int:
    return len(reader.llm.tokenize(text.encode(), add_bos=False, special=True))


def measure() -> None:
    questions = {
        q["id"]: q["question"] for q in map(json.loads, (DATA / "questions.jsonl").read_text().splitlines()) if q
    }
    done = {json.loads(x)["id"] for x in SAVED.read_text().splitlines() if x.strip()} if SAVED.exists() else set()
    reader = Reader()
    with SAVED.open("a") as out:
        for split in ("tune", "test"):
            rows = stored_rows(split)
            for r in rows:
                if r["system"] != "newsqa" or not r.get("draft") or not r.get("evidence") or r["id"] in done:
                    continue
                text, q = "\n".join(r["evidence"]), questions[r["id"]]
                user = USER.format(text=text, question=q, answer=r["draft"])
                shipped_user = prompts.render("check", text=text, question=q, answer=r["draft"])
                out.write(json.dumps({
                    "split": split, "id": r["id"], "p_yes": round(reader.p_yes(system(), user), 4),
                    "read": tokens(reader, user), "read_shipped": tokens(reader, shipped_user),
                }) + "\n")  # fmt: skip
                out.flush()


def table() -> None:
    saved = {x["id"]: x for x in map(json.loads, SAVED.read_text().splitlines()) if x}
    splits: dict[str, list[dict[str, Any]]] = {}
    for split in ("tune", "test"):
        rows = stored_rows(split)
        splits[split] = [r | {"p_new": saved.get(r["id"], {}).get("p_yes")} for r in rows if r["system"] == "newsqa"]
    tune = [r for r in splits["tune"] if r["draft"] is not None and r["p_new"] is not None and r["p_yes"] is not None]
    tune = [r for r in tune if stands(r, 0.0)]  # the drafts the reading decides
    good = [r for r in tune if r["answerable"] and r["draft_correct"]]
    shipped_wrong = sum(1 for r in good if r["p_yes"] < YES_THRESHOLD)
    fitted = max(
        (float(t) for t in np.arange(0.30, 0.90, 0.005) if sum(1 for r in good if r["p_new"] < t) <= shipped_wrong),
        default=0.5,
    )

    def ranked(rows: list[dict[str, Any]], key: str) -> float:
        return auc(
            [r[key] for r in rows if r["answerable"] and r["draft_correct"]],
            [r[key] for r in rows if not r["answerable"]],
        )

    read = [x["read"] for x in saved.values()]
    read_shipped = [x["read_shipped"] for x in saved.values()]
    lines = [
        "# Trial: the second reading's instructions in its system prompt (issue #16, measured as #14 measures)\n",
        f"`python benchmarks/trials/check_layout.py` — {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; newsqa's stored SQuAD 2.0 drafts (at {ROWS_AT}), {len(saved)} read "
        "again with the instructions in the system prompt.\n",
        f"Tokens a check reads after its system prompt: {sum(read) / len(read):.0f} on average, against "
        f"{sum(read_shipped) / len(read_shipped):.0f} for the shipped layout (the chat template's own tokens not counted).\n",
        f"Threshold fitted on tune (no more right drafts refused than the shipped P(yes) >= {YES_THRESHOLD}): P(yes) >= "
        f"{fitted:.3f}. AUC (right answerable drafts above unanswerable ones), tune: shipped {ranked(tune, 'p_yes'):.3f}, "
        f"moved {ranked(tune, 'p_new'):.3f}.\n",
        "| layout | split | answerable accuracy | unanswerable accuracy |",
        "|---|---|---:|---:|",
    ]
    for name, key, cut in (("shipped", "p_yes", YES_THRESHOLD), ("instructions in the system prompt", "p_new", fitted)):
        for split in ("tune", "test"):

            def decide(r: dict[str, Any], key: str = key, cut: float = cut) -> bool:
                return stands({**r, "p_yes": r[key]}, cut)

            ans, una, _, _ = scored(splits[split], decide)
            lines.append(f"| {name} (P(yes) >= {cut:.3f}) | {split} | {ans} | {una} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", action="store_true", help="only rewrite the table from the saved rows")
    if not ap.parse_args().table:
        measure()
    table()


if __name__ == "__main__":
    main()
