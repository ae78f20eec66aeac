"""A local look-alike of the DashScope service, for offline runs and tests.

It implements the service's rules on its own (it imports nothing else from
``bailian_mcp``), answering with the real envelopes, statuses and task
lifecycle of ``shared/spec/dashscope-protocol.md``::

    from bailian_mcp.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(pending_seconds=0.1, running_seconds=0.2)) as emu:
        ...  # point a client at emu.base_url ("http://127.0.0.1:PORT/api/v1")
        emu.state.requests  # every request it received

Services (each module's docstring has its rules):

* `text2image` — ``POST /api/v1/services/aigc/text2image/image-synthesis`` (async wan ≤ 2.5, qwen-image(-plus))
* `textgen` — ``POST /api/v1/services/aigc/text-generation/generation`` (sync, SSE streaming)
* `image_edit` — ``POST /api/v1/services/aigc/multimodal-generation/generation`` (sync qwen-image-edit,
  -edit-plus, -edit-max, and qwen-image, -plus, -max; the models of `image_generation` are passed on)
* `image_generation` — ``POST /api/v1/services/aigc/image-generation/generation`` (async) and the
  synchronous multimodal answer for wan2.6-t2i, wan2.6-image (editing and interleaved text and
  pictures, streamed over SSE) and qwen-image-3.0
* `image2image` — ``POST /api/v1/services/aigc/image2image/image-synthesis`` (async wanx2.1-imageedit,
  wan2.5-i2i-preview)
* `video` — ``POST /api/v1/services/aigc/video-generation/video-synthesis`` (async, real MP4s: text-,
  image- and reference-to-video, wanx2.1 to wan2.7) and ``POST /api/v1/services/aigc/image2video/video-synthesis``
  (the keyframe models); the model tables are in `video_models`
* `transcription` — ``POST /api/v1/services/audio/asr/transcription`` (async Paraformer, Fun-ASR,
  qwen3-asr-flash-filetrans and qwen-audio-3.1-asr-flash-filetrans)
* `speech_http` — ``POST /api/v1/services/audio/tts/SpeechSynthesizer`` (sync CosyVoice v3-flash, v3-plus, v2,
  v3.5 and Qwen-Audio-TTS 3.0/3.1 flash; plain JSON or SSE with base64 audio; the audio itself is `speech`)
* `speech_qwen` — Qwen-TTS (qwen-tts, qwen3-tts-flash, qwen3-tts-instruct-flash) and `asr_qwen` —
  qwen3-asr-flash, both on the synchronous ``aigc/multimodal-generation/generation`` route of `image_edit`
* `tts` — WebSocket ``/api-ws/v1/inference`` (Sambert; the SDK's ``base_websocket_api_url`` is
  ``ws://HOST:PORT/api-ws/v1/inference``)
* `task_api` — ``/api/v1/tasks``, ``/api/v1/tasks/{id}`` (GET or POST), ``/api/v1/tasks/{id}/cancel``
* `uploads` — ``GET /api/v1/uploads?action=getPolicy``, the form upload ``POST /__oss__/upload``,
  then ``oss://`` keys; results are served by `results` at ``/results/...`` (signed URLs)

Emulator-only endpoints (no key): ``GET``/``DELETE /__emulator__/requests``,
``GET /__emulator__/health``, ``GET``/``PUT``/``DELETE /__emulator__/faults`` and
``GET``/``DELETE /__emulator__/faults/stats``.

Fault injection (`faults`): ``EmulatorConfig(faults=FaultPlan(seed=..., submit=EndpointFaults(...)))``
makes a seeded share of the requests of each endpoint class fail on purpose — latency, 429 bursts,
5xx, connection resets before and after the request is read, cut, garbled, slow and stalled replies,
failed, half-failed and stranded tasks, expired result URLs, WebSocket drops; ``state.faults``
and ``PUT /__emulator__/faults`` change the plan while it runs.

Test triggers, written into a prompt or text:

``[emulator:inspect]``
    400 ``DataInspectionFailed`` on every service that takes a prompt.
``[emulator:fail]`` / ``[emulator:partial]``
    An async image or video task ends FAILED (``InternalError.Algo``) / SUCCEEDS with its last
    picture failed (with a single picture: FAILED); a synchronous image call answers 500
    ``InternalError.Algo`` / without its last picture (with a single picture: the 500).
``[emulator:stream-error]``
    A streamed text generation fails midway with an ``InternalError`` event.
``[emulator:tts-drop]``
    A speech synthesis closes its WebSocket after the first audio frame.
"""

from .app import create_app
from .config import EmulatorConfig
from .faults import NO_FAULTS, EndpointFaults, FaultPlan, Latency
from .runner import RunningEmulator, serve, start_in_thread
from .state import EmulatorState

__all__ = [
    "NO_FAULTS",
    "EmulatorConfig",
    "EmulatorState",
    "EndpointFaults",
    "FaultPlan",
    "Latency",
    "RunningEmulator",
    "create_app",
    "serve",
    "start_in_thread",
]
