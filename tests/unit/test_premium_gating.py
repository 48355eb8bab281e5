"""Premium gating, every cell of the access policy (admin > ban > link > file > global gate,
then force-subscribe): user tier x global mode x link override x file override x chat type x
subscribed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from core.models import BanRecord, User
from core.utils.errors import ErrorCode
from core.utils.guards import ChatKind, Decision, Gate, Guards, Reason, decide

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ADMIN_ID = 1
ADMINS = frozenset({ADMIN_ID})


def _user(user_id: int, *, banned: bool = False, premium_until: datetime | None = None) -> User:
    return User(
        id=user_id,
        first_name="u",
        username=None,
        joined_at=NOW,
        last_seen=NOW,
        banned=BanRecord("spam", ADMIN_ID, NOW) if banned else None,
        premium_until=premium_until,
    )


TIERS: dict[str, tuple[int, User | None]] = {
    "admin": (ADMIN_ID, _user(ADMIN_ID)),
    "banned admin id": (ADMIN_ID, _user(ADMIN_ID, banned=True)),
    "banned": (10, _user(10, banned=True, premium_until=NOW + timedelta(days=9))),
    "premium": (11, _user(11, premium_until=NOW + timedelta(seconds=1))),
    "expired premium": (12, _user(12, premium_until=NOW)),
    "free": (13, _user(13)),
}
OVERRIDES = [None, Gate.FREE, Gate.PREMIUM]


@dataclass(frozen=True)
class Expected:
    allowed: bool
    reason: Reason


def expected(
    tier: str,
    global_gate: Gate,
    link: Gate | None,
    file: Gate | None,
    subscribed: bool,
) -> Expected:
    """The policy as the issue states it, cell by cell: admin > ban > link override > file
    override > global mode, then force-subscribe."""
    gate = link if link is not None else file if file is not None else global_gate
    if tier in {"admin", "banned admin id"}:
        return Expected(allowed=True, reason=Reason.ADMIN)
    if tier == "banned":
        return Expected(allowed=False, reason=Reason.BANNED)
    if gate is Gate.PREMIUM and tier != "premium":
        return Expected(allowed=False, reason=Reason.PREMIUM_REQUIRED)
    if not subscribed:
        return Expected(allowed=False, reason=Reason.JOIN_FIRST)
    if gate is Gate.FREE:
        return Expected(allowed=True, reason=Reason.FREE_CONTENT)
    return Expected(allowed=True, reason=Reason.PREMIUM_USER)


CHANNELS = (-1001234567890,)
CELLS = list(
    itertools.product(
        TIERS, [Gate.FREE, Gate.PREMIUM], OVERRIDES, OVERRIDES, list(ChatKind), [True, False]
    )
)


def test_the_matrix_has_every_cell() -> None:
    assert len(CELLS) == 6 * 2 * 3 * 3 * 3 * 2


@pytest.mark.parametrize(("tier", "global_gate", "link", "file", "chat", "subscribed"), CELLS)
def test_access_matrix(  # noqa: PLR0917 - one argument per dimension of the matrix
    tier: str,
    global_gate: Gate,
    link: Gate | None,
    file: Gate | None,
    chat: ChatKind,
    subscribed: bool,
) -> None:
    user_id, user = TIERS[tier]
    decision = decide(
        user_id=user_id,
        user=user,
        admins=ADMINS,
        now=NOW,
        global_gate=global_gate,
        link_gate=link,
        file_gate=file,
        missing_channels=() if subscribed else CHANNELS,
        chat=chat,
    )
    want = expected(tier, global_gate, link, file, subscribed)
    assert (decision.allowed, decision.reason) == (want.allowed, want.reason)
    assert decision.silent == (not want.allowed and chat is ChatKind.GROUP)
    assert decision.channels == (CHANNELS if want.reason is Reason.JOIN_FIRST else ())
    response = decision.response(correlation_id="abcd0123")
    if want.allowed:
        assert response is None
    else:
        assert response is not None
        assert (
            response.code
            is {
                Reason.BANNED: ErrorCode.BANNED,
                Reason.PREMIUM_REQUIRED: ErrorCode.PREMIUM_REQUIRED,
                Reason.JOIN_FIRST: ErrorCode.SUBSCRIPTION_REQUIRED,
            }[want.reason]
        )
        assert response.to_telegram().endswith("<i>ref: abcd0123</i>")


def test_link_override_beats_file_override_beats_global() -> None:
    free_user_id, free_user = TIERS["free"]

    def run(link: Gate | None, file: Gate | None, global_gate: Gate) -> Decision:
        return decide(
            user_id=free_user_id,
            user=free_user,
            admins=ADMINS,
            now=NOW,
            global_gate=global_gate,
            link_gate=link,
            file_gate=file,
        )

    assert run(Gate.FREE, Gate.PREMIUM, Gate.PREMIUM).allowed
    assert not run(Gate.PREMIUM, Gate.FREE, Gate.FREE).allowed
    assert run(None, Gate.FREE, Gate.PREMIUM).allowed
    assert not run(None, None, Gate.PREMIUM).allowed


def test_unknown_users_are_free_users() -> None:
    decision = decide(user_id=99, user=None, admins=ADMINS, now=NOW, global_gate=Gate.PREMIUM)
    assert decision.reason is Reason.PREMIUM_REQUIRED


async def test_guards_look_up_users_and_use_the_injected_clock_and_gate() -> None:
    records = {uid: user for uid, user in TIERS.values() if user is not None}
    lookups: list[int] = []

    async def lookup(user_id: int) -> User | None:
        lookups.append(user_id)
        return records.get(user_id)

    clock_now = [NOW]
    guards = Guards(
        [ADMIN_ID], users=lookup, global_gate=lambda: Gate.PREMIUM, clock=lambda: clock_now[0]
    )
    assert (await guards.check(11)).allowed
    clock_now[0] = NOW + timedelta(seconds=1)  # premium ends exactly now
    assert (await guards.check(11)).reason is Reason.PREMIUM_REQUIRED
    assert (await guards.check(ADMIN_ID)).allowed
    assert lookups == [11, 11]  # admins need no lookup
