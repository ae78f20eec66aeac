"""Local paths through the tools (edit_image, wanx_edit_image, speech_to_text) with BAILIAN_INPUT_ROOTS set to one
folder: every way out of it is refused with an error naming the parameter and the reason, before anything is
read for sending, uploaded or requested — the emulator receives no request at all. A FIFO or a device never
hangs a call. tests/test_inputs.py covers `confine` itself; this is the same rule as the tools apply it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import TextContent

from bailian_mcp.emulator import RunningEmulator
from tests.support.media import write_png, write_wav
from tests.support.services import make_settings, serving

CALL_TIMEOUT = 10.0
NOTHING_SENT = "Nothing was sent to DashScope."


@dataclass(frozen=True)
class Layout:
    root: Path  # the only input root
    outside: Path  # a sibling folder with readable files


@pytest.fixture
def layout(input_root: Path) -> Layout:
    outside = input_root.parent / "outside"
    write_png(outside / "secret.png")
    write_wav(outside / "secret.wav")
    for ext in (".png", ".wav"):
        (input_root / f"escape{ext}").symlink_to(outside / f"secret{ext}")
        (input_root / f"zero{ext}").symlink_to("/dev/zero")
        os.mkfifo(input_root / f"pipe{ext}")
    (input_root / "door").symlink_to(outside, target_is_directory=True)
    write_png(input_root / ".hidden.png")
    write_wav(input_root / ".hidden.wav")
    write_png(input_root / ".private" / "x.png")
    write_wav(input_root / ".private" / "x.wav")
    write_png(input_root / "sub" / "ok.png")
    write_wav(input_root / "sub" / "ok.wav", seconds=0.7)
    return Layout(root=input_root, outside=outside)


Path_ = Callable[[Layout, str], str]  # (layout, extension) -> the value to pass

ROOTS = "BAILIAN_INPUT_ROOTS"
CASES: dict[str, tuple[Path_, str | None]] = {
    "dot-dot-traversal": (lambda lay, ext: f"{lay.root}/../outside/secret{ext}", ROOTS),
    "dot-dot-from-a-subfolder": (lambda lay, ext: f"{lay.root}/sub/../../outside/secret{ext}", ROOTS),
    "system-file": (lambda lay, ext: "/etc/passwd", ROOTS),
    "symlink-to-a-file-outside": (lambda lay, ext: f"{lay.root}/escape{ext}", ROOTS),
    "symlinked-folder-leading-outside": (lambda lay, ext: f"{lay.root}/door/secret{ext}", ROOTS),
    "hidden-file": (lambda lay, ext: f"{lay.root}/.hidden{ext}", "hidden"),
    "file-in-a-hidden-folder": (lambda lay, ext: f"{lay.root}/.private/x{ext}", "hidden"),
    "windows-drive-backslashes": (lambda lay, ext: f"C:\\Users\\me\\photo{ext}", "Windows"),
    "windows-drive-slashes": (lambda lay, ext: f"C:/Users/me/photo{ext}", "Windows"),
    "windows-unc-share": (lambda lay, ext: f"\\\\server\\share\\photo{ext}", "Windows"),
    "relative-name": (lambda lay, ext: f"photo{ext}", "absolute path"),
    "relative-dot": (lambda lay, ext: f"./allowed/photo{ext}", "absolute path"),
    "relative-dot-dot": (lambda lay, ext: f"../outside/secret{ext}", "absolute path"),
    "file-uri-encoded-dot-dot": (lambda lay, ext: f"file://{lay.root}/%2e%2e/outside/secret{ext}", ROOTS),
    "file-uri-encoded-slash": (lambda lay, ext: f"file://{lay.root}/..%2Foutside%2Fsecret{ext}", ROOTS),
    "file-uri-upper-case-escapes": (lambda lay, ext: f"file://{lay.root}/%2E%2E/outside/secret{ext}", ROOTS),
    "file-uri-with-a-host": (lambda lay, ext: "file://localhost/etc/passwd", ROOTS),
    "file-uri-windows-drive": (lambda lay, ext: "file:///C:/Windows/win.ini", ROOTS),
    "home-tilde-outside-the-root": (lambda lay, ext: f"~/../../etc/passwd{ext}", ROOTS),
    "fifo-inside-the-root": (lambda lay, ext: f"{lay.root}/pipe{ext}", "no such file"),
    "symlink-to-dev-zero": (lambda lay, ext: f"{lay.root}/zero{ext}", ROOTS),
    "dev-zero": (lambda lay, ext: "/dev/zero", ROOTS),
    "the-root-folder-itself": (lambda lay, ext: str(lay.root), ROOTS),
}
# Names the operating system refuses to look up: a refusal too (nothing sent), never a crash.
UNUSABLE_NAMES: dict[str, tuple[Path_, str | None]] = {
    "nul-byte": (lambda lay, ext: f"{lay.root}/photo{ext}\x00.txt", None),
    "percent-encoded-nul-in-a-file-uri": (lambda lay, ext: f"file://{lay.root}/%00photo{ext}", None),
    "name-longer-than-the-file-system-allows": (lambda lay, ext: f"{lay.root}/{'a' * 300}{ext}", None),
}


@dataclass(frozen=True)
class Surface:
    """One place a local path goes in: a tool, its arguments with the path filled in, the parameter's name."""

    name: str
    tool: str
    param: str
    ext: str
    arguments: Callable[[Layout, str], dict[str, Any]]


