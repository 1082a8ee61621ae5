"""Is the LLM endpoint there at all? One cheap request at start-up, so a dead server is said plainly."""

from __future__ import annotations

import httpx


def llm_unreachable(base_url: str, api_key: str | None = None, timeout: float = 3.0) -> str | None:
    """None when something answers HTTP at ``base_url`` (any status); else why it cannot be reached.

    Asks ``GET {base}/models``: OpenAI-compatible servers answer it cheaply, and a server without it still
    answers (404, 405 or 501), which proves it is listening. Only a failed connection or no answer counts.
    """
    base = base_url.rstrip("/").removesuffix("/chat/completions")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        httpx.get(f"{base}/models", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"the LLM endpoint {base} is unreachable ({type(exc).__name__}: {exc or 'no answer'})"
    return None
