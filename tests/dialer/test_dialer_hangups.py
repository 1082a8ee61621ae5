"""Routing CHANNEL_HANGUP_COMPLETE events to the call that waits for them."""

from __future__ import annotations

from app.dialer.hangups import HangupWatch
from app.esl.protocol import Event

UUID = "0b5c6f1e-9f51-4a4e-8f3c-2f6b8b3c5d11"


def hangup(uuid: str, cause: str, *, answered: bool, gateway: str = "twilio") -> Event:
    return Event(
        {
            "Event-Name": "CHANNEL_HANGUP_COMPLETE",
            "Unique-ID": uuid,
            "Hangup-Cause": cause,
            "variable_answer_epoch": "1795792504" if answered else "0",
            "variable_billsec": "7" if answered else "0",
            "variable_sip_gateway_name": gateway,
        }
    )


def test_a_hangup_that_comes_first_is_kept_for_its_waiter() -> None:
    watch = HangupWatch()
    watch.feed(hangup(UUID, "NORMAL_CLEARING", answered=True))
    result = watch.expect(UUID)
    assert result.ready()
    ended = result.get()
    assert (ended.cause, ended.billsec, ended.gateway, ended.answered) == (
        "NORMAL_CLEARING",
        7,
        "twilio",
        True,
    )


def test_the_failed_primary_leg_does_not_end_an_answered_call() -> None:
    watch = HangupWatch()
    result = watch.expect(UUID, answered_only=True)
    watch.feed(hangup(UUID, "USER_BUSY", answered=False))
    assert not result.ready()
    watch.feed(hangup(UUID, "NORMAL_CLEARING", answered=True, gateway="vonage"))
    assert result.get(timeout=1).gateway == "vonage"


def test_other_events_and_unknown_channels_are_ignored() -> None:
    watch = HangupWatch(keep_unclaimed=1)
    result = watch.expect(UUID)
    watch.feed(Event({"Event-Name": "CHANNEL_ANSWER", "Unique-ID": UUID}))
    watch.feed(hangup("11111111-1111-4111-8111-111111111111", "NORMAL_CLEARING", answered=True))
    assert not result.ready()
