"""OSS-style signatures: result URLs (``?Expires=<epoch s>&OSSAccessKeyId=emulator&Signature=<hmac>``)
and the upload policies of the form-upload flow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote, urlencode

ACCESS_KEY_ID = "emulator"


class UrlSigner:
    """Signs ``(object key, expiry)`` with a secret that lives as long as the emulator."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def mac(self, text: str) -> str:
        """Base64 HMAC-SHA1 of ``text``, as OSS signs (a form upload signs its base64 policy)."""
        digest = hmac.new(self._secret, text.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def signature(self, key: str, expires: int) -> str:
        return self.mac(f"GET\n{expires}\n/{key}")

    def verify(self, key: str, expires: int, signature: str) -> bool:
        return hmac.compare_digest(self.signature(key, expires), signature)

    def url(self, root: str, key: str, expires: int) -> str:
        query = urlencode(
            {"Expires": expires, "OSSAccessKeyId": ACCESS_KEY_ID, "Signature": self.signature(key, expires)}
        )
        return f"{root}/{quote(key)}?{query}"
