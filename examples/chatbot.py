"""A minimal chatbot about one article, on the embedded model (no API key, no network needed).

    python examples/chatbot.py fixtures/articles/dhs-national-guard.txt
    python examples/chatbot.py https://example.org/news/story.html
    echo "What was requested?" | python examples/chatbot.py story.txt     # one question per line

Type questions; follow-ups may refer to earlier answers ("Who is reviewing it?"). "/summary" prints a
summary, "/quit" (or end of input) leaves. Set OPENAI_BASE_URL / OPENAI_API_KEY to use an API instead.
"""

from __future__ import annotations

import sys

import newsqa
from newsqa.faces.render import print_answer, print_summary
from newsqa.faces.session import Session
from newsqa.faces.tools import load_article


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = sys.argv[1]
    try:
        article = (
            load_article(source) if source.startswith(("http://", "https://")) else newsqa.Article.from_file(source)
        )
    except newsqa.NewsQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    session = Session(article)
    print(f"Loaded {article.title or source} ({len(article.sentences)} sentences). Ask away.", file=sys.stderr)
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: input("> "), None):
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            break
        try:
            if question == "/summary":
                print_summary(session.summarize())
            else:
                if not sys.stdin.isatty():
                    print(f"> {question}")
                print_answer(session.ask(question))
        except newsqa.NewsQAError as exc:
            print(f"error: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (EOFError, KeyboardInterrupt):
        sys.exit(0)
