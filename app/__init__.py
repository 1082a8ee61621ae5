"""Callbridge: a voice AI agent on real phone calls, with FreeSWITCH as the media gateway."""
