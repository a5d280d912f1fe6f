"""argon2id password hashes. The hash is also the offline verifier the desktop caches, so its parameters
are chosen for a site-office PC (OWASP's minimum: 19 MiB, 2 passes); the PHC string carries them."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
MIN_PASSWORD_LENGTH = 8
# Verified when the username is unknown, so an unknown name costs as long as a wrong password.
_DUMMY = HASHER.hash("pitline-no-such-user")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if "\x00" in password:
        return "a password cannot contain a NUL character"
    return None


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password_async(stored: str | None, password: str) -> bool:
    """Off the event loop: an argon2 check takes tens of milliseconds of CPU."""
    return await asyncio.to_thread(verify_password, stored, password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
