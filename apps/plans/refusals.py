"""Refused attempts on the audit trail, bounded so that a flood of them cannot grow it unchecked.

Every write refused with 401, 403, 409, 423 or 429 (the project's edge middleware reports them)
becomes one `refused` event: who (a username, or "anonymous" and the peer's address), the method,
path, status and the reason the answer gave. The trail is append-only, so the bound is on what
is written, counted from the trail itself (shared by every process): per minute, at most
`AUDIT_REFUSALS_PER_MINUTE` events for one source (a user, or an anonymous address), then one
`refused.throttled` event saying the rest of that source's minute goes unrecorded; and at most
`AUDIT_REFUSALS_PER_MINUTE_TOTAL` for everyone together, then one `refused.throttled` for all.
Refusals are nobody's team's: they are kept under team 0, which only FinOps and superusers read.
Requests racing one another may overshoot a bound by the number that run at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.plans.models import AuditEvent

NO_TEAM = 0  # refusals name a path, not a team; FinOps and superusers read them
ANONYMOUS = "anonymous"
MAX_PATH_CHARS, MAX_REASON_CHARS = 300, 500


def record_refusal(
    *,
    user: Any,
    address: str,
    method: str,
    path: str,
    status: int,
    reason: str,
    via: str,
    username_tried: str = "",
) -> AuditEvent | None:
    """Append a `refused` event (or the minute's `refused.throttled`); None once over a bound."""
    authenticated = user is not None and user.is_authenticated
    actor = user.get_username() if authenticated else ANONYMOUS
    window = timezone.now().replace(second=0, microsecond=0)
    this_minute = AuditEvent.objects.filter(action__startswith="refused", at__gte=window)
    detail = {"method": method, "path": path[:MAX_PATH_CHARS], "status": status}
    detail["address"] = address
    if username_tried:
        detail["username"] = username_tried[:150]
    everyone = this_minute.count()
    if everyone > settings.AUDIT_REFUSALS_PER_MINUTE_TOTAL:
        return None
    if everyone == settings.AUDIT_REFUSALS_PER_MINUTE_TOTAL:
        return _throttled(ANONYMOUS, via, "refusals from everyone", detail)
    source = this_minute.filter(actor=actor)
    if not authenticated:
        source = source.filter(detail__address=address)
    mine = source.count()
    if mine > settings.AUDIT_REFUSALS_PER_MINUTE:
        return None
    if mine == settings.AUDIT_REFUSALS_PER_MINUTE:
        return _throttled(actor, via, f"refusals from {actor} at {address}", detail)
    return AuditEvent.objects.create(
        actor=actor,
        via=via,
        action="refused",
        team_id=NO_TEAM,
        reason=f"{status}: {reason}"[:MAX_REASON_CHARS],
        detail=detail,
    )


def _throttled(actor: str, via: str, whose: str, detail: dict) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor,
        via=via,
        action="refused.throttled",
        team_id=NO_TEAM,
        reason=f"more {whose} this minute than the audit bound; the rest of the minute is not "
        "recorded one by one",
        detail=detail,
    )
