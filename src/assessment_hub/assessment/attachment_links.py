"""``GET /attachments/{sha256}?name=&expires=&signature=``: the signed, expiring links of
``kit/links.py``, for ATSs that take attachments as URLs (Teamtailor).

The signature (not an API key) is the authorization: a bad or expired link is a 403, a valid link to
bytes the hub does not have a 404. Bytes come from the attachment store with the content type stored
for them; they are served with ``Content-Security-Policy: sandbox`` and ``nosniff`` so a vendor's file
cannot run script on the hub's origin.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from assessment_hub.assessment.models import AttachmentRow
from assessment_hub.db.session import ReadSessionDep
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.kit.links import check_attachment_link

router = APIRouter()

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXPIRES = re.compile(r"[0-9]{1,12}")  # Unix seconds, ASCII digits only (int() refuses "²" and 5000 digits)


class LinkRefused(InputInvalid):
    status_code = 403
    title = "Forbidden"


@router.get("/attachments/{sha256}", include_in_schema=False)
def get_attachment(
    sha256: str, request: Request, session: ReadSessionDep, name: str = "", expires: str = "", signature: str = ""
) -> FileResponse:
    settings = request.app.state.settings
    if (
        not _EXPIRES.fullmatch(expires)
        or not signature
        or not check_attachment_link(settings, sha256, name, int(expires), signature)
    ):
        raise LinkRefused("This attachment link is not valid or has expired.")
    path = request.app.state.attachment_store.path_for(sha256) if _SHA256.match(sha256) else None
    rows = (
        session.execute(
            select(AttachmentRow.name, AttachmentRow.content_type).where(AttachmentRow.sha256 == sha256)
        ).all()
        if path
        else []
    )
    if path is None or not rows or not path.is_file():
        raise NotFound("No such attachment.")
    content_type = next((t for n, t in rows if n == name and t), None) or next((t for _, t in rows if t), None)
    return FileResponse(
        path,
        media_type=content_type or "application/octet-stream",
        filename=name or sha256,
        content_disposition_type="inline",
        headers={
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )
