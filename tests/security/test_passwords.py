"""argon2id password hashing and the ASVS 5.0 V6.2 password policy."""

from __future__ import annotations

import base64
import re

import pytest
from argon2 import PasswordHasher, Type
from argon2 import extract_parameters as argon2_parameters

from astroshield.security import passwords
from astroshield.security.passwords import (
    DEFAULT_PARAMETERS,
    MAX_PASSWORD_CHARS,
    Argon2idParameters,
    PasswordPolicy,
    PasswordProblem,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_dummy,
    verify_password,
)

PASSWORD = "orbital debris tracking 2026"
PHC = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<hash>[A-Za-z0-9+/]+)"
)


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_hash_is_argon2id_with_owasp_parameters(stored: str) -> None:
    match = PHC.fullmatch(stored)
    assert match is not None, stored
    # OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, parallelism 1.
    assert (int(match["m"]), int(match["t"]), int(match["p"])) == (19 * 1024, 2, 1)
    assert len(_b64(match["salt"])) == 16
    assert len(_b64(match["hash"])) == 32


def test_salt_is_random(stored: str) -> None:
    again = hash_password(PASSWORD)
    assert again != stored
    assert PHC.fullmatch(again)["salt"] != PHC.fullmatch(stored)["salt"]  # type: ignore[index]


def test_verify(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is True
    assert verify_password(stored, PASSWORD + "!") is False
    assert verify_password(stored, PASSWORD.upper()) is False  # no case folding (V6.2.8)
    assert verify_password(stored, f" {PASSWORD}") is False  # no trimming (V6.2.8)
    assert verify_password(stored, PASSWORD[:-1]) is False  # no truncation


def test_unicode_password_round_trip() -> None:
    secret = "Ĝravitacia 軌道 🛰️ passphrase"
    assert verify_password(hash_password(secret), secret)


@pytest.mark.parametrize(
    "bad_hash",
    ["", "x", "$argon2id$", "$argon2id$v=19$m=abc", "é" * 10, "$2b$12$" + "a" * 53],
)
def test_verify_never_raises_on_bad_hash(bad_hash: str) -> None:
    assert verify_password(bad_hash, PASSWORD) is False


def test_verify_rejects_empty_and_oversized_passwords(stored: str) -> None:
    assert verify_password(stored, "") is False
    assert verify_password(stored, "a" * (MAX_PASSWORD_CHARS + 1)) is False
    assert verify_password(stored, None) is False  # type: ignore[arg-type]


def test_hash_refuses_empty_and_oversized() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")
    with pytest.raises(ValueError, match="longer than"):
        hash_password("a" * (MAX_PASSWORD_CHARS + 1))


def test_needs_rehash(stored: str) -> None:
    assert needs_rehash(stored) is False
    stronger = Argon2idParameters(time_cost=3)
    assert needs_rehash(stored, params=stronger) is True
    assert needs_rehash(stored, params=Argon2idParameters(memory_kib=46 * 1024)) is True
    rehashed = hash_password(PASSWORD, params=stronger)
    assert needs_rehash(rehashed, params=stronger) is False
    assert needs_rehash(rehashed) is True
    # A hash made with stronger parameters still verifies: it carries its parameters.
    assert verify_password(rehashed, PASSWORD)


def test_needs_rehash_for_other_argon2_types_and_garbage() -> None:
    argon2i = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.I)
    legacy = argon2i.hash(PASSWORD)
    assert verify_password(legacy, PASSWORD)  # still accepted at login...
    assert needs_rehash(legacy) is True  # ...and replaced by argon2id right after
    assert needs_rehash("not a hash") is True


def test_dummy_verify_costs_a_real_verification() -> None:
    assert verify_dummy(PASSWORD) is False
    assert verify_dummy("") is False
    # Same algorithm and parameters as real hashes, hence the same verification cost.
    dummy = passwords._dummy_hash(DEFAULT_PARAMETERS)
    assert argon2_parameters(dummy) == argon2_parameters(hash_password(PASSWORD))


@pytest.mark.parametrize(("memory_mib", "time_cost"), [(46, 1), (19, 2), (12, 3), (9, 4), (7, 5)])
def test_owasp_configurations_accepted(memory_mib: int, time_cost: int) -> None:
    Argon2idParameters(time_cost=time_cost, memory_kib=memory_mib * 1024)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_cost": 1, "memory_kib": 19 * 1024},
        {"time_cost": 5, "memory_kib": 6 * 1024},
        {"time_cost": 0},
        {"parallelism": 0},
        {"hash_len": 8},
        {"salt_len": 8},
    ],
)
def test_weak_parameters_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"OWASP|at least"):
        Argon2idParameters(**kwargs)


# --- policy ------------------------------------------------------------------------------


def test_policy_length_bounds() -> None:
    assert check_password_policy("k" * 7 + "mqzvxr") == [PasswordProblem.TOO_SHORT]
    assert check_password_policy("glide path vortex") == []  # lowercase only: fine (V6.2.5)
    assert check_password_policy("x7" * 32) == []  # 64 characters allowed (V6.2.9)
    assert check_password_policy("x7" * 64) == []  # default max 128
    assert PasswordProblem.TOO_LONG in check_password_policy("x7" * 65)


def test_policy_counts_code_points() -> None:
    assert check_password_policy("🛰️🚀🌍🌕☄️🔭🪐✨🌌🌠🌑🌒🌓") == []  # 15 code points


def test_policy_mfa_minimum() -> None:
    mfa = PasswordPolicy(min_length=8)
    assert check_password_policy("vortex42", policy=mfa) == []
    assert check_password_policy("vortex4", policy=mfa) == [PasswordProblem.TOO_SHORT]


@pytest.mark.parametrize("common", ["password1234", "Password1234", "QWERTYUIOP", "iloveyou1"])
def test_policy_common_passwords(common: str) -> None:
    problems = check_password_policy(common, policy=PasswordPolicy(min_length=8))
    assert PasswordProblem.COMMON in problems


def test_policy_custom_denylist() -> None:
    denylist = frozenset({"space debris orbit"})
    assert check_password_policy("Space Debris Orbit", denylist=denylist) == [
        PasswordProblem.COMMON
    ]


def test_policy_context_words() -> None:
    email = "jane.smith@example.org"
    assert check_password_policy("JaneSmith-launch-day", context_words=[email]) == [
        PasswordProblem.CONTEXT_SPECIFIC
    ]
    assert check_password_policy("my astroshield login", context_words=[]) == [
        PasswordProblem.CONTEXT_SPECIFIC
    ]
    # Fragments under 4 characters ("org") are not held against the user.
    assert check_password_policy("organic tomato soup", context_words=[email]) == []


def test_policy_repetitive() -> None:
    assert check_password_policy("z" * 20) == [PasswordProblem.REPETITIVE]


def test_problems_have_codes_and_messages() -> None:
    for problem in PasswordProblem:
        assert problem.value == problem.name.lower()
        assert problem.message.endswith(".")


@pytest.mark.parametrize(
    ("min_length", "max_length", "message"),
    [(7, 128, "below 8"), (15, 63, "between 64"), (100, 90, "exceeds")],
)
def test_policy_configuration_floor(min_length: int, max_length: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PasswordPolicy(min_length=min_length, max_length=max_length)
