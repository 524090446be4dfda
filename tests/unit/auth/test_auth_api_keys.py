"""API-key minting, hashing and display prefixes (no I/O)."""

from __future__ import annotations

import hashlib
import re

from assay.engine.auth import (
    display_prefix,
    generate_api_key,
    hash_api_key,
    is_api_key_shaped,
)


def test_generated_key_has_the_original_shape() -> None:
    plaintext, key_hash, prefix = generate_api_key()
    assert re.fullmatch(r"assay_[0-9a-f]{64}", plaintext)
    assert key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", key_hash)
    assert prefix == plaintext[:14] + "..."
    assert prefix.startswith("assay_") and len(prefix) == len("assay_") + 8 + 3


def test_keys_are_unique_and_hash_never_contains_plaintext() -> None:
    keys = {generate_api_key()[0] for _ in range(200)}
    assert len(keys) == 200
    plaintext, key_hash, _ = generate_api_key()
    assert plaintext[6:] not in key_hash


def test_hash_is_deterministic_and_known_vector() -> None:
    key = "assay_" + "0" * 64
    assert hash_api_key(key) == hash_api_key(key)
    assert hash_api_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert display_prefix(key) == "assay_00000000..."


def test_api_key_shape() -> None:
    assert is_api_key_shaped("assay_" + "a" * 64)
    assert not is_api_key_shaped("assay_" + "A" * 64)  # original keys are lowercase hex
    assert not is_api_key_shaped("assay_" + "a" * 63)
    assert not is_api_key_shaped("assay_" + "a" * 64 + "\n")
    assert not is_api_key_shaped("token_" + "a" * 64)
    assert not is_api_key_shaped("")
