"""/api/v1/ops: digests, repair and rebuild exchanges (filled in by the operator-tools domain)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/ops", tags=["operator tools"])
