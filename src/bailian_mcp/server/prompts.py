"""Prompts that help people start work: each turns a few arguments into the steps an agent takes with the tools.

    poster               a poster or sign with Chinese (or any) text in it: text_to_image on a Qwen-Image model
    storyboard_to_clip   a storyboard made into keyframes (text_to_image), then a clip (image_to_video)
    transcribe_and_summarise   a recording transcribed (speech_to_text), then summarised (text_to_text)
    narrate              a text read aloud (text_to_speech) in a chosen voice

Their arguments complete (model names, voices, languages) from the catalogue, as do the `job_id` of the job output
resources and the tool of the help resource (`completion/complete`). A prompt asked for by an unknown name, or
without a required argument, is a JSON-RPC invalid-params error naming what is wrong.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)
from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.catalog import ImageModel, SpeechModel, TranscriptionModel, VideoModel
from bailian_mcp.jobs.services import Services

MAX_COMPLETIONS = 100  # the spec's cap on the values of one completion


def _models(capability: str, test: Callable[[catalog.ModelSpec], bool] = lambda model: True) -> list[str]:
    return [model.name for model in catalog.models_for(capability) if test(model)]


def _text_models(model: catalog.ModelSpec) -> bool:
    """Image models that draw text well: the Qwen-Image family."""
    return isinstance(model, ImageModel) and model.name.startswith("qwen-image")


def _keyframe_models(model: catalog.ModelSpec) -> bool:
    return isinstance(model, VideoModel) and model.last_frame


def poster(
    text: Annotated[str, Field(description="The words the poster shows, exactly (Chinese or any language).")],
    subject: Annotated[str, Field(description="What the poster is about, e.g. a shop opening.")] = "",
    style: Annotated[str, Field(description="The look, e.g. red and gold, paper-cut.")] = "",
    model: Annotated[str, Field(description="A Qwen-Image model (they draw text best).")] = "qwen-image",
) -> str:
    """A poster or sign that shows `text` exactly (Chinese or any language)."""
    about = f" about {subject}" if subject else ""
    look = f" in the style: {style}" if style else ""
    return (
        f"Make a poster{about}{look} that shows this text exactly, legible and spelled as given: 「{text}」.\n"
        f"Call text_to_image with model={model}. Put the text in the prompt in quotation marks, say where it goes "
        "(a headline at the top, a line at the bottom) and describe the picture around it. Keep the size the "
        "model offers for posters (list_models shows them). Show me the saved file; if the text is wrong, try again "
        "with a shorter text or a plainer layout."
    )


def storyboard_to_clip(
    storyboard: Annotated[str, Field(description="What happens, shot by shot.")],
    shots: Annotated[str, Field(description="How many keyframes to make (2-6).")] = "2",
    video_model: Annotated[str, Field(description="An image-to-video model; keyframe models take a last frame.")] = (
        "wan2.2-kf2v-flash"
    ),
) -> str:
    """A storyboard turned into keyframes and then a clip that moves from one to the next."""
    return (
        f"Turn this storyboard into a short video:\n{storyboard}\n\n"
        f"1. Write {shots} keyframe descriptions from it (the same characters, setting and style in each).\n"
        "2. Make each keyframe with text_to_image (the same size for all, e.g. 1280*720, and the same seed).\n"
        f"3. Call image_to_video with model={video_model}: the first keyframe as image, the next as last_frame "
        "(models that take one), and a prompt for the motion between them. For more than two keyframes, make one "
        "clip per pair.\n"
        "Videos take minutes: if a call returns done=false, call get_task with its job_id until it is done, and "
        "never generate the same clip again."
    )


def transcribe_and_summarise(
    audio: Annotated[str, Field(description="The recording: a URL or a local path.")],
    language: Annotated[str, Field(description="A language code, e.g. zh or en (optional).")] = "",
    model: Annotated[str, Field(description="A speech_to_text model (optional; fun-asr by default).")] = "",
) -> str:
    """A recording transcribed with timestamps, then summarised."""
    hint = f" with language_hints=[{language!r}]" if language else ""
    chosen = f" and model={model}" if model else ""
    return (
        f"Transcribe the recording {audio} with speech_to_text{hint}{chosen}. Then summarise it with text_to_text: "
        "the main points, decisions and action items (who does what by when), quoting the timestamps of the "
        "sentences they come from. If the transcription returns done=false, call get_task with its job_id until it "
        "is done."
    )


def narrate(
    text: Annotated[str, Field(description="The text to read aloud.")],
    model: Annotated[str, Field(description="A text_to_speech model with voices of its own.")] = "cosyvoice-v3-flash",
    voice: Annotated[str, Field(description="One of the model's voices (optional).")] = "",
) -> str:
    """A text read aloud in a chosen voice."""
    chosen = f" and voice={voice}" if voice else " (its default voice, or one list_models lists for it)"
    return (
        f"Read this text aloud with text_to_speech, model={model}{chosen}, as WAV:\n{text}\n"
        "Long texts are spoken in pieces and joined into one file. Tell me where the file was saved and how long it is."
    )


PROMPTS: dict[str, Callable[..., str]] = {
    "poster": poster,
    "storyboard_to_clip": storyboard_to_clip,
    "transcribe_and_summarise": transcribe_and_summarise,
    "narrate": narrate,
}
TITLES = {
    "poster": "Poster with text",
    "storyboard_to_clip": "Storyboard to clip",
    "transcribe_and_summarise": "Transcribe and summarise",
    "narrate": "Narrate a text",
}


def _choices(prompt: str, argument: str, chosen: dict[str, str]) -> Sequence[str]:
    """The values an argument of a prompt takes, from the catalogue."""
    match (prompt, argument):
        case ("poster", "model"):
            return _models("text_to_image", _text_models)
        case ("storyboard_to_clip", "video_model"):
            return _models("image_to_video", _keyframe_models)
        case ("storyboard_to_clip", "shots"):
            return [str(count) for count in range(2, 7)]
        case ("transcribe_and_summarise", "model"):
            return _models("speech_to_text")
        case ("transcribe_and_summarise", "language"):
            return list(dict.fromkeys(code for m in catalog.models_for("speech_to_text") for code in _languages(m)))
        case ("narrate", "model"):
            return _models("text_to_speech", lambda model: isinstance(model, SpeechModel))
        case ("narrate", "voice"):
            model = _model_named(chosen.get("model") or "cosyvoice-v3-flash")
            return [voice.name for voice in model.voices] if isinstance(model, SpeechModel) else []
    return []


def _model_named(name: str) -> catalog.ModelSpec | None:
    try:
        return catalog.named(name)
    except KeyError:
        return None


def _languages(model: catalog.ModelSpec) -> tuple[str, ...]:
    return model.languages if isinstance(model, TranscriptionModel) and model.supports_language_hints else ()


def _completion(values: Sequence[str], typed: str) -> Completion:
    matching = [value for value in values if value.lower().startswith(typed.lower())]
    return Completion(values=matching[:MAX_COMPLETIONS], total=len(matching), has_more=len(matching) > MAX_COMPLETIONS)


def add_prompts(server: MCPServer[Services], services: Callable[[], Services | None]) -> None:
    """The prompts, and completions for their arguments and for the resource templates' job_id and tool name.
    `services`: the running server's services (a completion handler gets no request context)."""
    for name, function in PROMPTS.items():
        server.prompt(name=name, title=TITLES[name])(function)

    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        chosen = dict(context.arguments or {}) if context is not None else {}
        if isinstance(ref, PromptReference):
            return _completion(_choices(ref.name, argument.name, chosen), argument.value)
        if argument.name == "name" and ref.uri.startswith("bailian://help/"):
            return _completion(list(CAPABILITIES), argument.value)
        opened = services()
        if argument.name == "job_id" and opened is not None:
            jobs = await opened.store.list(limit=500, status="SUCCEEDED")
            return _completion([job.job_id for job in jobs if (job.result or {}).get("outputs")], argument.value)
        return None

    server.completion()(complete)  # type: ignore[no-untyped-call]  # the SDK's decorator is untyped


class PromptRequests:
    """Server middleware: `prompts/get` of an unknown prompt, or without a required argument, is invalid params
    (-32602) naming what is wrong, before the SDK turns it into an error without a code."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "prompts/get":
            _check(dict(ctx.params or {}))
        return await call_next(ctx)


def _check(params: dict[str, Any]) -> None:
    name = params.get("name")
    function = PROMPTS.get(str(name))
    if function is None:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt {name!r}; the prompts are {', '.join(PROMPTS)}.")
    given = params.get("arguments") or {}
    required = [
        argument
        for argument, default in _parameters(function).items()
        if default is _REQUIRED and not str(given.get(argument) or "").strip()
    ]
    if required:
        raise MCPError(code=INVALID_PARAMS, message=f"Prompt {name!r} needs the argument(s) {', '.join(required)}.")


_REQUIRED = object()


def _parameters(function: Callable[..., str]) -> dict[str, Any]:
    """A prompt function's arguments and their defaults (_REQUIRED for none)."""
    return {
        name: _REQUIRED if parameter.default is inspect.Parameter.empty else parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
    }
