"""PII envelope encryption, key loading and blind indexes."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from astroshield.security.keys import (
    KEY_BYTES,
    KeyMaterialError,
    KeyRing,
    PiiKeyConfig,
    decode_key,
    encode_key,
    generate_key,
    load_index_key,
    load_keyring,
    load_keyring_file,
    parse_keyring,
)
from astroshield.security.pii import (
    MAX_PLAINTEXT_BYTES,
    PiiDecryptionError,
    associated_data,
    blind_index,
    blind_index_matches,
    decrypt,
    encrypt,
    kek_version,
    max_token_length,
    needs_rewrap,
    normalize_phone,
    rewrap,
)

K1 = bytes(range(32))
K2 = bytes(range(32, 64))
INDEX_KEY = bytes(range(64, 96))
ROW = uuid.UUID("0190d6f2-8c4e-7a31-9b7e-3f2a1c0d4e5f")
AAD = associated_data("users", "email", ROW)
EMAIL = "Jane.Operator@example.org"


@pytest.fixture
def ring_k1() -> KeyRing:
    return KeyRing({"k1": K1}, active="k1")


@pytest.fixture
def ring_both() -> KeyRing:
    return KeyRing({"k1": K1, "k2": K2}, active="k2")


# --- the primitive ------------------------------------------------------------------------


# AES-256-GCM vectors from McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)",
# test cases 13, 14 and 16 (also in NIST's GCM validation material). They pin down that
# cryptography's AESGCM is the standard AES-256-GCM with 96-bit nonces and 128-bit tags.
@pytest.mark.parametrize(
    ("key", "nonce", "plaintext", "aad", "ciphertext", "tag"),
    [
        pytest.param(
            "00" * 32, "00" * 12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b", id="tc13"
        ),
        pytest.param(
            "00" * 32,
            "00" * 12,
            "00" * 16,
            "",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919",
            id="tc14",
        ),
        pytest.param(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
            id="tc16",
        ),
    ],
)
def test_aes256_gcm_known_answer(
    key: str, nonce: str, plaintext: str, aad: str, ciphertext: str, tag: str
) -> None:
    cipher = AESGCM(bytes.fromhex(key))
    sealed = cipher.encrypt(bytes.fromhex(nonce), bytes.fromhex(plaintext), bytes.fromhex(aad))
    assert sealed.hex() == ciphertext + tag
    opened = cipher.decrypt(bytes.fromhex(nonce), sealed, bytes.fromhex(aad))
    assert opened == bytes.fromhex(plaintext)


# --- round trip and format ---------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext", ["", EMAIL, "Ångström Ōkubo 宇宙 🚀", "+44 20 7946 0000", "x" * 5000]
)
def test_round_trip(plaintext: str, ring_both: KeyRing) -> None:
    token = encrypt(plaintext, aad=AAD, keyring=ring_both)
    assert decrypt(token, aad=AAD, keyring=ring_both) == plaintext


def test_token_format(ring_both: KeyRing) -> None:
    token = encrypt(EMAIL, aad=AAD, keyring=ring_both)
    assert token.isascii()
    version, kek, wrapped, nonce, ciphertext = token.split(".")
    assert (version, kek) == ("v1", "k2")
    assert len(ciphertext) == max_token_length(len(EMAIL)) - max_token_length(0) + 22
    assert len(wrapped) == 80  # base64url of 12-byte nonce + 32-byte DEK + 16-byte tag
    assert len(nonce) == 16  # base64url of 12 bytes
    assert "=" not in token
    assert len(token) <= max_token_length(len(EMAIL.encode()), kek_version_chars=2)
    assert kek_version(token) == "k2"


def test_fresh_dek_and_nonce_per_value(ring_both: KeyRing) -> None:
    tokens = {encrypt(EMAIL, aad=AAD, keyring=ring_both) for _ in range(20)}
    assert len(tokens) == 20
    parts = [t.split(".") for t in tokens]
    assert len({p[2] for p in parts}) == 20  # wrapped DEKs
    assert len({p[3] for p in parts}) == 20  # data nonces


def test_max_token_length_is_tight(ring_both: KeyRing) -> None:
    for size in (0, 1, 2, 3, 254):
        token = encrypt("a" * size, aad=AAD, keyring=ring_both)
        assert len(token) == max_token_length(size, kek_version_chars=2)


def test_oversized_plaintext_refused(ring_both: KeyRing) -> None:
    with pytest.raises(ValueError, match="longer than"):
        encrypt("x" * (MAX_PLAINTEXT_BYTES + 1), aad=AAD, keyring=ring_both)


def test_aad_must_be_nonempty_bytes(ring_both: KeyRing) -> None:
    with pytest.raises(ValueError, match="aad"):
        encrypt(EMAIL, aad=b"", keyring=ring_both)
    with pytest.raises(TypeError):
        encrypt(EMAIL, aad="users.email", keyring=ring_both)  # type: ignore[arg-type]
    token = encrypt(EMAIL, aad=AAD, keyring=ring_both)
    with pytest.raises(ValueError, match="aad"):
        decrypt(token, aad=b"", keyring=ring_both)


# --- tampering and misuse ----------------------------------------------------------------


def test_every_flipped_bit_fails(ring_both: KeyRing) -> None:
    token = encrypt("jane@example.org", aad=AAD, keyring=ring_both)
    raw = token.encode("ascii")
    # Every bit of every character: version, KEK id, separators, wrapped DEK, nonce,
    # ciphertext and tag. Bit 7 makes the token non-ASCII, which must fail too.
    for index in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[index] ^= 1 << bit
            tampered = flipped.decode("latin-1")
            with pytest.raises(PiiDecryptionError) as info:
                decrypt(tampered, aad=AAD, keyring=ring_both)
            assert "jane" not in str(info.value)


def test_last_character_padding_bits_are_not_malleable(ring_both: KeyRing) -> None:
    # 17 bytes of ciphertext+tag encode to 23 characters, the last carrying 4 unused bits;
    # a lax decoder would accept the altered character and decrypt the token.
    token = encrypt("x", aad=AAD, keyring=ring_both)
    head, last = token[:-1], token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for other in alphabet.replace(last, ""):
        with pytest.raises(PiiDecryptionError):
            decrypt(head + other, aad=AAD, keyring=ring_both)


@pytest.mark.parametrize(
    "moved_to",
    [
        associated_data("users", "email", uuid.UUID(int=ROW.int + 1)),
        associated_data("users", "phone", ROW),
        associated_data("operators", "email", ROW),
    ],
    ids=["other-row", "other-column", "other-table"],
)
def test_ciphertext_moved_elsewhere_fails(moved_to: bytes, ring_both: KeyRing) -> None:
    token = encrypt(EMAIL, aad=AAD, keyring=ring_both)
    with pytest.raises(PiiDecryptionError) as info:
        decrypt(token, aad=moved_to, keyring=ring_both)
    assert info.value.reason == "authentication_failed"


def test_spliced_wrapped_dek_fails(ring_both: KeyRing) -> None:
    # Same KEK, different rows: the wrapped DEK of one must not open the other's value.
    other_aad = associated_data("users", "email", uuid.uuid4())
    a = encrypt(EMAIL, aad=AAD, keyring=ring_both).split(".")
    b = encrypt(EMAIL, aad=other_aad, keyring=ring_both).split(".")
    spliced = ".".join([*a[:2], b[2], *a[3:]])
    with pytest.raises(PiiDecryptionError):
        decrypt(spliced, aad=AAD, keyring=ring_both)
    with pytest.raises(PiiDecryptionError):
        decrypt(spliced, aad=other_aad, keyring=ring_both)


def test_unknown_kek_version_fails(ring_both: KeyRing) -> None:
    token = encrypt(EMAIL, aad=AAD, keyring=ring_both)  # under k2
    only_k1 = KeyRing({"k1": K1}, active="k1")
    with pytest.raises(PiiDecryptionError, match="unknown key version 'k2'") as info:
        decrypt(token, aad=AAD, keyring=only_k1)
    assert info.value.reason == "unknown_key_version"


def test_relabelled_kek_version_fails(ring_both: KeyRing) -> None:
    # Changing the version label to another key in the ring fails: it is authenticated.
    same_key_twice = KeyRing({"k1": K1, "k9": K1}, active="k1")
    token = encrypt(EMAIL, aad=AAD, keyring=same_key_twice)
    relabelled = token.replace("v1.k1.", "v1.k9.", 1)
    with pytest.raises(PiiDecryptionError) as info:
        decrypt(relabelled, aad=AAD, keyring=same_key_twice)
    assert info.value.reason == "authentication_failed"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1",
        "v1.k1",
        "v1.k1.a.b",
        "v1.k1.a.b.c.d",
        "v2.k1.AAAA.AAAA.AAAA",
        "v1.k1.AAAA.AAAA.AAAA",  # parts too short
        "v1.k:1." + "A" * 80 + "." + "A" * 16 + "." + "A" * 22,
        "v1.k1." + "A" * 80 + "." + "A" * 16 + "." + "A" * 20,  # ciphertext < tag size
        "v1.k1." + "A" * 80 + "=." + "A" * 16 + "." + "A" * 22,  # padding
        "v1.k1." + "A" * 79 + "+." + "A" * 16 + "." + "A" * 22,  # standard alphabet
        "v1.k1." + "A" * 80 + "." + "A" * 16 + "." + "A" * 21,  # impossible length
        "v1.k1." + "A" * 80 + "." + "A" * 16 + "." + "A" * 22 + "\n",
        "v1.k1." + "A" * 80 + "." + "A" * 16 + "." + "A" * 10 + "é" * 12,
        "v1.k1." + "A" * 80 + "." + "A" * 16 + "." + "A" * 200_000,
    ],
)
def test_malformed_tokens(token: str, ring_both: KeyRing) -> None:
    with pytest.raises(PiiDecryptionError) as info:
        decrypt(token, aad=AAD, keyring=ring_both)
    assert info.value.reason == "malformed"


def test_non_string_token_is_malformed(ring_both: KeyRing) -> None:
    with pytest.raises(PiiDecryptionError):
        decrypt(None, aad=AAD, keyring=ring_both)  # type: ignore[arg-type]
    with pytest.raises(PiiDecryptionError):
        kek_version(b"v1.k1.x.y.z")  # type: ignore[arg-type]


def test_errors_carry_no_secrets(ring_both: KeyRing) -> None:
    token = encrypt(EMAIL, aad=AAD, keyring=ring_both)
    wrong = associated_data("users", "email", "other")
    with pytest.raises(PiiDecryptionError) as info:
        decrypt(token, aad=wrong, keyring=ring_both)
    text = f"{info.value!s} {info.value!r}"
    for secret in (EMAIL, encode_key(K1), encode_key(K2), K1.hex(), K2.hex()):
        assert secret not in text
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# --- rotation ----------------------------------------------------------------------------


def test_rotation_rewraps_only_the_dek() -> None:
    old_ring = KeyRing({"k1": K1}, active="k1")
    token = encrypt(EMAIL, aad=AAD, keyring=old_ring)
    rotating = KeyRing({"k1": K1, "k2": K2}, active="k2")
    assert needs_rewrap(token, rotating)

    rewrapped = rewrap(token, aad=AAD, keyring=rotating)

    assert kek_version(rewrapped) == "k2"
    assert not needs_rewrap(rewrapped, rotating)
    before, after = token.split("."), rewrapped.split(".")
    assert after[3:] == before[3:]  # data nonce and ciphertext untouched
    assert after[2] != before[2]  # DEK wrapped anew
    only_k2 = KeyRing({"k2": K2}, active="k2")
    assert decrypt(rewrapped, aad=AAD, keyring=only_k2) == EMAIL
    with pytest.raises(PiiDecryptionError) as info:
        decrypt(rewrapped, aad=AAD, keyring=old_ring)
    assert info.value.reason == "unknown_key_version"


def test_rewrap_to_explicit_version_and_idempotence(ring_both: KeyRing) -> None:
    token = encrypt(EMAIL, aad=AAD, keyring=ring_both)
    back = rewrap(token, aad=AAD, keyring=ring_both, to_version="k1")
    assert kek_version(back) == "k1"
    assert decrypt(back, aad=AAD, keyring=KeyRing({"k1": K1}, active="k1")) == EMAIL
    assert rewrap(token, aad=AAD, keyring=ring_both) == token  # already under the target


def test_rewrap_checks_aad_and_target(ring_both: KeyRing) -> None:
    token = encrypt(EMAIL, aad=AAD, keyring=KeyRing({"k1": K1}, active="k1"))
    with pytest.raises(PiiDecryptionError):
        rewrap(token, aad=associated_data("users", "phone", ROW), keyring=ring_both)
    with pytest.raises(ValueError, match="not in the key ring"):
        rewrap(token, aad=AAD, keyring=ring_both, to_version="k3")
    with pytest.raises(PiiDecryptionError):
        rewrap(token, aad=AAD, keyring=KeyRing({"k2": K2}, active="k2"))


# --- associated data ---------------------------------------------------------------------


def test_associated_data_is_unambiguous() -> None:
    assert associated_data("ab", "c", 1) != associated_data("a", "bc", 1)
    assert associated_data("users", "email", 1) != associated_data("users", "email", 11)
    assert associated_data("users", "email", 7) == associated_data("users", "email", "7")
    assert associated_data("users", "email", ROW) == associated_data("users", "email", str(ROW))


def test_associated_data_validation() -> None:
    with pytest.raises(TypeError):
        associated_data("users", "email", True)
    with pytest.raises(TypeError):
        associated_data("users", "email", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        associated_data("users", "", ROW)


# --- key material ------------------------------------------------------------------------


def spec(**keys: bytes) -> str:
    return ",".join(f"{name}:{encode_key(key)}" for name, key in keys.items())


def test_parse_keyring() -> None:
    ring = parse_keyring(f" {spec(k1=K1)} , k2:{encode_key(K2)}== ", active="k2")
    assert ring.active == "k2"
    assert ring.versions == ("k1", "k2")
    assert ring["k1"] == K1 and ring.active_key == K2


@pytest.mark.parametrize(
    ("text", "active", "message"),
    [
        ("", "k1", "empty"),
        (f"k1{encode_key(K1)}", "k1", "form 'id:base64url'"),
        (f"k1:{encode_key(K1[:16])}", "k1", "32 bytes"),
        (f"k1:{encode_key(K1 + b'x')}", "k1", "32 bytes"),
        ("k1:not*base64", "k1", "base64url"),
        (f"k1:{encode_key(K1)},k1:{encode_key(K2)}", "k1", "more than once"),
        (f"k.1:{encode_key(K1)}", "k.1", "invalid key version id"),
        (f"k1:{encode_key(K1)}", "k2", "not in the key ring"),
    ],
)
def test_parse_keyring_errors(text: str, active: str, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message) as info:
        parse_keyring(text, active=active)
    assert encode_key(K1) not in str(info.value)


def test_keyring_hides_and_keeps_keys() -> None:
    ring = KeyRing({"k1": K1, "k2": K2}, active="k2")
    assert repr(ring) == "KeyRing(active='k2', versions=('k1', 'k2'))"
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(ring)
    with pytest.raises(KeyMaterialError, match="32 bytes"):
        KeyRing({"k1": b"short"}, active="k1")
    with pytest.raises(KeyMaterialError, match="no keys"):
        KeyRing({}, active="k1")


def write_key_file(path: Path, mode: int, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    os.chmod(path, mode)
    return path


KEY_DOC = {"active": "k2", "keys": {"k1": encode_key(K1), "k2": encode_key(K2)}}


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_file_loads(tmp_path: Path, mode: int) -> None:
    ring = load_keyring_file(write_key_file(tmp_path / "pii-keys.json", mode, KEY_DOC))
    assert ring.active == "k2" and ring["k1"] == K1 and ring["k2"] == K2


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_key_file_group_or_world_access_refused(tmp_path: Path, mode: int) -> None:
    path = write_key_file(tmp_path / "pii-keys.json", mode, KEY_DOC)
    with pytest.raises(
        KeyMaterialError, match=r"must not be readable or writable by group"
    ) as info:
        load_keyring_file(path)
    assert f"{mode:04o}" in str(info.value) and "chmod 600" in str(info.value)
    assert encode_key(K1) not in str(info.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "JSON object"),
        ({"active": "k1", "keys": {}}, "non-empty"),
        ({"active": 1, "keys": {"k1": encode_key(K1)}}, "'active'"),
        ({"activ": "k1", "keys": {"k1": encode_key(K1)}}, "unexpected fields"),
        ({"active": "k1", "keys": {"k1": encode_key(K1[:31])}}, "32 bytes"),
        ({"active": "k1", "keys": {"k1": 5}}, "base64url string"),
        ({"active": "k3", "keys": {"k1": encode_key(K1)}}, "not in the key ring"),
    ],
)
def test_key_file_content_errors(tmp_path: Path, document: object, message: str) -> None:
    path = write_key_file(tmp_path / "keys.json", 0o600, document)
    with pytest.raises(KeyMaterialError, match=message):
        load_keyring_file(path)


def test_key_file_not_json_or_missing_or_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"active": "k1", "keys": {"k1": "' + encode_key(K1) + '"', encoding="utf-8")
    os.chmod(path, 0o600)
    with pytest.raises(KeyMaterialError, match="not valid UTF-8 JSON") as info:
        load_keyring_file(path)
    assert encode_key(K1) not in str(info.value)
    assert info.value.__suppress_context__  # the JSON error (holding the document) hidden
    with pytest.raises(KeyMaterialError, match="cannot open"):
        load_keyring_file(tmp_path / "absent.json")
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyMaterialError):
        load_keyring_file(directory)


class _Secret:
    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value


class _Settings:
    def __init__(self, pii_keys: _Secret | None = None, pii_active_key: str | None = None) -> None:
        self.pii_keys = pii_keys
        self.pii_active_key = pii_active_key
        self.pii_keys_file: Path | None = None
        self.pii_index_key: _Secret | None = None


def test_load_from_config(tmp_path: Path) -> None:
    inline = PiiKeyConfig(keys=_Secret(spec(k1=K1, k2=K2)), active_key="k1")
    assert load_keyring(inline).active == "k1"
    path = write_key_file(tmp_path / "keys.json", 0o600, KEY_DOC)
    assert load_keyring(PiiKeyConfig(keys_file=path)).active == "k2"
    settings = _Settings(pii_keys=_Secret(spec(k1=K1)), pii_active_key="k1")
    config = PiiKeyConfig.from_settings(settings)
    assert load_keyring(config).versions == ("k1",)
    assert encode_key(K1) not in repr(config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (PiiKeyConfig(), "no PII keys configured"),
        (PiiKeyConfig(keys=" "), "no PII keys configured"),
        (PiiKeyConfig(keys=spec(k1=K1)), "active key version is not"),
        (PiiKeyConfig(keys=spec(k1=K1), keys_file=Path("x.json")), "not both"),
        (PiiKeyConfig(keys_file=Path("x.json"), active_key="k1"), "'active' field"),
    ],
)
def test_load_from_config_errors(config: PiiKeyConfig, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message):
        load_keyring(config)


def test_index_key_must_differ_from_keks() -> None:
    ring = KeyRing({"k1": K1, "k2": K2}, active="k2")
    assert load_index_key(PiiKeyConfig(index_key=encode_key(INDEX_KEY)), keyring=ring) == INDEX_KEY
    with pytest.raises(KeyMaterialError, match="differ from the KEKs"):
        load_index_key(PiiKeyConfig(index_key=_Secret(encode_key(K1))), keyring=ring)
    with pytest.raises(KeyMaterialError, match="no PII blind-index key"):
        load_index_key(PiiKeyConfig())


def test_generated_keys_round_trip_through_encoding() -> None:
    key = generate_key()
    assert len(key) == KEY_BYTES and key != generate_key()
    assert decode_key(encode_key(key)) == key


# --- blind index -------------------------------------------------------------------------


def test_blind_index_normalises_email() -> None:
    expected = blind_index("jane.operator@example.org", key=INDEX_KEY)
    for variant in (EMAIL, "  JANE.OPERATOR@EXAMPLE.ORG\n", "\tjane.operator@Example.Org "):
        assert blind_index(variant, key=INDEX_KEY) == expected
    assert len(expected) == 64 and int(expected, 16) >= 0


def test_blind_index_known_answer() -> None:
    # Plain HMAC-SHA256 over the normalised UTF-8 value: reproducible by any HMAC library.
    value = "jane.operator@example.org"
    expected = hmac.new(INDEX_KEY, value.encode(), hashlib.sha256).hexdigest()
    assert blind_index(EMAIL, key=INDEX_KEY) == expected


def test_blind_index_separates_values_and_keys() -> None:
    assert blind_index("a@example.org", key=INDEX_KEY) != blind_index(
        "b@example.org", key=INDEX_KEY
    )
    assert blind_index(EMAIL, key=INDEX_KEY) != blind_index(EMAIL, key=K1)


def test_blind_index_key_and_value_checks() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        blind_index(EMAIL, key=b"short")
    with pytest.raises(ValueError, match="empty"):
        blind_index("   ", key=INDEX_KEY)


def test_blind_index_matches() -> None:
    stored = blind_index(EMAIL, key=INDEX_KEY)
    assert blind_index_matches(" jane.operator@EXAMPLE.org", stored, key=INDEX_KEY)
    assert not blind_index_matches("john@example.org", stored, key=INDEX_KEY)
    assert not blind_index_matches(EMAIL, "é" * 64, key=INDEX_KEY)


def test_phone_normalisation() -> None:
    index = blind_index("+44 20 7946 0000", key=INDEX_KEY, normalize=normalize_phone)
    for variant in ("+44 (20) 7946-0000", "+44.20.7946.0000", "＋４４２０７９４６００００"):
        assert blind_index(variant, key=INDEX_KEY, normalize=normalize_phone) == index
