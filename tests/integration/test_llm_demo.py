"""`callbridge demo --brain llm` against a real local server speaking the OpenAI streaming format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.dialog.openai_server import (
    DONE,
    Reply,
    fake_openai,
    finish_chunk,
    role_chunk,
    text_chunk,
    tool_chunk,
)


def spoken(text: str, *, hang_up: bool = False) -> Reply:
    steps = [role_chunk(), *(text_chunk(word + " ") for word in text.split())]
    if hang_up:
        steps += [tool_chunk(0, call_id="call_1", name="hang_up", arguments='{"reason": "done"}'), finish_chunk("tool_calls")]
    else:
        steps.append(finish_chunk("stop"))
    return Reply(steps=[*steps, DONE])


def test_the_demo_call_runs_with_an_llm_brain(tmp_path: Path) -> None:
    with fake_openai() as server:
        server.add(spoken("Hello, you are through to the clinic. How can I help?"))
        for _ in range(3):
            server.add(spoken("Of course. Someone will call you back today. Goodbye.", hang_up=True))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBRIDGE_")}
        env["COLUMNS"] = "200"
        result = subprocess.run(
            [sys.executable, "-m", "app", "demo", "--brain", "llm", "--llm-url", server.url,
             "--llm-model", "test-model", "--caller-text", "Can somebody call me back about my bill?"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        assert len(server.requests) >= 2
        second = server.requests[1]
        assert second["model"] == "test-model" and second["stream"] is True
        assert any("bill" in str(m.get("content", "")).lower() for m in second["messages"])
    out = result.stdout
    assert "How can I help?" in out and "Goodbye." in out
    assert "NORMAL_CLEARING" in out
