"""How a JobResult becomes MCP content: links per result mode, previews within budget, results within size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bailian_mcp.config import Settings
from bailian_mcp.jobs.results import JobResult, OutputFile, Segment
from bailian_mcp.server.content import fit, resource_uri, to_call_tool_result


def transcript_result(chars: int, segments: int) -> JobResult:
    output = OutputFile(
        index=0,
        kind="transcript",
        text="字" * chars,
        segments=[Segment(begin_ms=i * 1000, end_ms=i * 1000 + 900, text="字" * 20) for i in range(segments)],
    )
    return JobResult(
        job_id="job_x",
        capability="speech_to_text",
        model="paraformer-v1",
        status="SUCCEEDED",
        done=True,
        message="ok",
        text="字" * chars,
        outputs=[output],
    )


def test_a_small_result_is_left_alone() -> None:
    result = transcript_result(100, 3)
    assert fit(result, 60_000) == result


def test_a_long_transcript_loses_segments_then_text_but_stays_under_the_cap() -> None:
    result = transcript_result(200_000, 5_000)
    fitted = fit(result, 60_000)
    assert len(fitted.model_dump_json()) <= 60_000
    assert fitted.outputs[0].segments is None and fitted.text is not None and fitted.text.endswith("[…]")
    assert any("shortened" in warning for warning in fitted.warnings)


def test_resource_uris_name_the_job_output_and_its_suffix(tmp_path: Path) -> None:
    output = OutputFile(index=2, kind="video", path=str(tmp_path / "job_x-2.mp4"))
    assert resource_uri("job_x", output) == "bailian://jobs/job_x/2.mp4"
    assert resource_uri("job_x", OutputFile(index=0, kind="image")) is None


@pytest.mark.slow
async def test_previews_of_many_images_share_one_budget(settings: Settings, tmp_path: Path) -> None:
    outputs = []
    for index in range(4):
        path = tmp_path / f"{index}.png"
        Image.effect_noise((1440, 1440), 100).convert("RGB").save(path)
        outputs.append(
            OutputFile(index=index, kind="image", path=str(path), bytes=path.stat().st_size, mime_type="image/png")
        )
    result = JobResult(
        job_id="job_y",
        capability="text_to_image",
        model="wan2.2-t2i-flash",
        status="SUCCEEDED",
        done=True,
        message="ok",
        outputs=outputs,
    )
    rendered = await to_call_tool_result(result, settings.model_copy(update={"preview_max_bytes": 200_000}))
    previews = [block for block in rendered.content if block.type == "image"]
    assert previews and sum(len(block.data) * 3 // 4 for block in previews) <= 200_000
    assert len(rendered.model_dump_json()) < 1024 * 1024
