"""Signed, versioned callback data: the one codec every button goes through."""

from __future__ import annotations

import secrets

from core.utils.validators import CallbackData, ValidationResult, Validators
from services.ports import SettingsRepository

__all__ = ["CallbackCodec"]

_SECRET_KEY = "callback_secret"  # noqa: S105 - the settings key, not a secret value


class CallbackCodec:
    """Encodes buttons with an HMAC whose key lives in the database, so buttons keep working
    after a restart and cannot be forged."""

    def __init__(self, settings: SettingsRepository) -> None:
        self._settings = settings
        self._secret: bytes | None = None

    async def load(self) -> None:
        value = await self._settings.get_or_create(_SECRET_KEY, lambda: secrets.token_hex(32))
        self._secret = str(value).encode()

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            raise RuntimeError("CallbackCodec.load() has not been awaited")
        return self._secret

    def encode(self, action: str, *fields: str | int) -> str:
        return Validators.encode_callback(action, *fields, secret=self.secret)

    def decode(self, data: str | bytes | None) -> ValidationResult[CallbackData]:
        return Validators.callback_data(data, secret=self.secret)
