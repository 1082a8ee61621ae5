-- The call log: one row per FreeSWITCH channel, the ESL events the controller acted on, and the
-- conversation turns.
--
-- Portability: every migration in sql/ runs unchanged on PostgreSQL 15 and SQLite 3.35+, so it keeps to
-- their common subset:
--   * timestamps are declared TIMESTAMP WITH TIME ZONE: PostgreSQL stores a real timestamptz (so psql,
--     date arithmetic and indexes work as expected); SQLite accepts the name (NUMERIC affinity) and the
--     application stores fixed-width ISO-8601 UTC text there, which sorts chronologically. The
--     application always hands out timezone-aware UTC datetimes (app/store/types.py).
--   * JSON is stored as TEXT (jsonb does not exist in SQLite); it is written and parsed by the app.
--   * sequence numbers are assigned by the application per call (no SERIAL / AUTOINCREMENT, which differ).
--   * BOOLEAN with TRUE/FALSE literals (SQLite 3.23+ understands them).
--   * every constraint is named, so both databases report the same names.
-- The application (not the schema) keeps call_events and turns append-only: it never updates them.

CREATE TABLE calls (
    uuid TEXT NOT NULL,
    direction TEXT NOT NULL,
    call_type TEXT NOT NULL,
    caller TEXT,
    callee TEXT,
    gateway TEXT,
    campaign_ref TEXT,
    state TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    answered_at TIMESTAMP WITH TIME ZONE,
    ended_at TIMESTAMP WITH TIME ZONE,
    hangup_cause TEXT,
    billsec INTEGER,
    duration INTEGER,
    CONSTRAINT calls_pkey PRIMARY KEY (uuid),
    -- 'unknown' marks a placeholder row: something was recorded for a call whose start never was.
    CONSTRAINT calls_direction_check CHECK (direction IN ('inbound', 'outbound', 'unknown')),
    CONSTRAINT calls_call_type_check CHECK (call_type IN ('sip', 'webrtc', 'unknown')),
    CONSTRAINT calls_state_check CHECK (state IN ('ringing', 'answered', 'ended', 'failed')),
    CONSTRAINT calls_billsec_check CHECK (billsec IS NULL OR billsec >= 0),
    CONSTRAINT calls_duration_check CHECK (duration IS NULL OR duration >= 0)
);

-- recent_calls(): newest first.
CREATE INDEX calls_created_at_idx ON calls (created_at);
-- A campaign's calls, in order (campaigns arrive in a later issue; the reference is already recorded).
CREATE INDEX calls_campaign_ref_idx ON calls (campaign_ref, created_at);

CREATE TABLE call_events (
    call_uuid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    detail TEXT,
    -- The primary key serves events(uuid) in order.
    CONSTRAINT call_events_pkey PRIMARY KEY (call_uuid, seq),
    CONSTRAINT call_events_call_uuid_fkey FOREIGN KEY (call_uuid) REFERENCES calls (uuid) ON DELETE CASCADE,
    CONSTRAINT call_events_seq_check CHECK (seq >= 1)
);

-- Retention jobs and "what happened in the last hour" across calls.
CREATE INDEX call_events_occurred_at_idx ON call_events (occurred_at);

CREATE TABLE turns (
    call_uuid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE,
    ended_at TIMESTAMP WITH TIME ZONE,
    interrupted BOOLEAN NOT NULL DEFAULT FALSE,
    heard_ms INTEGER,
    timings TEXT,
    -- The primary key serves turns(uuid) in order.
    CONSTRAINT turns_pkey PRIMARY KEY (call_uuid, seq),
    CONSTRAINT turns_call_uuid_fkey FOREIGN KEY (call_uuid) REFERENCES calls (uuid) ON DELETE CASCADE,
    CONSTRAINT turns_seq_check CHECK (seq >= 1),
    CONSTRAINT turns_speaker_check CHECK (speaker IN ('caller', 'agent')),
    CONSTRAINT turns_heard_ms_check CHECK (heard_ms IS NULL OR heard_ms >= 0)
);
