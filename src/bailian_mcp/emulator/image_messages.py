"""The ``messages`` input of the image models on the multimodal protocol (protocol §5, 2026 lineup).

``input.messages`` holds exactly one ``user`` message whose ``content`` lists ``{"text": ...}`` and
``{"image": ...}`` items (extra keys such as ``"type"`` are allowed). The refusals are the ones the
service gives for qwen-image-edit, all 400 ``InvalidParameter``: ``No messages found in input``,
``messages length only support 1``, ``Role of the message must be user`` and ``lack of image or
text`` (content that is not a list of objects, an item that is neither text nor image, not exactly
one text, or a blank one). How many images a model takes is the caller's rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .envelope import invalid_parameter

LACK = "lack of image or text"


def user_content(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The content items of the one user message."""
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_parameter("No messages found in input")
    if len(messages) > 1:
        raise invalid_parameter("messages length only support 1")
    message = messages[0]
    if not isinstance(message, dict) or message.get("role") != "user":
        raise invalid_parameter("Role of the message must be user")
    items = message.get("content")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise invalid_parameter(LACK)
    return items


@dataclass(frozen=True)
class Content:
    """The one text and the image references (in order) of a message."""

    text: str
    images: list[object]


def split_content(items: list[dict[str, Any]]) -> Content:
    """Exactly one non-blank text, any number of images, nothing else."""
    texts = [item["text"] for item in items if "text" in item]
    images = [item["image"] for item in items if "image" in item]
    if len(texts) != 1 or len(texts) + len(images) != len(items):
        raise invalid_parameter(LACK)
    text = texts[0]
    if not isinstance(text, str) or not text.strip():
        raise invalid_parameter(LACK)
    return Content(text, images)
