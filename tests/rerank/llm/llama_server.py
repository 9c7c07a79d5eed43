"""Run llama.cpp's own OpenAI-compatible server (xllamacpp) on 127.0.0.1 until stdin
closes: ``python llama_server.py MODEL.gguf PORT [THREADS]``. Prints ``ready`` when it
listens. Used by the LLM reranker tests and bench/llm_rerank.py."""

from __future__ import annotations

import sys


def main() -> None:
    import xllamacpp

    model, port = sys.argv[1], int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_ctx = 8192
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.port = port
    params.verbosity = -1
    server = xllamacpp.Server(params)
    address = server.listening_address
    if "127.0.0.1" not in address and "localhost" not in address:
        sys.exit(f"llama.cpp server listens on {address}, not on loopback")
    print("ready", address, flush=True)
    sys.stdin.read()  # until the test closes the pipe
    del server


if __name__ == "__main__":
    main()
