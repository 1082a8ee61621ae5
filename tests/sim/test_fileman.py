"""``uuid_fileman`` on the stand-in: API replies, pause/resume/stop/seek/volume on a playback, live ESL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.sim.media import ChannelMedia
from app.sim.playback import FILE_READ_SAMPLES, Playback, process_fh
from app.sim.switch import FakeSwitch
from app.sim.wav import Int16Array, read_wav, write_wav
from tests.sim.esl_client import Controller, EslClient

PASSWORD = "s3cret"
RATE = 8000
FRAME = 160


class WriteTap:
    """A media bug that keeps every write frame (None while nothing plays)."""

    def __init__(self) -> None:
        self.writes: list[Int16Array | None] = []

    def on_media_frame(self, read: Int16Array, write: Int16Array | None) -> None:
        self.writes.append(None if write is None else write.copy())

    def on_media_close(self) -> None:
        pass


def ramp(count: int) -> Int16Array:
    """Distinct, nonzero, never -1 samples: each one tells where in the file it came from."""
    return (np.arange(count) % 30000 + 1).astype(np.int16)


def wav_of(path: Path, samples: Int16Array, rate: int = RATE) -> Path:
    write_wav(path, samples, rate)
    return path


@pytest.fixture
def media() -> ChannelMedia:
    return ChannelMedia(uuid="fm", rate=RATE, caller_audio=None, recording_path=None)


@pytest.fixture
def tap(media: ChannelMedia) -> WriteTap:
    bug = WriteTap()
    media.add_bug(bug)
    return bug


def advance(media: ChannelMedia, frames: int) -> None:
    for _ in range(frames):
        media.advance_frame()


def played_audio(tap: WriteTap, start: int = 0) -> Int16Array:
    frames = [w for w in tap.writes[start:] if w is not None]
    return np.concatenate(frames) if frames else np.zeros(0, np.int16)


def last_write(tap: WriteTap) -> list[int]:
    frame = tap.writes[-1]
    assert frame is not None, "nothing was played in the last frame"
    return [int(sample) for sample in frame]


def run_out(media: ChannelMedia, playback: Playback, limit: int = 1000) -> None:
    for _ in range(limit):
        if playback.finished.is_set():
            return
        media.advance_frame()
    raise AssertionError("the playback did not finish")


# ---------------------------------------------------------------------- pause / resume
def test_pause_writes_minus_one_frames_and_resume_continues_where_it_stopped(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(4000)
    playback = media.play(wav_of(tmp_path / "p.wav", audio))
    advance(media, 5)
    assert process_fh(playback, "pause") and playback.paused
    advance(media, 3)
    assert all(w is not None and (w == -1).all() for w in tap.writes[5:8])
    assert playback.played_samples == 5 * FRAME and playback.played_ms == 100
    assert playback.offset_pos == 5 * FRAME and not playback.finished.is_set()
    assert process_fh(playback, "PAUSE") and not playback.paused  # strcasecmp: any case
    run_out(media, playback)
    assert playback.status == "done"
    assert np.array_equal(played_audio(tap, 0)[: 5 * FRAME], audio[: 5 * FRAME])
    resumed = played_audio(tap, 8)
    assert np.array_equal(resumed[: len(audio) - 5 * FRAME], audio[5 * FRAME :])
    assert playback.played_samples == len(audio) and playback.played_ms == 500
    assert playback.samples_in == len(audio)


def test_pause_must_be_the_whole_word(tmp_path: Path, media: ChannelMedia) -> None:
    playback = media.play(wav_of(tmp_path / "p.wav", ramp(1600)))
    for word in ("pause:1", "pauses", "paus", "true "):
        assert not process_fh(playback, word)
        assert not playback.paused
    assert process_fh(playback, "true") and process_fh(playback, "undefined") and process_fh(playback, "")


def test_break_while_paused_ends_the_playback_and_the_next_one_starts_unpaused(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(4000)
    path = wav_of(tmp_path / "p.wav", audio)
    playback = media.play(path)
    advance(media, 2)
    playback.toggle_pause()
    advance(media, 4)
    playback.stop()
    assert playback.status == "break" and playback.finished.is_set()
    assert playback.played_samples == 2 * FRAME and media.current_playback is None
    advance(media, 1)
    assert tap.writes[-1] is None
    again = media.play(path)
    assert not again.paused
    advance(media, 1)
    last = tap.writes[-1]
    assert last is not None and np.array_equal(last, audio[:FRAME])


def test_a_paused_playback_never_finishes_on_its_own(tmp_path: Path, media: ChannelMedia) -> None:
    playback = media.play(wav_of(tmp_path / "p.wav", ramp(300)))
    advance(media, 1)
    playback.toggle_pause()
    advance(media, 20)
    assert not playback.finished.is_set() and playback.played_samples == FRAME
    playback.toggle_pause()
    advance(media, 1)
    assert playback.finished.is_set() and playback.status == "done" and playback.played_samples == 300


# ---------------------------------------------------------------------- stop
def test_stop_plays_out_what_was_read_then_ends_done(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(FILE_READ_SAMPLES + 4000)
    playback = media.play(wav_of(tmp_path / "long.wav", audio))
    advance(media, 5)
    assert not process_fh(playback, "stop")  # SWITCH_FILE_DONE; the result is FALSE, the effect stays
    run_out(media, playback)
    assert playback.status == "done"
    assert playback.played_samples == FILE_READ_SAMPLES and playback.samples_in == FILE_READ_SAMPLES
    heard = played_audio(tap)
    assert np.array_equal(heard[:FILE_READ_SAMPLES], audio[:FILE_READ_SAMPLES])
    assert not heard[FILE_READ_SAMPLES:].any()


def test_without_stop_a_long_file_is_read_chunk_by_chunk(tmp_path: Path, media: ChannelMedia) -> None:
    audio = ramp(FILE_READ_SAMPLES + 4000)
    playback = media.play(wav_of(tmp_path / "long.wav", audio))
    assert playback.samples_in == FILE_READ_SAMPLES  # the first read happens at once
    run_out(media, playback)
    assert playback.status == "done" and playback.played_samples == len(audio)
    assert playback.samples_in == len(audio)


# ---------------------------------------------------------------------- seek / restart
def test_absolute_seek_keeps_one_buffered_frame_then_jumps(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(4000)
    playback = media.play(wav_of(tmp_path / "p.wav", audio))
    advance(media, 2)
    assert process_fh(playback, "Seek:250")  # strncasecmp on "seek": 250 ms = 2000 samples at 8 kHz
    assert playback.offset_pos == 2000
    advance(media, 1)
    stale = tap.writes[-1]
    assert stale is not None and np.array_equal(stale, audio[2 * FRAME : 3 * FRAME])
    run_out(media, playback)
    after = played_audio(tap, 3)
    assert np.array_equal(after[:2000], audio[2000:])
    assert playback.played_samples == 3 * FRAME + 2000
    assert playback.samples_in == len(audio) + 2000


def test_relative_seek_counts_from_offset_pos_and_stops_at_zero(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(4000)
    playback = media.play(wav_of(tmp_path / "p.wav", audio))
    advance(media, 10)
    assert process_fh(playback, "seek:+100")
    assert playback.offset_pos == 10 * FRAME + 800
    advance(media, 2)
    assert np.array_equal(played_audio(tap, 11)[:FRAME], audio[2400 : 2400 + FRAME])
    assert process_fh(playback, "seek:-60000")
    assert playback.offset_pos == 0
    advance(media, 2)
    assert np.array_equal(played_audio(tap, 13)[:FRAME], audio[:FRAME])


def test_relative_seek_of_zero_is_one_second_forward_and_the_end_is_the_last_sample(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(4000)
    playback = media.play(wav_of(tmp_path / "p.wav", audio))
    advance(media, 10)
    process_fh(playback, "seek:-0")  # atoi gives 0, which means 1000 ms, forward
    assert playback.offset_pos == 3999  # past the end: mod_sndfile lands on the last sample
    run_out(media, playback)
    tail = played_audio(tap, 11)
    assert tail[0] == audio[3999] and not tail[1:].any()
    assert playback.status == "done"


def test_seek_while_paused_leaves_no_stale_frame(tmp_path: Path, media: ChannelMedia, tap: WriteTap) -> None:
    audio = ramp(4000)
    playback = media.play(wav_of(tmp_path / "p.wav", audio))
    advance(media, 4)
    process_fh(playback, "pause")
    process_fh(playback, "seek:100")
    advance(media, 2)
    process_fh(playback, "pause")
    advance(media, 1)
    last = tap.writes[-1]
    assert last is not None and np.array_equal(last, audio[800 : 800 + FRAME])


def test_restart_plays_from_the_start_and_resets_speed(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    audio = ramp(2000)
    playback = media.play(wav_of(tmp_path / "p.wav", audio))
    assert process_fh(playback, "speed:+")
    assert playback.speed == 1
    advance(media, 5)
    assert process_fh(playback, "restart")
    assert playback.speed == 0 and playback.offset_pos == 0
    advance(media, 2)
    assert np.array_equal(played_audio(tap, 6)[:FRAME], audio[:FRAME])


def test_seek_positions_count_in_the_files_own_rate(tmp_path: Path, media: ChannelMedia) -> None:
    playback = media.play(wav_of(tmp_path / "wide.wav", ramp(16000), rate=16000))
    assert playback.native_rate == 16000 and playback.total_samples == 8000
    process_fh(playback, "seek:100")
    assert playback.offset_pos == 1600  # file samples; the channel plays from 800 at 8 kHz


# ---------------------------------------------------------------------- volume and speed
def test_volume_scales_written_frames_like_switch_change_sln_volume(
    tmp_path: Path, media: ChannelMedia, tap: WriteTap
) -> None:
    values = np.array([1000, -1000, 3, -3, 30000, -30000, 10, 0] * 20, np.int16)
    audio = np.tile(values, 4)
    playback = media.play(wav_of(tmp_path / "v.wav", audio))
    assert process_fh(playback, "volume:-1")
    advance(media, 1)
    assert last_write(tap)[:8] == [800, -800, 2, -2, 24000, -24000, 8, 0]
    assert process_fh(playback, "volume:+2")
    advance(media, 1)
    assert last_write(tap)[:8] == [1300, -1300, 3, -3, 32767, -32768, 13, 0]
    assert process_fh(playback, "VOLUME:9") and playback.volume == 9
    advance(media, 1)
    assert last_write(tap)[:8] == [4300, -4300, 12, -12, 32767, -32768, 43, 0]
    assert not process_fh(playback, "volume")  # no value: clamps the level, returns FALSE
    assert playback.volume == 4
    process_fh(playback, "volume:-2")  # a sign means a step: 4 - 2
    assert playback.volume == 2
    process_fh(playback, "pause")
    advance(media, 1)
    assert last_write(tap) == [-2] * FRAME  # the paused frame's -1 scaled by 2.3, truncated
    process_fh(playback, "volume:0")
    process_fh(playback, "volume:-1")
    advance(media, 1)
    assert last_write(tap) == [0] * FRAME  # -1 * 0.8 truncates to 0


def test_speed_is_kept_without_changing_the_audio(tmp_path: Path, media: ChannelMedia, tap: WriteTap) -> None:
    audio = ramp(1600)
    playback = media.play(wav_of(tmp_path / "s.wav", audio))
    assert not process_fh(playback, "speed")
    assert process_fh(playback, "speed:2") and playback.speed == 2
    assert process_fh(playback, "speed:-5") and playback.speed == -3
    assert not process_fh(playback, "truncate")
    run_out(media, playback)
    assert np.array_equal(played_audio(tap)[: len(audio)], audio)


# ---------------------------------------------------------------------- API replies
@pytest.fixture
def switch(tmp_path: Path) -> Iterator[FakeSwitch]:
    with FakeSwitch(password=PASSWORD, recordings_dir=tmp_path) as fake:
        yield fake


def test_api_replies_without_a_file(switch: FakeSwitch) -> None:
    call = switch.place_call(destination="9998", context="default")
    assert call.wait_answered(5)
    api = switch.api
    assert api.execute("uuid_fileman", f"{call.uuid} pause") == "-ERR No file handle!\n"
    assert api.execute("uuid_fileman", "no-such-uuid pause") == "-ERR No such channel!\n"
    for arg in (None, "", call.uuid, f"{call.uuid}   "):
        assert api.execute("uuid_fileman", arg) == "-USAGE: <uuid> <cmd>:<val>\n"
    assert api.execute("UUID_FILEMAN", f"{call.uuid} stop") == "-ERR No file handle!\n"
    call.hangup()
    assert call.wait_ended(5)


def connect_and_answer(client: EslClient) -> str:
    uuid = client.command("connect").headers["Unique-ID"]
    client.command("myevents")
    client.command("event plain PLAYBACK_START PLAYBACK_STOP BACKGROUND_JOB")
    client.command("linger")
    client.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    client.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="answer")
    return uuid


def test_fileman_pause_holds_a_broadcast_over_esl(switch: FakeSwitch, tmp_path: Path) -> None:
    controller = Controller()
    try:
        audio = ramp(3200)
        prompt = wav_of(tmp_path / "prompt.wav", audio)
        call = switch.place_call(socket=f"{controller.address} async full")
        client = controller.client()
        uuid = connect_and_answer(client)
        assert client.api(f"uuid_broadcast {uuid} {prompt} aleg") == "+OK Message sent\n"
        client.wait_event("PLAYBACK_START", Playback_File_Path=str(prompt))
        assert client.api(f"uuid_fileman {uuid} pause") == "+OK\n"
        playback = call.channel.playback
        media = call.channel.media
        assert playback is not None and media is not None and playback.paused
        held_at = playback.played_samples
        assert media.wait_frames(media.frames_elapsed + 10, timeout=10)
        assert playback.played_samples == held_at and not playback.finished.is_set()
        assert "PLAYBACK_STOP" not in client.event_names()

        reply = client.command(f"bgapi uuid_fileman {uuid} pause")
        job = reply.headers["Job-UUID"]
        assert client.wait_event("BACKGROUND_JOB", Job_UUID=job).event_body == "+OK\n"
        stop = client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(prompt))
        assert stop.event_header("Playback-Status") == "done"
        assert stop.event_header("variable_playback_ms") == "400"
        assert client.api(f"uuid_fileman {uuid} pause") == "-ERR No file handle!\n"
        reply = client.command(f"bgapi uuid_fileman {uuid} pause")
        job = reply.headers["Job-UUID"]
        body = client.wait_event("BACKGROUND_JOB", Job_UUID=job).event_body
        assert body == "-ERR No file handle!\n"
        call.hangup()
        assert call.wait_ended(5)
    finally:
        controller.stop()

    assert call.recording_path is not None
    samples, _ = read_wav(call.recording_path)
    right = np.round(samples[:, 1] * 32768).astype(np.int16)
    paused = np.flatnonzero(right == -1)
    assert len(paused) >= 10 * FRAME  # the frames written while paused
    heard = right[right > 0]
    assert np.array_equal(heard, audio)  # every sample once, in order, around the pause


def test_fileman_stop_over_esl_ends_done_with_what_was_read(switch: FakeSwitch, tmp_path: Path) -> None:
    controller = Controller()
    try:
        prompt = wav_of(tmp_path / "long.wav", ramp(FILE_READ_SAMPLES + 8000))
        call = switch.place_call(socket=f"{controller.address} async full")
        client = controller.client()
        uuid = connect_and_answer(client)
        client.api(f"uuid_broadcast {uuid} {prompt} aleg")
        client.wait_event("PLAYBACK_START", Playback_File_Path=str(prompt))
        assert client.api(f"uuid_fileman {uuid} stop") == "+OK\n"
        stop = client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(prompt), timeout=15)
        assert stop.event_header("Playback-Status") == "done"
        assert stop.event_header("variable_playback_samples") == str(FILE_READ_SAMPLES)
        assert stop.event_header("variable_playback_ms") == str(FILE_READ_SAMPLES // 8)
        call.hangup()
        assert call.wait_ended(5)
    finally:
        controller.stop()


def test_a_broadcast_reads_five_frames_before_it_plays_and_sendmsg_does_not(
    switch: FakeSwitch, tmp_path: Path
) -> None:
    """switch_ivr_broadcast queues its playback with ``lead-frames: 5``; sendmsg's execute has none."""
    controller = Controller()
    try:
        prompt = wav_of(tmp_path / "prompt.wav", ramp(800))
        call = switch.place_call(socket=f"{controller.address} async full")
        client = controller.client()
        uuid = connect_and_answer(client)
        media = call.channel.media
        assert media is not None
        leads = []
        for how in ("broadcast", "sendmsg"):
            before = media.frames_elapsed
            if how == "broadcast":
                client.api(f"uuid_broadcast {uuid} {prompt} aleg")
            else:
                client.command(
                    f"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: {prompt}"
                )
            client.wait_event("PLAYBACK_START", Playback_File_Path=str(prompt))
            playback = call.channel.playback
            assert playback is not None and media.wait_frames(media.frames_elapsed + 2, timeout=5)
            assert playback.start_sample is not None
            leads.append(playback.start_sample // FRAME - before)
            client.wait_event("PLAYBACK_STOP", Playback_File_Path=str(prompt))
        assert leads[0] >= 5 and leads[1] <= 2, leads
        call.hangup()
        assert call.wait_ended(5)
    finally:
        controller.stop()
