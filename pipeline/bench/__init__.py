"""The architecture benchmark: memory and latency of every format, fresh-process memory, llama.cpp as a peer, the tidy table."""
