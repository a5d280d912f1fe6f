"""Identity (issue 3): device enrollment and challenge sign-in, users with argon2 passwords, role grants
with site scopes, sign-in with lockout, rate limits, the permission check of push, device revocation.

The permission matrix itself is data in `shared/permissions.py`; the tables are `auth.*` (migration 0005)."""

from fastapi import APIRouter

from hub.identity.challenge import router as _challenge
from hub.identity.enrollment import router as _enrollment
from hub.identity.signin import router as _signin
from hub.identity.verifiers import router as _verifiers

router = APIRouter()
for _r in (_enrollment, _challenge, _signin, _verifiers):
    router.include_router(_r)
