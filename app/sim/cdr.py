"""The CDR variables FreeSWITCH sets when a channel reaches CS_REPORTING (start_stamp, billsec...)."""

from __future__ import annotations

import time

from app.sim.profile import CallerProfile

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def cdr_variables(profile: CallerProfile, end_us: int, last_app: str | None) -> dict[str, str | None]:
    """Variables of ``switch_channel_set_timestamps``, in FreeSWITCH's order (None: leave unset)."""
    start_us = profile.created_us
    answer_us = profile.answered_us
    marks = (
        ("start", start_us),
        ("profile_start", start_us),
        ("answer", answer_us),
        ("progress", profile.progress_us),
        ("progress_media", profile.progress_media_us),
        ("end", end_us),
    )
    values: dict[str, str | None] = {}
    for name, stamp in marks:
        if stamp:
            values[f"{name}_stamp"] = time.strftime(STAMP_FORMAT, time.localtime(stamp / 1e6))
    for name, stamp in marks:
        values[f"{name}_epoch"] = str(stamp // 1_000_000)
        values[f"{name}_uepoch"] = str(stamp)
    values["last_app"] = last_app
    values["caller_id"] = f'"{profile.caller_id_name}" <{profile.caller_id_number}>'
    duration_us = end_us - start_us
    bill_us = end_us - answer_us if answer_us else 0
    answer_wait_us = answer_us - start_us if answer_us else 0
    progress_us = profile.progress_us - start_us if profile.progress_us else 0
    media_us = profile.progress_media_us - start_us if profile.progress_media_us else 0
    for suffix, divisor in (("sec", 1_000_000), ("msec", 1_000), ("usec", 1)):
        values["duration" if suffix == "sec" else f"{suffix[0]}duration"] = str(duration_us // divisor)
        values[f"bill{suffix}"] = str(bill_us // divisor)
        values[f"progress{suffix}"] = str(progress_us // divisor)
        values[f"answer{suffix}"] = str(answer_wait_us // divisor)
        values[f"wait{suffix}"] = "0"
        values[f"progress_media{suffix}"] = str(media_us // divisor)
        values[f"flow_bill{suffix}"] = str(duration_us // divisor)
    return values
