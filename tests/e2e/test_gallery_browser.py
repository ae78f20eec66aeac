"""The gallery (an MCP App) in a real browser: headless Chromium (Debian's package) driven by Selenium renders the
view in a sandboxed iframe of a test host page (`tests/support/apps_host.html`, the host's half of the postMessage
bridge, under the CSP the spec prescribes); this test relays the view's requests to the real server through an MCP
client that advertises the extension, as a host does. A screenshot is kept in test-artifacts/ (or
$BAILIAN_TEST_ARTIFACTS). Without Chromium and chromedriver the tests skip, except in CI (`.ci/run` installs them).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import CallToolResult

from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.server import build_server
from bailian_mcp.server.gallery import GALLERY_URI
from tests.support.emulators import QUICK_EMULATOR, api_requests

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HOST_PAGE = ROOT / "tests" / "support" / "apps_host.html"
ARTIFACTS = Path(os.environ.get("BAILIAN_TEST_ARTIFACTS") or ROOT / "test-artifacts")
STALLED = EmulatorConfig(pending_seconds=60.0, running_seconds=0.2)  # a task that stays PENDING: to cancel


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        missing = "Chromium and chromedriver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing} are needed: .ci/run installs them")
        pytest.skip(f"no {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=900,1400", "--mute-audio"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Host:
    """The test host: the page's half in the browser, the MCP half here (relaying the view's requests)."""

    def __init__(self, driver: Any, client: Client) -> None:
        self.driver, self.client = driver, client
        self.relayed: list[tuple[str, str]] = []  # (method, tool name or URI) of every request relayed
        self.app_visible: set[str] = set()

    async def load(self, *, theme: str = "light", width: int = 760) -> None:
        tools = (await self.client.list_tools()).tools
        self.app_visible = {
            t.name for t in tools if "app" in ((t.meta or {}).get("ui") or {}).get("visibility", ["app"])
        }
        read = await self.client.read_resource(GALLERY_URI)
        view = read.contents[0]
        assert view.mime_type == APP_MIME_TYPE
        domains = (view.meta or {})["ui"]["csp"]["resourceDomains"]
        self.driver.get(HOST_PAGE.as_uri())
        self.driver.execute_script("hostLoad(...arguments)", getattr(view, "text", ""), domains, theme, width)
        await self.until("return window.hostInitialized", in_view=False)

    def send(self, message: dict[str, Any]) -> None:
        self.driver.execute_script("hostSend(arguments[0])", message)

    def show(self, arguments: dict[str, Any], result: CallToolResult) -> None:
        """What a host does with a call bound to the view: its arguments, then its result."""
        self.send({"jsonrpc": "2.0", "method": "ui/notifications/tool-input", "params": {"arguments": arguments}})
        dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        self.send({"jsonrpc": "2.0", "method": "ui/notifications/tool-result", "params": dumped})

    async def relay(self, message: dict[str, Any]) -> None:
        params = message.get("params") or {}
        try:
            if message["method"] == "tools/call":
                self.relayed.append(("tools/call", params["name"]))
                if params["name"] not in self.app_visible:
                    raise MCPError(-32000, f"{params['name']} is not visible to apps")
                answer: Any = await self.client.call_tool(params["name"], params.get("arguments") or {})
            else:
                self.relayed.append(("resources/read", params["uri"]))
                answer = await self.client.read_resource(params["uri"])
            reply = {"result": answer.model_dump(mode="json", by_alias=True, exclude_none=True)}
        except MCPError as exc:
            reply = {"error": {"code": exc.error.code, "message": exc.error.message}}
        self.send({"jsonrpc": "2.0", "id": message["id"], **reply})

    async def pump(self, group: anyio.abc.TaskGroup) -> None:
        """Relay the view's requests as they come (each on its own: a long wait must not hold up the others)."""
        while True:
            for message in self.driver.execute_script("return (window.hostOutbox || []).splice(0)"):
                group.start_soon(self.relay, message)
            await anyio.sleep(0.03)

    def in_view(self, script: str, *args: Any) -> Any:
        frame = self.driver.find_element("tag name", "iframe")
        self.driver.switch_to.frame(frame)
        try:
            return self.driver.execute_script(script, *args)
        finally:
            self.driver.switch_to.default_content()

    async def until(self, script: str, *, in_view: bool = True, seconds: float = 20.0) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.in_view(script) if in_view else self.driver.execute_script(script)
            if value:
                return value
            await anyio.sleep(0.05)
        raise AssertionError(f"not within {seconds} s: {script}")


