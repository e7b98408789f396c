"""Talking to a model: settings read once, one client with one retry and re-ask loop, transports, cache.

settings.py    Settings: every knob, from arguments and the environment, validated once
transports.py  which transport carries requests (given, replay, embedded model, network, recording)
client.py      ModelClient: format negotiation, retries, validation, the one re-ask loop, caching
formats.py     response formats per backend (strict json_schema, json_object + schema, prompt)
loop.py        the one event loop that serves every synchronous call
cache.py       the SQLite response cache
local.py       the embedded model: assembled from PyPI parts, run in-process as a transport
recording.py   record and replay exchanges (NEWSQA_RECORD_DIR / NEWSQA_REPLAY_DIR)
_threaded.py   the base of transports that work synchronously
"""
