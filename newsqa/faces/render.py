"""Terminal output for results (rich), kept apart from the CLI's wiring."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.console import Console
from rich.markup import escape

from ..schemas import Answer, Evidence, Summary

__all__ = ["print_answer", "print_streamed_answer", "print_summary"]


def _quotes(console: Console, evidence: list[Evidence], indent: str = "  ") -> None:
    for ev in evidence:
        console.print(f"{indent}[dim]“{escape(ev.quote)}”  [{ev.start}:{ev.end}][/dim]", highlight=False)


def print_answer(answer: Answer, console: Console | None = None, *, shown: str = "", why: bool = False) -> None:
    """The answer, then its quotes. ``shown`` is answer text already streamed to the terminal;
    ``why`` adds which grounding check refused an answer and its reason (or the checks it passed)."""
    console = console or Console()
    if answer.status == "not_in_article":
        if shown:
            console.print("[yellow]That answer could not be verified against the article.[/yellow]")
        console.print("[yellow]The article does not say.[/yellow]")
        if why and answer.refusal:
            console.print(
                f"[dim]Refused by the {escape(answer.refusal.check)} check: {escape(answer.refusal.reason)}[/dim]",
                highlight=False,
            )
        return
    if shown.strip() != (answer.answer or "").strip():
        console.print(f"[bold]{escape(answer.answer or '')}[/bold]", highlight=False)
    if answer.evidence:
        console.print("[dim]Evidence:[/dim]")
        _quotes(console, answer.evidence)
    if answer.unsupported:
        console.print(f"[yellow]Not found in the evidence: {escape(', '.join(answer.unsupported))}[/yellow]")
    if why and answer.checks:
        console.print(f"[dim]Checks passed: {escape(', '.join(answer.checks))}[/dim]", highlight=False)


def print_streamed_answer(
    stream: Iterable[str | Answer],
    console: Console | None = None,
    *,
    why: bool = False,
    on_text: Callable[[], None] | None = None,
) -> Answer:
    """Show the answer text as it arrives, then its evidence; returns the final Answer."""
    console = console or Console()
    shown = ""
    for item in stream:
        if isinstance(item, str):
            console.print(f"[bold]{escape(item)}[/bold]", end="", highlight=False, soft_wrap=True)
            shown += item
            if on_text is not None:
                on_text()
            continue
        if shown:
            console.print()
        print_answer(item, console, shown=shown, why=why)
        return item
    raise RuntimeError("the answer stream ended without a result")


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{escape(summary.headline)}[/bold]\n", highlight=False)
    console.print(escape(summary.summary), highlight=False)
    if summary.key_points:
        console.print("\n[bold]Key points[/bold]")
        for kp in summary.key_points:
            console.print(f"• {escape(kp.point)}", highlight=False)
            _quotes(console, kp.evidence, "    ")
    if summary.actions:
        console.print("\n[bold]Who did what[/bold]")
        for a in summary.actions:
            rec = f" → {escape(a.recipient)}" if a.recipient else ""
            console.print(
                f"• [bold]{escape(a.actor)}[/bold] {escape(a.action)} {escape(a.object)}{rec}", highlight=False
            )
            _quotes(console, a.evidence, "    ")
    ents = summary.entities
    for label, items in (("People", ents.people), ("Organizations", ents.organizations), ("Places", ents.places)):
        if items:
            console.print(f"\n[bold]{label}:[/bold] {escape(', '.join(items))}", highlight=False)
