"""langchain-mcp-adapters against the real server over stdio. It pins mcp<2, so it runs from its own environment,
.venv-langchain (made by .ci/interop-env.sh): tests/interop/langchain_client.py, run once for the module by that
environment's python, spawns our server through `MultiServerMCPClient`, loads every tool with `load_mcp_tools`, invokes
text_to_image, text_to_text and text_to_speech as a LangGraph ToolNode would, and reports what came back as JSON.
No model and no network: the emulator is this process's, on loopback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.interop.common import (
    CALLS,
    EVERY_TOOL,
    QUESTION,
    StdioServer,
    assert_png,
    assert_wav,
    is_job_link,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-langchain" / "bin" / "python"
CLIENT = Path(__file__).with_name("langchain_client.py")


@pytest.fixture(scope="module")
def report(stdio_server: StdioServer) -> dict[str, Any]:
    if not PYTHON.is_file():
        pytest.fail(
            f"{PYTHON.parent.parent} is missing: langchain-mcp-adapters pins mcp<2 and runs from its own environment;"
            " make it with `bash .ci/interop-env.sh`",
            pytrace=False,
        )
    spec = {"command": stdio_server.command, "args": [], "env": stdio_server.env, "calls": CALLS}
    # No LangSmith tracing (it would send traces out) whatever the developer's shell has.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGCHAIN_", "LANGSMITH_", "PYTHON"))}
    done = subprocess.run(
        [str(PYTHON), str(CLIENT), json.dumps(spec)],
        capture_output=True,
        text=True,
        env={**env, "LANGSMITH_TRACING": "false"},
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def called(report: dict[str, Any], name: str) -> dict[str, Any]:
    call: dict[str, Any] = report["calls"][name]
    assert "exception" not in call, call.get("trace")
    assert call["message_type"] == "ToolMessage" and call["status"] == "success", call["content"]
    return call


def test_every_tool_lists(report: dict[str, Any]) -> None:
    assert set(report["tools"]) == EVERY_TOOL
    problems = {
        name: tool for name, tool in report["tools"].items() if "openai_error" in tool or not tool["description"]
    }
    assert problems == {}, "every tool binds to a chat model (convert_to_openai_tool)"


def test_text_to_image(report: dict[str, Any], stdio_server: StdioServer) -> None:
    call = called(report, "text_to_image")
    text, preview, link = call["content"]
    assert text["type"] == "text" and "SUCCEEDED" in text["text"]
    assert preview["type"] == "image" and preview["mime_type"] == "image/jpeg" and preview["base64_chars"] > 1000
    assert link["type"] == "image" and is_job_link(link["url"], "png"), link
    (output,) = call["structured_content"]["outputs"]
    assert_png(Path(output["path"]), stdio_server.out_dir)


def test_text_to_text(report: dict[str, Any]) -> None:
    call = called(report, "text_to_text")
    answer = call["content"][0]
    assert answer["type"] == "text" and QUESTION in answer["text"], "the generated text comes first"
    assert call["structured_content"]["text"] == answer["text"]


def test_text_to_speech(report: dict[str, Any], stdio_server: StdioServer) -> None:
    call = called(report, "text_to_speech")
    text, link = call["content"]
    assert text["type"] == "text" and "SUCCEEDED" in text["text"]
    assert link["type"] == "file" and link["mime_type"] == "audio/wav" and is_job_link(link["url"], "wav"), link
    (output,) = call["structured_content"]["outputs"]
    assert_wav(Path(output["path"]), stdio_server.out_dir)


def test_text_and_the_image_preview_go_to_a_chat_model(report: dict[str, Any]) -> None:
    """The ToolMessages convert to OpenAI chat messages (langchain-core's `convert_to_openai_messages`, the blocks
    langchain-openai sends): the answer as text, and the picture as its inline preview, a data: URL any provider
    reads. (The adapters also pass each `bailian://` resource link on as a URL block, which a model API cannot fetch
    and which OpenAI refuses for audio; README says to set BAILIAN_RESULT_MODE=url for such stacks.)"""
    text = called(report, "text_to_text")["openai"]
    assert "error" not in text and QUESTION in json.dumps(text["content"], ensure_ascii=False)
    image = called(report, "text_to_image")["openai"]
    assert "error" not in image, image["error"]
    urls = [part["image_url"]["url"] for part in image["content"] if part.get("type") == "image_url"]
    assert any(url.startswith("data:image/jpeg;base64,") for url in urls), urls
