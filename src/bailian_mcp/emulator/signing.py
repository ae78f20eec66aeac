"""OSS-style signed result URLs: ``?Expires=<epoch s>&OSSAccessKeyId=emulator&Signature=<hmac>``."""

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

    def signature(self, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"GET\n{expires}\n/{key}".encode(), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode()

    def verify(self, key: str, expires: int, signature: str) -> bool:
        return hmac.compare_digest(self.signature(key, expires), signature)

    def url(self, root: str, key: str, expires: int) -> str:
        query = urlencode(
            {"Expires": expires, "OSSAccessKeyId": ACCESS_KEY_ID, "Signature": self.signature(key, expires)}
        )
        return f"{root}/{quote(key)}?{query}"
