"""Text generation models (Qwen)."""

from __future__ import annotations

from bailian_mcp.catalog.spec import _TEXT_RATE, ModelSpec, TextModel, TokenPrice

MODELS: tuple[ModelSpec, ...] = (
    TextModel(
        name="qwen-turbo",
        capability="text_to_text",
        summary="Qwen Turbo: fastest and cheapest, for simple tasks (short answers, classification, extraction).",
        price=TokenPrice(0.3, 0.6),
        rate=_TEXT_RATE,
        typical_seconds=2,
    ),
    TextModel(
        name="qwen-plus",
        capability="text_to_text",
        summary="Qwen Plus: balanced quality, speed and price; good default.",
        default=True,
        price=TokenPrice(0.8, 2.0),
        rate=_TEXT_RATE,
        typical_seconds=4,
    ),
    TextModel(
        name="qwen-max",
        capability="text_to_text",
        summary="Qwen Max: strongest of the Qwen 2.5 line, for hard reasoning and careful writing (32k-token context).",
        price=TokenPrice(2.4, 9.6),
        rate=_TEXT_RATE,
        typical_seconds=6,
        context_tokens=32768,
    ),
    TextModel(
        name="qwen3-max",
        capability="text_to_text",
        summary="Qwen3 Max: newest flagship, best quality, most expensive; up to 65536 output tokens.",
        price=TokenPrice(6.0, 24.0),
        rate=_TEXT_RATE,
        typical_seconds=6,
        max_output_tokens=65536,
        context_tokens=262144,
    ),
    TextModel(
        name="qwen-long",
        capability="text_to_text",
        summary="Qwen Long: very long inputs (up to 10M tokens of context), cheap.",
        price=TokenPrice(0.5, 2.0),
        rate=_TEXT_RATE,
        typical_seconds=6,
        context_tokens=10_000_000,
    ),
)
