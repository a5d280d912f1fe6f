"""Request and response bodies of the identity endpoints (typed, so the OpenAPI document is complete)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=16, max_length=256, description="the one-time enrollment token")
    name: str = Field(min_length=1, max_length=200, description="a name people recognise, e.g. 'Pit 3 office PC'")
    kind: Literal["desktop", "edge"]
    public_key: str = Field(min_length=40, max_length=64, description="Ed25519 raw public key, base64")


class EnrollResponse(BaseModel):
    device_id: str
    tenant_id: str
    site_ids: list[str] | None = Field(description="null: every site of the tenant")
    hub_time: str


class ChallengeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str = Id
    tenant_id: str | None = Field(default=None, min_length=1, max_length=128)


class ChallengeResponse(BaseModel):
    nonce: str = Field(description="base64; sign these bytes (decoded) with the device key")
    expires_in: int


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str = Id
    nonce: str = Field(min_length=8, max_length=128)
    signature: str = Field(min_length=8, max_length=128, description="Ed25519 signature of the nonce bytes, base64")
    tenant_id: str | None = Field(default=None, min_length=1, max_length=128)


class TokenResponse(BaseModel):
    access_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)
    tenant_id: str | None = Field(default=None, min_length=1, max_length=128,
                                  description="needed only when the username exists in several tenants")


class SignInResponse(BaseModel):
    access_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"
    tenant_id: str
    username: str
    display_name: str
    roles: list[str]
    site_ids: list[str] | None = Field(description="null: every site of the tenant")


class Grant(BaseModel):
    role: str
    site_id: str | None = Field(description="null: tenant-wide")


class VerifierEntry(BaseModel):
    username: str
    display_name: str
    verifier: str = Field(description="argon2id PHC string")
    roles: list[str]
    site_ids: list[str] | None = Field(description="sites where the user holds a role; null: every site")
    grants: list[Grant]


class VerifiersResponse(BaseModel):
    users: list[VerifierEntry]
