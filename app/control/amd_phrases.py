"""What a transcript of the first seconds of an outbound call says: a voicemail greeting or a person.

A plain function over text, so the phrase lists are tested on their own. A machine's greeting names
itself ("leave a message", "after the tone", "not available"); a person answers briefly and asks back
("hello?", "yeah, this is Sam, who's calling?", "speaking").
"""

from __future__ import annotations

import re

from app.control.amd_verdict import Verdict

MACHINE_PHRASES = re.compile(
    r"\bleave (a|your|me a) (brief |short |quick )?(message|name|number)"
    r"|\bafter the (tone|beep|signal)"
    r"|\b(is )?(not|unavailable) (available|here)|\bunavailable\b"
    r"|\b(can ?not|can't|cant|cannot|unable to|not able to) (take|answer|come to|get to) (your|the|my|this)"
    r"|\bvoice ?mail|\bmail ?box"
    r"|\byou('ve| have)? reached\b|\breached the\b"
    r"|\bplease record|\brecord your (message|name)"
    r"|\bget back to you|\breturn your call|\bat the tone"
)
# A person's first words: a bare greeting, a yes, a question back, or naming themselves briefly.
HUMAN_PHRASES = re.compile(
    r"^(hello|hallo|hullo|hi|hey|yeah|yes|yep|yup|yo|speaking|what|huh|sorry|who|ok|okay|good (morning|afternoon|evening))\b"
    r"|\bwho('s| is) (this|calling|that|it)\b|\bwho are you\b|\bcan i help\b|\bhow can i help\b"
    r"|\bthis is [a-z]+( [a-z]+)?( speaking| here)?\s*$|\bdo you hear me\b|\bcan you hear me\b"
    r"|\bwhat are you talking about\b|\bwhat do you want\b"
)
MAX_HUMAN_WORDS = 8


def normalise(text: str) -> str:
    """Lower case, apostrophes kept, other punctuation to spaces, single spaces."""
    kept = "".join(c if c.isalnum() or c in "' " else " " for c in text.lower().replace("\u2019", "'"))
    return " ".join(kept.split())


def classify_transcript(text: str) -> Verdict:
    """MACHINE for a voicemail phrase, HUMAN for a typical short answer, otherwise UNKNOWN."""
    plain = normalise(text)
    if not plain:
        return Verdict.UNKNOWN
    if MACHINE_PHRASES.search(plain):
        return Verdict.MACHINE
    if len(plain.split()) <= MAX_HUMAN_WORDS and HUMAN_PHRASES.search(plain):
        return Verdict.HUMAN
    return Verdict.UNKNOWN
