"""Input: text in, articles with sentences and offsets out, cut into chunks and passages. No model here.

article.py    text -> normalised Article (paragraphs, sentences, offsets, content hash)
web.py        URLs and HTML pages -> Article (SSRF-guarded fetching, trafilatura extraction)
words.py      matching normalisation, stop words, content words, names and numbers
hostile.py    text that tries to instruct a model: control tokens defanged, planted orders spotted
tokens.py     token counting that never touches the network
chunking.py   token-aware chunks at sentence boundaries
retrieval.py  BM25 ranking of chunks, and the passages a question reads
"""
