"""Phone numbers: parsing to E.164 with ``phonenumbers``, the callee's time zone, the do-not-call list."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import phonenumbers
from phonenumbers import timezone as phone_timezone

log = logging.getLogger(__name__)

# What a dial string may contain for a number: E.164 is "+" and 8 to 15 digits (ITU-T E.164 caps it at 15).
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_UNKNOWN_ZONE = "Etc/Unknown"
MAX_ZONES = 4


E164_HINT = "give it in E.164 form, e.g. +14155550123"

_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "there are no digits to read",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
}


class InvalidNumber(ValueError):
    """Not a valid, diallable phone number: ``str()`` is one sentence, ``reason`` the short why."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw.strip() or repr(raw)} is not a phone number: {reason}")
        self.raw, self.reason = raw, reason

    @property
    def with_hint(self) -> str:
        """The sentence with the E.164 hint, for a person typing a number."""
        return f"{self} ({E164_HINT})"


def is_e164(value: str) -> bool:
    """True when ``value`` is syntactically E.164 (``+`` then up to 15 digits, no leading zero)."""
    return bool(_E164.match(value))


def to_e164(raw: str, default_region: str) -> str:
    """Parse ``raw`` (any human format) and return it as E.164, or raise :class:`InvalidNumber`.

    A number without a country code is read in ``default_region``; the number must be *valid* for its
    region (not just the right length), so made-up area codes are refused.
    """
    return parse_number(raw, default_region)[0]


def parse_number(raw: str, default_region: str) -> tuple[str, str | None]:
    """:func:`to_e164` and the callee's time zone(s) (see :func:`time_zone_of`) from one parse."""
    text = raw.strip()
    if not text:
        raise InvalidNumber(raw, "empty")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(raw, _PARSE_REASONS.get(exc.error_type, "it cannot be read")) from None
    if not phonenumbers.is_valid_number(parsed):
        length = phonenumbers.is_possible_number_with_reason(parsed)
        raise InvalidNumber(raw, _LENGTH_REASONS.get(length, "no such number (its area code or range is not in use)"))
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not is_e164(e164):
        raise InvalidNumber(raw, f"{e164} is longer than E.164 allows")
    return e164, _zones(phone_timezone.time_zones_for_number(parsed))


def time_zone_of(e164: str) -> str | None:
    """The callee's IANA time zone(s) from the number, comma-joined when it spans several; None if unknown."""
    return _zones(phone_timezone.time_zones_for_number(phonenumbers.parse(e164, None)))


def _zones(found: tuple[str, ...]) -> str | None:
    known = sorted(str(zone) for zone in found if zone != _UNKNOWN_ZONE)
    # Toll-free and other non-geographic numbers list dozens of zones: as good as unknown.
    return ",".join(known) if 0 < len(known) <= MAX_ZONES else None


def read_do_not_call(lines: Iterable[str], default_region: str) -> frozenset[str]:
    """A do-not-call list: one number per line, ``#`` comments and blank lines ignored.

    Entries that do not parse are logged and skipped (a list that cannot be read at all raises OSError
    from the caller's open()).
    """
    numbers: set[str] = set()
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip().strip(",;")
        if not text:
            continue
        try:
            numbers.add(to_e164(text, default_region))
        except InvalidNumber as exc:
            log.warning("do-not-call list line %d skipped: %s", number, exc)
    return frozenset(numbers)


def load_do_not_call(path: Path | None, default_region: str) -> frozenset[str]:
    """Read the do-not-call file at ``path`` (an empty list when no file is configured)."""
    from app.dialer.text_files import read_text  # noqa: PLC0415 - only when a list is configured

    if path is None:
        return frozenset()
    return read_do_not_call(read_text(path).lines(), default_region)
