"""FreeSWITCH 1.10.12 stand-in (Event Socket, channels, media, mod_audio_stream) for tests and demos."""