SURFACES = (
    Surface("edit_image.image", "edit_image", "image", ".png", lambda lay, v: {"image": v, "prompt": "x"}),
    Surface(
        "edit_image.image[1]",
        "edit_image",
        "image[1]",
        ".png",
        lambda lay, v: {"image": [str(lay.root / "photo.png"), v], "prompt": "x", "model": "qwen-image-edit-plus"},
    ),
    Surface(
        "wanx_edit_image.base_image_url",
        "wanx_edit_image",
        "base_image_url",
        ".png",
        lambda lay, v: {"function": "colorization", "prompt": "x", "base_image_url": v},
    ),
    Surface(
        "wanx_edit_image.mask_image_url",
        "wanx_edit_image",
        "mask_image_url",
        ".png",
        lambda lay, v: {
            "function": "description_edit_with_mask",
            "prompt": "x",
            "base_image_url": str(lay.root / "photo.png"),
            "mask_image_url": v,
        },
    ),
    Surface("speech_to_text.audio", "speech_to_text", "audio", ".wav", lambda lay, v: {"audio": v}),
    Surface(
        "speech_to_text.audio[1]",
        "speech_to_text",
        "audio[1]",
        ".wav",
        lambda lay, v: {"audio": [str(lay.root / "speech.wav"), v]},
    ),
)


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def refusal_problems(
    client: Client, emulator: RunningEmulator, surface: Surface, layout: Layout, value: str, reason: str | None
) -> str | None:
    """What is wrong with how `surface` treated `value` (None when it was refused as it should be)."""
    with anyio.fail_after(CALL_TIMEOUT):
        result = await client.call_tool(surface.tool, surface.arguments(layout, value))
    text = texts(result)
    problems = []
    if not result.is_error:
        problems.append("accepted")
    if text.strip() == f"Error executing tool {surface.tool}":
        problems.append("crashed (the SDK's bare 'Error executing tool')")
    else:
        if f"{surface.param}=" not in text:
            problems.append(f"the error does not name {surface.param}")
        if NOTHING_SENT not in text:
            problems.append("the error does not say nothing was sent")
        if reason is not None and reason not in text:
            problems.append(f"the error does not say {reason!r}")
    if emulator.state.requests:
        problems.append(f"{len(emulator.state.requests)} request(s) reached the emulator")
        emulator.state.log.clear()
    return f"{', '.join(problems)} — {text[:160]!r}" if problems else None


async def refuse_all(
    cases: dict[str, tuple[Path_, str | None]],
    surface: Surface,
    layout: Layout,
    emulator: RunningEmulator,
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, input_roots=str(layout.root))
    problems = []
    async with serving(settings) as client:
        for case, (make_value, reason) in cases.items():
            problem = await refusal_problems(client, emulator, surface, layout, make_value(layout, surface.ext), reason)
            if problem:
                problems.append(f"{case}: {problem}")
    assert not problems, f"{len(problems)} of {len(cases)} paths were not refused cleanly:\n" + "\n".join(problems)


@pytest.mark.parametrize("surface", SURFACES, ids=[s.name for s in SURFACES])
async def test_every_way_out_of_the_root_is_refused_before_anything_is_sent(
    surface: Surface,
    layout: Layout,
    emulator: RunningEmulator,
    fast_services: None,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    await refuse_all(CASES, surface, layout, emulator, tmp_path)


ONE_PER_INPUT_KIND = [
    s for s in SURFACES if s.name in ("edit_image.image", "wanx_edit_image.mask_image_url", "speech_to_text.audio")
]


@pytest.mark.parametrize("surface", ONE_PER_INPUT_KIND, ids=[s.name for s in ONE_PER_INPUT_KIND])
async def test_a_name_the_os_cannot_look_up_is_a_clear_refusal_not_a_crash(
    surface: Surface,
    layout: Layout,
    emulator: RunningEmulator,
    fast_services: None,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A NUL byte (raw or %00 in a file: URI) or a name over NAME_MAX: `confine` lets the OS error out of
    Path.resolve / Path.is_file (ValueError, OSError ENAMETOOLONG) instead of refusing with an InputError."""
    await refuse_all(UNUSABLE_NAMES, surface, layout, emulator, tmp_path)


async def test_the_same_files_inside_the_root_are_accepted(
    layout: Layout, emulator: RunningEmulator, fast_services: None, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The control: the refusals above are about the paths, not about local files in general."""
    settings = make_settings(tmp_path, emulator.base_url, input_roots=str(layout.root), wait_seconds=10)
    good = {".png": str(layout.root / "sub" / "ok.png"), ".wav": str(layout.root / "sub" / "ok.wav")}
    async with serving(settings) as client:
        for surface in SURFACES:
            with anyio.fail_after(CALL_TIMEOUT):
                result = await client.call_tool(surface.tool, surface.arguments(layout, good[surface.ext]))
            assert not result.is_error, f"{surface.name}: {texts(result)[:300]}"
            assert any(r["path"].startswith("/__oss__/") for r in emulator.state.requests) or surface.param in (
                "image[1]",
                "audio[1]",
                "mask_image_url",
            )
    uploads = [r for r in emulator.state.requests if r["path"].startswith("/__oss__/")]
    assert uploads and all(r["status"] == 200 for r in uploads)


async def test_the_default_roots_are_used_only_when_none_are_configured(
    emulator: RunningEmulator, fast_services: None, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With BAILIAN_INPUT_ROOTS set, a file under the temp folder (a default root) is refused."""
    elsewhere = write_png(tmp_path / "elsewhere" / "photo.png")
    root = tmp_path / "only-here"
    root.mkdir()
    settings = make_settings(tmp_path, emulator.base_url, input_roots=str(root))
    async with serving(settings) as client:
        result = await client.call_tool("edit_image", {"image": str(elsewhere), "prompt": "x"})
    assert result.is_error and ROOTS in texts(result) and str(root) in texts(result)
    assert emulator.state.requests == []
