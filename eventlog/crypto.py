"""AES-GCM for personal data: data keys sealing fields, a master key wrapping data keys.

Pure functions over bytes (no Django): `eventlog.personal` keeps the keys in a table
and decides what to seal. Every ciphertext carries a 96-bit random nonce and a 128-bit
GCM tag, and is bound by its associated data to where it belongs (the event, or the key
row), so a ciphertext copied elsewhere or changed by one bit is refused, never misread.
"""

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12


class Unreadable(Exception):
    """A ciphertext failed its GCM tag: tampered with, misplaced, or under another key."""


class BadMasterKey(ValueError):
    """ORDINAL_MASTER_KEY is not 32 bytes in base64."""


class MasterKey:
    """The key that wraps every data key; it never touches personal data itself."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise BadMasterKey(f"A master key is {KEY_BYTES} bytes, not {len(secret)}.")
        self._aead = AESGCM(secret)
        # Stored beside each wrapped key, so a wrong master key is named, not guessed at.
        self.id = hashlib.sha256(b"ordinal master key id\0" + secret).hexdigest()[:16]

    @classmethod
    def from_text(cls, text: str) -> "MasterKey":
        """Read a master key from its base64 text (standard or URL-safe alphabet)."""
        try:
            standard = text.strip().replace("-", "+").replace("_", "/")
            secret = base64.b64decode(standard, validate=True)
        except (binascii.Error, ValueError):
            raise BadMasterKey("A master key is base64 text (32 random bytes).") from None
        return cls(secret)

    def wrap(self, data_key: bytes, bound_to: bytes) -> bytes:
        """Return the data key encrypted under this master key: nonce + ciphertext + tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, bound_to)

    def unwrap(self, wrapped: bytes, bound_to: bytes) -> bytes:
        """Return the data key; raise Unreadable if this master key did not wrap it there."""
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], bound_to)
        except InvalidTag:
            raise Unreadable("The data key does not open with this master key.") from None


def new_key() -> bytes:
    """Return a fresh random AES-256 key (a data key, or a master key's bytes)."""
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def new_key_text() -> str:
    """Return a fresh master key as the base64 text ORDINAL_MASTER_KEY takes."""
    return base64.b64encode(new_key()).decode()


def seal(key: bytes, plaintext: bytes, bound_to: bytes) -> tuple[bytes, bytes]:
    """Encrypt under a data key; return (nonce, ciphertext with its tag)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, bound_to)


def unseal(key: bytes, nonce: bytes, ciphertext: bytes, bound_to: bytes) -> bytes:
    """Decrypt what `seal` made; raise Unreadable if any of it was changed or moved."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, bound_to)
    except InvalidTag:
        raise Unreadable("The ciphertext failed its GCM tag: changed, moved or miskeyed.") from None
