"""Outbound calls and CSV campaigns: numbers, policy, the attempt state machine and the campaign runner."""
