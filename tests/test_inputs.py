"""Local input files: which paths may be read (`confine`), and how images and audio inputs are checked."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

import pytest

from bailian_mcp.catalog import ImageEditModel, InputImageRule, WanxEditModel, resolve
from bailian_mcp.dashscope.uploads import file_sha256
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile, audio_input, confine, image_input
from tests.support.media import data_uri, png_bytes

QWEN_EDIT = resolve("edit_image", "qwen-image-edit")
WANX_EDIT = resolve("wanx_edit_image", "wanx2.1-imageedit")
assert isinstance(QWEN_EDIT, ImageEditModel) and isinstance(WANX_EDIT, WanxEditModel)
QWEN_RULE = QWEN_EDIT.input_images
WANX_RULE = WANX_EDIT.input_images


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def refusal(value: str, roots: list[Path], param: str = "image") -> InputError:
    with pytest.raises(InputError) as caught:
        confine(value, roots, param=param)
    return caught.value


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder.resolve()


# ---------------------------------------------------------------------- confine: what may be read


def test_confine_allows_an_absolute_file_inside_a_root(root: Path) -> None:
    file = write(root / "pics" / "cat.png")
    assert confine(str(file), [root], param="image") == file


def test_confine_accepts_a_file_uri_with_percent_escapes(root: Path) -> None:
    file = write(root / "my cat.png")
    uri = file.as_uri()
    assert "%20" in uri
    assert confine(uri, [root], param="image") == file


def test_confine_expands_a_tilde_to_the_home_folder(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(root))
    file = write(root / "pics" / "cat.png")
    assert confine("~/pics/cat.png", [root], param="image") == file


def test_confine_strips_surrounding_whitespace(root: Path) -> None:
    file = write(root / "cat.png")
    assert confine(f"  {file}\n", [root], param="image") == file


@pytest.mark.parametrize("value", ["cat.png", "pics/cat.png", "./cat.png", "../root/cat.png"])
def test_confine_refuses_a_relative_path(root: Path, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    write(root / "cat.png")
    monkeypatch.chdir(root)
    assert "absolute path" in str(refusal(value, [root]))


def test_confine_refuses_dot_dot_traversal_out_of_the_root(root: Path) -> None:
    write(root.parent / "outside" / "secret.png")
    error = refusal(f"{root}/../outside/secret.png", [root])
    assert "BAILIAN_INPUT_ROOTS" in str(error)


def test_confine_refuses_a_symlink_inside_the_root_that_points_outside(root: Path) -> None:
    target = write(root.parent / "outside" / "secret.png")
    (root / "link.png").symlink_to(target)
    assert "BAILIAN_INPUT_ROOTS" in str(refusal(str(root / "link.png"), [root]))


def test_confine_refuses_a_symlink_to_a_hidden_file(root: Path) -> None:
    target = write(root / ".secret.png")
    (root / "innocent.png").symlink_to(target)
    assert "hidden" in str(refusal(str(root / "innocent.png"), [root]))


def test_confine_refuses_a_symlinked_folder_leading_out_of_the_root(root: Path) -> None:
    write(root.parent / "outside" / "secret.png")
    (root / "door").symlink_to(root.parent / "outside")
    assert "BAILIAN_INPUT_ROOTS" in str(refusal(str(root / "door" / "secret.png"), [root]))


def test_confine_refuses_a_hidden_file_below_the_root(root: Path) -> None:
    file = write(root / "pics" / ".cat.png")
    assert "hidden" in str(refusal(str(file), [root]))


@pytest.mark.parametrize("folder", [".ssh", ".config/app", "pics/.thumbnails"])
def test_confine_refuses_a_file_in_a_hidden_folder_below_the_root(root: Path, folder: str) -> None:
    file = write(root / folder / "cat.png")
    assert "hidden" in str(refusal(str(file), [root]))


def test_confine_allows_files_under_a_root_that_itself_lies_in_a_hidden_folder(tmp_path: Path) -> None:
    root = tmp_path / "home" / ".local" / "share" / "bailian-mcp" / "outputs"
    file = write(root / "2025-07-12" / "job_1-0.png")
    assert confine(str(file), [root], param="image") == file.resolve()


@pytest.mark.parametrize("order", ["home first", "data folder first"])
def test_confine_allows_a_file_in_a_hidden_root_nested_inside_another_root(tmp_path: Path, order: str) -> None:
    # The default roots are home, the output folder (~/.local/share/bailian-mcp/outputs on Linux) and the temp
    # folder: a result saved in the output folder must be usable as the input of the next edit.
    home = (tmp_path / "home").resolve()
    outputs = home / ".local" / "share" / "bailian-mcp" / "outputs"
    file = write(outputs / "job_1-0.png")
    roots = [home, outputs] if order == "home first" else [outputs, home]
    assert confine(str(file), roots, param="image") == file


def test_confine_refuses_a_directory(root: Path) -> None:
    (root / "pics").mkdir()
    assert "no such file" in str(refusal(str(root / "pics"), [root]))


def test_confine_refuses_the_root_itself(root: Path) -> None:
    assert "BAILIAN_INPUT_ROOTS" in str(refusal(str(root), [root]))


def test_confine_refuses_a_missing_file(root: Path) -> None:
    assert "no such file" in str(refusal(str(root / "nope.png"), [root]))


@pytest.mark.parametrize(
    "value", ["C:\\Users\\me\\a.png", "c:/Users/me/a.png", "\\\\server\\share\\a.png", "D:\\a.png"]
)
@pytest.mark.skipif(os.name == "nt", reason="Windows paths are real paths on Windows")
def test_confine_refuses_windows_paths_on_posix_saying_so(root: Path, value: str) -> None:
    error = refusal(value, [root])
    assert "Windows path" in str(error)
    assert error.param == "image" and error.value == value


def test_confine_accepts_a_file_in_any_of_several_roots(tmp_path: Path) -> None:
    first, second = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    first.mkdir()
    file = write(second / "cat.png")
    assert confine(str(file), [first, second], param="image") == file


def test_confine_error_names_the_parameter_the_value_and_every_root(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    error = refusal("/nowhere/cat.png", [first, second], param="base_image_url")
    text = str(error)
    assert error.param == "base_image_url" and error.value == "/nowhere/cat.png"
    assert "base_image_url" in text and "'/nowhere/cat.png'" in text
    assert str(first.resolve()) in text and str(second.resolve()) in text
    assert "Nothing was sent" in text


def test_confine_without_roots_says_none_are_configured() -> None:
    assert "(none configured)" in str(refusal("/nowhere/cat.png", []))


# ---------------------------------------------------------------------- image_input: URLs and data URIs


def test_an_https_url_passes_through_with_chinese_characters_percent_encoded() -> None:
    image = image_input("https://example.com/图片/小猫.png?名字=猫&x=1", QWEN_RULE, [], param="image")
    assert image.reference == (
        "https://example.com/%E5%9B%BE%E7%89%87/%E5%B0%8F%E7%8C%AB.png?%E5%90%8D%E5%AD%97=%E7%8C%AB&x=1"
    )
    assert image.data is None


def test_an_ascii_url_is_sent_unchanged_and_existing_escapes_are_kept() -> None:
    url = "http://wanx.alicdn.com/material/20250318/expand_2.jpg?Expires=1&Signature=a%2Bb"
    assert image_input(url, WANX_RULE, [], param="base_image_url").reference == url


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(InputError, match="no host"):
        image_input("https:///cat.png", QWEN_RULE, [], param="image")


def test_an_oss_url_passes_through() -> None:
    url = "oss://dashscope-instant/52afe/2025-07-12/b744/cat.png"
    image = image_input(url, QWEN_RULE, [], param="image")
    assert image.reference == url and image.data is None


def test_a_blank_image_value_is_refused() -> None:
    with pytest.raises(InputError, match="give an image URL"):
        image_input("   ", QWEN_RULE, [], param="image")


def test_a_valid_png_data_uri_is_decoded_checked_and_kept_verbatim() -> None:
    data = png_bytes(400, 500)
    uri = data_uri(data)
    image = image_input(uri, QWEN_RULE, [], param="image")
    assert image.reference == uri
    assert image.data == data


def test_a_data_uri_with_bad_base64_is_refused() -> None:
    with pytest.raises(InputError, match="does not decode"):
        image_input("data:image/png;base64,abc", QWEN_RULE, [], param="image")


def test_a_data_uri_without_base64_is_refused_with_the_expected_shape() -> None:
    with pytest.raises(InputError, match=r"data:image/png;base64,<data>"):
        image_input("data:image/png,rawbytes", QWEN_RULE, [], param="image")


def test_a_data_uri_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(InputError, match="not an image") as caught:
        image_input(data_uri(b"hello, world" * 10), QWEN_RULE, [], param="image")
    assert "384 to 3072 pixels" in str(caught.value)


def test_a_gif_is_refused_when_the_rule_does_not_allow_it() -> None:
    gif = png_bytes(400, 400, kind="GIF")
    with pytest.raises(InputError, match="the image is GIF"):
        image_input(data_uri(gif, "image/gif"), QWEN_RULE, [], param="image")


def test_a_gif_is_accepted_by_a_rule_that_lists_it() -> None:
    rule = InputImageRule(384, 3072, formats=("PNG", "GIF"))
    gif = png_bytes(400, 400, kind="GIF")
    assert image_input(data_uri(gif, "image/gif"), rule, [], param="image").data == gif


@pytest.mark.parametrize(("width", "height"), [(383, 500), (500, 383), (3073, 500), (500, 3073)])
def test_a_data_uri_image_with_a_side_out_of_range_is_refused_naming_its_size(width: int, height: int) -> None:
    with pytest.raises(InputError) as caught:
        image_input(data_uri(png_bytes(width, height)), QWEN_RULE, [], param="image")
    assert f"the image is {width}×{height}" in str(caught.value)


def test_a_data_uri_over_the_byte_limit_is_refused_before_decoding_the_image() -> None:
    payload = b"\x89PNG" + b"\0" * QWEN_RULE.max_bytes
    with pytest.raises(InputError, match=r"10\.0 MB; allowed: .*at most 10 MB"):
        image_input(data_uri(payload), QWEN_RULE, [], param="image")


def test_an_image_exactly_at_the_byte_limit_is_accepted() -> None:
    data = png_bytes(400, 400)
    rule = InputImageRule(384, 3072, max_bytes=len(data))
    assert image_input(data_uri(data), rule, [], param="image").data == data
    with pytest.raises(InputError, match="MB; allowed"):
        image_input(data_uri(data), InputImageRule(384, 3072, max_bytes=len(data) - 1), [], param="image")


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height` pixels (a decompression bomb, as far as Pillow knows).

    Hand-built on purpose: tests/support/media makes real pictures, and a real 20000×20000 one is 400 megapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_an_image_claiming_hundreds_of_megapixels_is_refused_as_an_input_error() -> None:
    # 20000×20000 passes the byte limit (it is a few dozen bytes) but Pillow refuses to open it as a
    # decompression bomb; the caller must get the usual InputError naming the allowed sizes, not a crash.
    with pytest.raises(InputError) as caught:
        image_input(data_uri(_png_header_only(20000, 20000)), QWEN_RULE, [], param="image")
    assert "3072" in str(caught.value)


# ---------------------------------------------------------------------- image_input: local files


@pytest.mark.parametrize(
    ("name", "fmt", "mime"),
    [("cat.png", "PNG", "image/png"), ("cat.jpg", "JPEG", "image/jpeg"), ("cat.webp", "WEBP", "image/webp")],
)
def test_a_local_image_becomes_a_local_file_with_its_hash_size_and_type(
    root: Path, name: str, fmt: str, mime: str
) -> None:
    data = png_bytes(400, 420, kind=fmt)
    file = write(root / name, data)
    image = image_input(str(file), QWEN_RULE, [root], param="image")
    assert image.reference == LocalFile(
        path=file, sha256=hashlib.sha256(data).hexdigest(), size=len(data), mime_type=mime, param="image"
    )
    assert image.data == data
    assert str(image.reference) == file.as_uri()


def test_a_local_image_given_as_a_file_uri_is_read(root: Path) -> None:
    data = png_bytes(400, 400)
    file = write(root / "cat.png", data)
    image = image_input(file.as_uri(), QWEN_RULE, [root], param="image")
    assert isinstance(image.reference, LocalFile) and image.reference.path == file


def test_a_local_file_outside_the_roots_is_refused_before_it_is_read(root: Path, tmp_path: Path) -> None:
    file = write(tmp_path / "elsewhere.png", png_bytes(400, 400))
    with pytest.raises(InputError, match="BAILIAN_INPUT_ROOTS"):
        image_input(str(file), QWEN_RULE, [root], param="image")


def test_a_local_file_that_is_not_an_image_is_refused(root: Path) -> None:
    file = write(root / "cat.png", b"definitely not a png")
    with pytest.raises(InputError, match="not an image"):
        image_input(str(file), QWEN_RULE, [root], param="image")


def test_a_local_image_too_small_is_refused(root: Path) -> None:
    file = write(root / "tiny.png", png_bytes(64, 64))
    with pytest.raises(InputError, match="the image is 64×64"):
        image_input(str(file), QWEN_RULE, [root], param="image")


# ---------------------------------------------------------------------- image rules: exact boundaries


@pytest.mark.parametrize(
    ("rule", "low", "high"),
    [(QWEN_RULE, 384, 3072), (WANX_RULE, 512, 4096)],
    ids=["qwen-image-edit", "wanx2.1-imageedit"],
)
def test_the_catalog_rules_are_the_documented_ones(rule: InputImageRule, low: int, high: int) -> None:
    assert (rule.min_side, rule.max_side, rule.max_bytes) == (low, high, 10 * 1024 * 1024)
    assert set(rule.formats) == {"JPEG", "PNG", "BMP", "TIFF", "WEBP"}


@pytest.mark.parametrize(
    ("rule", "low", "high"),
    [(QWEN_RULE, 384, 3072), (WANX_RULE, 512, 4096)],
    ids=["qwen-image-edit", "wanx2.1-imageedit"],
)
def test_exact_side_boundaries_are_allowed(root: Path, rule: InputImageRule, low: int, high: int) -> None:
    for width, height in [(low, low), (high, low), (low, high)]:
        file = write(root / f"{width}x{height}.png", png_bytes(width, height))
        assert image_input(str(file), rule, [root], param="image").data is not None


@pytest.mark.parametrize(
    ("rule", "low", "high"),
    [(QWEN_RULE, 384, 3072), (WANX_RULE, 512, 4096)],
    ids=["qwen-image-edit", "wanx2.1-imageedit"],
)
def test_one_pixel_beyond_a_boundary_is_refused(root: Path, rule: InputImageRule, low: int, high: int) -> None:
    for width, height in [(low - 1, low), (low, low - 1), (high + 1, low), (low, high + 1)]:
        file = write(root / f"{width}x{height}.png", png_bytes(width, height))
        with pytest.raises(InputError) as caught:
            image_input(str(file), rule, [root], param="base_image_url")
        assert f"the image is {width}×{height}" in str(caught.value)
        assert f"{low} to {high} pixels per side" in str(caught.value)
        assert caught.value.param == "base_image_url"


# ---------------------------------------------------------------------- audio_input


def test_an_audio_url_passes_with_non_ascii_percent_encoded() -> None:
    assert audio_input("https://example.com/录音.wav", [], param="file_urls") == (
        "https://example.com/%E5%BD%95%E9%9F%B3.wav"
    )


def test_an_oss_audio_url_passes() -> None:
    assert audio_input("oss://dashscope-instant/x/a.wav", [], param="file_urls") == "oss://dashscope-instant/x/a.wav"


def test_an_audio_data_uri_is_refused_with_advice_to_use_a_file() -> None:
    with pytest.raises(InputError) as caught:
        audio_input("data:audio/wav;base64,UklGRg==", [], param="file_urls")
    assert "not data: URIs" in str(caught.value) and "save the audio to a file" in str(caught.value)


HEADS = {  # the first bytes of each container (what `looks_like` reads)
    ".wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    ".mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    ".m4a": b"\x00\x00\x00\x20ftypM4A ",
    ".flac": b"fLaC\x00\x00\x00\x22",
    ".ogg": b"OggS\x00\x02",
    ".mp4": b"\x00\x00\x00\x18ftypmp42",
}


@pytest.mark.parametrize("name", ["a.wav", "b.mp3", "c.m4a", "d.flac", "e.ogg", "f.mp4", "G.WAV"])
def test_a_local_audio_file_is_accepted_by_suffix_and_left_to_hash_when_uploaded(root: Path, name: str) -> None:
    data = HEADS[Path(name).suffix.lower()] + b" audio bytes of " + name.encode()
    file = write(root / name, data)
    result = audio_input(str(file), [root], param="file_urls")
    assert isinstance(result, LocalFile)
    assert result.path == file and result.size == len(data)
    assert result.sha256 is None and result.param == "file_urls"
    assert file_sha256(file) == hashlib.sha256(data).hexdigest()
    assert result.mime_type.startswith(("audio/", "video/"))


@pytest.mark.parametrize("name", ["notes.wav", "notes.mp3", "notes.m4a", "notes.ogg"])
def test_a_file_whose_content_is_not_what_its_suffix_says_is_refused_before_upload(root: Path, name: str) -> None:
    file = write(root / name, b"Dear diary, today I renamed a text file." * 10)
    with pytest.raises(InputError, match="its content is not"):
        audio_input(str(file), [root], param="file_urls")


def test_a_text_file_is_not_audio(root: Path) -> None:
    file = write(root / "notes.txt", b"hello")
    with pytest.raises(InputError, match=r"not an audio or video file.*\.wav"):
        audio_input(str(file), [root], param="file_urls")


def test_an_empty_audio_file_is_refused(root: Path) -> None:
    file = write(root / "silence.wav", b"")
    with pytest.raises(InputError, match="the file has 0 bytes"):
        audio_input(str(file), [root], param="file_urls")


def test_an_audio_file_outside_the_roots_is_refused(root: Path, tmp_path: Path) -> None:
    file = write(tmp_path / "a.wav", b"RIFF")
    with pytest.raises(InputError, match="BAILIAN_INPUT_ROOTS"):
        audio_input(str(file), [root], param="file_urls")
