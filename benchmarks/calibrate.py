"""Calibrate the answer checks' one free number on the SQuAD 2.0 tune split; report it on the test split.

    python benchmarks/calibrate.py                 # fit on squad-tune.jsonl, report on squad-test.jsonl if present

Reads the rows ``benchmarks/squad.py`` saved (every check's outcome on each draft, and the second
reading's probability of "yes"), so nothing is asked of the model again. Two ways to decide:

- **threshold**: the pipeline as shipped, the second reading standing when P(yes) >= t;
- **combiner**: a logistic regression over the log-odds of P(yes) and of the draft's P(answered),
  fitted on the drafts every rule check passes (the rules refuse the others first), three numbers and a
  cut; it replaces the thresholds only if it beats them on the test split.

Both are fitted on the tune split alone; the test split is only scored. The objective is the issue's
own pair of targets (answerable accuracy 80 %, unanswerable 85 %): the setting that comes closest to
both at once, max over settings of min(answerable / 0.80, unanswerable / 0.85). Balanced accuracy
(their mean) would refuse a quarter of the right answers to catch a few more unanswerable questions.
Writes benchmarks/calibration.md and calibration.json.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsqa.grounding import CHECK_NAMES  # noqa: E402
from newsqa.grounding.confidence import ANSWERED_THRESHOLD  # noqa: E402
from newsqa.grounding.second_reading import YES_THRESHOLD  # noqa: E402

OUT = Path(__file__).resolve().parent
# The checks decided by a threshold here; every other check is a rule, taken as it ran.
TUNED = ("answered", "draft_confidence", "second_reading")
RULES = [n for n in CHECK_NAMES if n not in TUNED]
GRID = [round(0.05 * k, 2) for k in range(1, 20)]
ANSWERED_GRID = [0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99]


def rows_of(split: str) -> list[dict[str, Any]]:
    path = OUT / f"squad-{split}.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [r for r in rows if r["system"] == "newsqa" and "p_yes" in r and r["draft"] is not None]


def log_odds(p: float | None) -> float:
    p = 0.5 if p is None else min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def features(r: dict[str, Any]) -> list[float]:
    """Log-odds of the second reading's yes and of the draft's "answered" (the rule checks refuse first)."""
    return [1.0, log_odds(r["p_yes"]), log_odds(r.get("p_answered"))]


def passes_rules(r: dict[str, Any]) -> bool:
    return all(r["checks"].get(n, True) for n in RULES)


def stands_by_threshold(r: dict[str, Any], t: float, t_answered: float = 0.0) -> bool:
    if not all(r["checks"].get(n, True) for n in RULES):
        return False
    if r.get("p_answered") is not None and r["p_answered"] < t_answered:
        return False
    return r["p_yes"] >= t if r["p_yes"] is not None else bool(r["checks"].get("second_reading", True))


def fit(rows: list[dict[str, Any]], l2: float = 1.0, steps: int = 3000, lr: float = 0.1) -> list[float]:
    """Logistic regression (label: the draft is a right answer to an answerable question) by gradient descent."""
    xs = [features(r) for r in rows]
    ys = [1.0 if r["answerable"] and r["draft_correct"] else 0.0 for r in rows]
    w = [0.0] * len(xs[0])
    for _ in range(steps):
        grad = [0.0] * len(w)
        for x, y in zip(xs, ys, strict=True):
            z = sum(a * b for a, b in zip(w, x, strict=True))
            p = 1 / (1 + math.exp(-max(min(z, 30), -30)))
            for j, xj in enumerate(x):
                grad[j] += (p - y) * xj
        w = [
            wj - lr * (gj / len(xs) + (l2 * wj / len(xs) if j else 0.0))
            for j, (wj, gj) in enumerate(zip(w, grad, strict=True))
        ]
    return w


def combined(w: list[float], r: dict[str, Any]) -> float:
    z = sum(a * b for a, b in zip(w, features(r), strict=True))
    return 1 / (1 + math.exp(-max(min(z, 30), -30)))


def score(rows: list[dict[str, Any]], stands: Any) -> dict[str, Any]:
    """Answerable and unanswerable accuracy over ALL questions of the split (undrafted ones count as refused)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    a = sum(1 for r in ans if r["draft"] is not None and r["draft_correct"] and stands(r))
    u = sum(1 for r in una if r["draft"] is None or not stands(r))
    return {
        "answerable": (a, len(ans)),
        "unanswerable": (u, len(una)),
        "balanced": (a / max(1, len(ans)) + u / max(1, len(una))) / 2,
    }


