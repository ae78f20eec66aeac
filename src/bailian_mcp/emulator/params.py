"""Parameter checks shared by the services, each refusing with the service's 400 ``InvalidParameter``."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

from .envelope import invalid_parameter

SEED_MAX = 2147483647


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def flag(parameters: Mapping[str, Any], name: str, default: bool) -> bool:
    """A boolean parameter; anything but a JSON boolean is refused."""
    value = parameters.get(name, default)
    if not isinstance(value, bool):
        raise invalid_parameter(f"Parameter {name} must be a boolean, got {value!r}")
    return value


def seed(parameters: Mapping[str, Any], fallback: str) -> int:
    """``seed`` in [0, 2147483647]; without one, a seed derived from ``fallback`` (e.g. the prompt)."""
    value = parameters.get("seed")
    if value is None:
        return int(hashlib.sha256(fallback.encode()).hexdigest()[:8], 16) % (SEED_MAX + 1)
    if not is_int(value) or not 0 <= value <= SEED_MAX:
        raise invalid_parameter(f"Range of seed should be [0, {SEED_MAX}]")
    return int(value)


def number_in(
    parameters: Mapping[str, Any], name: str, default: float, low: float, high: float, *, integer: bool = False
) -> float:
    """A number in [low, high] (an integer if ``integer``): ``Range of {name} should be [low, high]``."""
    value = parameters.get(name, default)
    valid = is_int(value) if integer else is_number(value)
    if not valid or not low <= value <= high:
        bounds = f"[{int(low)}, {int(high)}]" if integer else f"[{float(low)}, {float(high)}]"
        raise invalid_parameter(f"Range of {name} should be {bounds}")
    return float(value)


def free_size(value: object, default: str, low: int, high: int) -> tuple[int, int]:
    """A ``"W*H"`` size with each side in [low, high]."""
    text = default if value is None else value
    match = re.fullmatch(r"(\d+)\*(\d+)", text) if isinstance(text, str) else None
    if match is None or not all(low <= int(side) <= high for side in match.groups()):
        raise invalid_parameter(
            f"The size is not match the allowed size: width and height must each be in "
            f"[{low}, {high}], e.g. '1024*1024', got {value!r}"
        )
    return int(match.group(1)), int(match.group(2))


def present(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters without explicit ``null``s: the 1.x SDK sends ``"n": null`` for an argument passed
    as ``None`` (``ImageGeneration``, ``MultiModalConversation``), and the service treats it as absent."""
    return {name: value for name, value in parameters.items() if value is not None}


def _ratio_text(max_ratio: int) -> str:
    return f"[1:{max_ratio}, {max_ratio}:1]"


def area_size(
    value: object,
    default: str,
    low: int,
    high: int,
    max_ratio: int | None = None,
    example: str = "",
    also: tuple[str, ...] = (),
) -> tuple[int, int]:
    """A ``"W*H"`` size whose total pixels are within [low*low, high*high] and, with ``max_ratio``,
    whose aspect ratio is within [1:max_ratio, max_ratio:1]; the sizes in ``also`` are accepted
    whatever their area (documented recommendations that fall just outside the documented range)."""
    text = default if value is None else value
    match = re.fullmatch(r"(\d+)\*(\d+)", text) if isinstance(text, str) else None
    if match is not None:
        width, height = int(match.group(1)), int(match.group(2))
        area_ok = width > 0 and height > 0 and low * low <= width * height <= high * high
        if text in also or (area_ok and (max_ratio is None or max(width, height) <= max_ratio * min(width, height))):
            return width, height
    ratio = "" if max_ratio is None else f" and the aspect ratio in {_ratio_text(max_ratio)}"
    raise invalid_parameter(
        f"The size is not match the allowed size: total pixels must be in [{low}*{low}, {high}*{high}]{ratio}, "
        f"e.g. '{example or default}', got {value!r}"
    )


def multiple_of_16(side: float) -> int:
    """The nearest multiple of 16 (at least 16); halves round to even, as ``1033*1032`` becomes ``1040*1024``."""
    return max(16, round(side / 16) * 16)


def fit_area(width: int, height: int, side: int, max_ratio: int | None = None) -> tuple[int, int]:
    """About ``side * side`` pixels with the aspect ratio of ``width*height`` (brought within
    [1:max_ratio, max_ratio:1]), each side a multiple of 16."""
    ratio = width / height
    if max_ratio is not None:
        ratio = min(max(ratio, 1 / max_ratio), max_ratio)
    out_width = side * math.sqrt(ratio)
    return multiple_of_16(out_width), multiple_of_16(side * side / out_width)


def listed_size(value: object, default: str, sizes: tuple[str, ...], also: tuple[str, ...] = ()) -> tuple[int, int]:
    """A ``"W*H"`` size from a fixed list (``also``: accepted spellings left out of the message)."""
    text = default if value is None else value
    if not isinstance(text, str) or text not in sizes + also:
        raise invalid_parameter(f"The size is not match the allowed size {list(sizes)}")
    width, height = text.split("*")
    return int(width), int(height)


def required_text(payload: Mapping[str, Any], name: str) -> str:
    """A non-blank string field, else ``Required parameter(name) missing or invalid, …``."""
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_parameter(f"Required parameter({name}) missing or invalid, please check the request parameters.")
    return value


def optional_text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_parameter(f"Parameter {name} must be a string, got {value!r}")
    return value
