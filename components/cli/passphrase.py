"""Whether a passphrase opens a stack's secrets, offline, the way the Pulumi CLI checks it.

A passphrase stack's file holds `encryptionsalt: v1:<salt>:v1:<nonce>:<ciphertext>`: the string "pulumi"
encrypted with AES-256-GCM under a key of PBKDF2-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes)
(pulumi v3.274.1: pkg/secrets/passphrase/manager.go, sdk/go/common/resource/config/crypt.go). Checking it here
lets the preflight refuse a wrong passphrase in a second, with the fix, where the CLI fails later with a raw
"incorrect passphrase". AES-GCM comes from `cryptography` (README, "Dependencies"), not written by hand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ITERATIONS = 1_000_000
CHECK_TEXT = b"pulumi"


def opens(encryption_salt: str, passphrase: str) -> bool | None:
    """True when `passphrase` opens the salt's check message, False when it does not, None when the salt is not in
    the format above (a newer CLI's: let the CLI judge)."""
    parts = encryption_salt.split(":")
    if len(parts) != 5 or parts[0] != "v1" or parts[2] != "v1":
        return None
    try:
        salt, nonce, ciphertext = (base64.b64decode(p, validate=True) for p in (parts[1], parts[3], parts[4]))
    except (binascii.Error, ValueError):
        return None
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, ITERATIONS, 32)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, None) == CHECK_TEXT
    except (InvalidTag, ValueError):
        return False
