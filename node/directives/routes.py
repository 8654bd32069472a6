"""/api/v1/directives (filled in by the directives domain)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/directives", tags=["directives"])