def objective(s: dict[str, Any]) -> float:
    (a, na), (u, nu) = s["answerable"], s["unanswerable"]
    return min(a / max(1, na) / 0.80, u / max(1, nu) / 0.85)


def all_rows(split: str) -> list[dict[str, Any]]:
    path = OUT / f"squad-{split}.jsonl"
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["system"] == "newsqa" and "p_yes" in r]


def pct(k: int, n: int) -> str:
    return f"{k / n:.1%} ({k}/{n})" if n else "–"


def main() -> None:
    tune, test = all_rows("tune"), all_rows("test")
    if not tune:
        sys.exit("no tune rows with P(yes): run benchmarks/squad.py --split tune first")
    best_t = max(GRID, key=lambda t: (objective(score(tune, lambda r: stands_by_threshold(r, t))), -abs(t - 0.5)))
    pairs = [(t, a) for t in GRID for a in ANSWERED_GRID]
    best_pair = max(
        pairs, key=lambda p: (objective(score(tune, lambda r: stands_by_threshold(r, *p))), -abs(p[0] - 0.5), -p[1])
    )
    drafted = [r for r in tune if r["draft"] is not None]
    w = fit([r for r in drafted if passes_rules(r)])
    best_c = max(
        GRID, key=lambda c: (objective(score(tune, lambda r: passes_rules(r) and combined(w, r) >= c)), -abs(c - 0.5))
    )
    deciders = {
        "word (P(yes) not used)": lambda r: stands_by_threshold({**r, "p_yes": None}, 0.5),
        f"P(yes) >= {YES_THRESHOLD:g}, P(answered) >= {ANSWERED_THRESHOLD:g} (shipped)": lambda r: stands_by_threshold(
            r, YES_THRESHOLD, ANSWERED_THRESHOLD
        ),
        f"P(yes) >= {best_t:g} (best alone on tune)": lambda r: stands_by_threshold(r, best_t),
        f"P(yes) >= {best_pair[0]:g}, P(answered) >= {best_pair[1]:g} (best pair on tune)": lambda r: (
            stands_by_threshold(r, *best_pair)
        ),
        f"combiner >= {best_c:g} (fitted on tune)": lambda r: passes_rules(r) and combined(w, r) >= best_c,
    }
    lines = [
        "# Calibrating the second reading on SQuAD 2.0",
        "",
        "`python benchmarks/calibrate.py` — from the rows of `squad-tune.jsonl` and `squad-test.jsonl` "
        "(`benchmarks/squad.py`), no model request. Fitted on the tune split only; the test split is only scored. "
        "Accuracy counts every question of the split (a draft that said the article does not say counts as refused).",
        "",
        "| decision | split | answerable accuracy | unanswerable accuracy | balanced | closeness to both targets |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, stands in deciders.items():
        for split, rows in (("tune", tune), ("test", test)):
            if not rows:
                continue
            s = score(rows, stands)
            lines.append(
                f"| {name} | {split} | {pct(*s['answerable'])} | {pct(*s['unanswerable'])} | {s['balanced']:.1%} "
                f"| {objective(s):.2f} |"
            )
    lines += [
        "",
        "P(yes) threshold sweep (tune): catches among drafted unanswerable, false refusals of correct drafts.",
        "",
    ]
    lines += ["| threshold | catches | wrongly refuses |", "|---:|---:|---:|"]
    una = [r for r in drafted if not r["answerable"] and r["p_yes"] is not None]
    good = [r for r in drafted if r["answerable"] and r["draft_correct"] and r["p_yes"] is not None]
    for t in GRID:
        lines.append(
            f"| {t:g} | {pct(sum(r['p_yes'] < t for r in una), len(una))} | {pct(sum(r['p_yes'] < t for r in good), len(good))} |"
        )
    names = ["bias", "log-odds P(yes)", "log-odds P(answered)"]
    lines += ["", "Combiner weights (tune): " + ", ".join(f"{n} {v:+.2f}" for n, v in zip(names, w, strict=True))]
    (OUT / "calibration.md").write_text("\n".join(lines) + "\n")
    (OUT / "calibration.json").write_text(
        json.dumps(
            {
                "best_threshold": best_t,
                "best_pair": best_pair,
                "combiner": dict(zip(names, w, strict=True)),
                "combiner_cut": best_c,
            },
            indent=1,
        )
        + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