@pytest.fixture
async def host(browser: Any, server_settings: Settings) -> AsyncIterator[Host]:
    ui = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with Client(build_server(server_settings), extensions=[ui]) as client:
        yield Host(browser, client)


IMAGES_SHOWN = """
const images = [...document.querySelectorAll('article[data-status="SUCCEEDED"] img[data-index]')];
return images.length === 2 && images.every((image) => image.complete && image.naturalWidth > 0);"""
VIDEO_PLAYABLE = """
const video = document.querySelector('article[data-status="SUCCEEDED"] video');
return video && video.readyState >= 1 && video.duration > 0 ? video.duration : 0;"""


@pytest.mark.parametrize("emulator_config", [QUICK_EMULATOR])
async def test_images_and_a_clip_render_in_the_view_and_it_follows_the_host(
    host: Host, emulator: RunningEmulator, emulator_config: EmulatorConfig
) -> None:
    images = {"prompt": "a lighthouse at dusk", "n": 2, "size": "512*512"}
    clip = {"prompt": "waves", "model": "wanx2.1-t2v-turbo", "resolution": "480P", "wait_seconds": 30}
    made = await host.client.call_tool("text_to_image", images)
    filmed = await host.client.call_tool("text_to_video", clip)
    assert not made.is_error and not filmed.is_error
    async with anyio.create_task_group() as group:
        group.start_soon(host.pump, group)
        await host.load(theme="dark")
        host.show(images, made)
        host.show(clip, filmed)
        await host.until(IMAGES_SHOWN)
        duration = await host.until(VIDEO_PLAYABLE)
        await host.until("return document.documentElement.scrollHeight <= window.innerHeight")
        await anyio.sleep(0.3)  # the frame's last resize painted
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        host.driver.save_screenshot(str(ARTIFACTS / "gallery.png"))
        background = host.in_view("return getComputedStyle(document.body).backgroundColor")
        cost = host.in_view("return document.querySelector('article .cost').textContent")
        group.cancel_scope.cancel()
    assert duration == pytest.approx(5.0, abs=0.1), "the clip's own length"
    assert background == "rgb(24, 24, 27)", "the host's dark theme"
    assert "CNY" in cost
    assert sum(1 for method, _ in host.relayed if method == "resources/read") == 3, "2 images and the clip"
    assert (ARTIFACTS / "gallery.png").stat().st_size > 10_000


@pytest.mark.parametrize("emulator_config", [STALLED])
async def test_a_running_job_is_followed_and_cancelled_from_the_view_at_phone_width(
    host: Host, emulator: RunningEmulator, emulator_config: EmulatorConfig
) -> None:
    arguments = {"prompt": "a slow one", "wait_seconds": 0}
    handle = await host.client.call_tool("text_to_image", arguments)
    assert handle.structured_content is not None and handle.structured_content["done"] is False
    async with anyio.create_task_group() as group:
        group.start_soon(host.pump, group)
        await host.load(width=360)
        host.show(arguments, handle)
        await host.until("return document.querySelector('article button[data-action=\"cancel\"]')")
        host.in_view("document.querySelector('article button[data-action=\"cancel\"]').click()")
        await host.until("return document.querySelector('article[data-status=\"CANCELED\"]')")
        overflow = host.in_view("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        group.cancel_scope.cancel()
    tools = [name for method, name in host.relayed if method == "tools/call"]
    assert "gallery_refresh" in tools and "gallery_cancel" in tools, tools
    assert api_requests(emulator, "POST", "cancel"), "the cancel reached DashScope"
    assert overflow <= 0, "nothing wider than a phone"
