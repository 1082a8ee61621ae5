-- Outbound campaigns: the contacts read from a CSV, every dial attempt, and the dialer processes at work.
-- Same portable subset as 001_calls.sql (named constraints, TEXT for JSON, application-assigned keys).
--
-- Idempotent dispatch rests on two rules the dialer keeps: an attempt row (with the uuid the call will
-- carry) is committed before its originate is sent, and an attempt whose dialer died is never redialled
-- blindly (it is reconciled from FreeSWITCH and the call log, or marked 'unknown').

CREATE TABLE outbound_campaigns (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    flow TEXT,
    status TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    cps DOUBLE PRECISION NOT NULL,
    window_start TEXT,
    window_end TEXT,
    max_attempts INTEGER NOT NULL,
    retry_delay_s INTEGER NOT NULL,
    amd_action TEXT NOT NULL,
    gateways TEXT NOT NULL,
    caller_id TEXT,
    source TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    -- Shared pacing: the earliest time any dialer of this campaign may send its next originate.
    next_dispatch_at TIMESTAMP WITH TIME ZONE,
    finished_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT outbound_campaigns_pkey PRIMARY KEY (id),
    CONSTRAINT outbound_campaigns_status_check
        CHECK (status IN ('running', 'paused', 'cancelled', 'completed')),
    CONSTRAINT outbound_campaigns_max_concurrent_check CHECK (max_concurrent >= 1),
    CONSTRAINT outbound_campaigns_cps_check CHECK (cps > 0),
    CONSTRAINT outbound_campaigns_max_attempts_check CHECK (max_attempts >= 1),
    CONSTRAINT outbound_campaigns_retry_delay_check CHECK (retry_delay_s >= 0),
    CONSTRAINT outbound_campaigns_amd_action_check CHECK (amd_action IN ('continue', 'hangup', 'voicemail'))
);

CREATE TABLE campaign_contacts (
    campaign_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    number TEXT NOT NULL,
    time_zone TEXT,
    variables TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    attempts INTEGER NOT NULL,
    due_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    -- The CSV line number identifies a contact within its campaign (and is what reports show).
    CONSTRAINT campaign_contacts_pkey PRIMARY KEY (campaign_id, line),
    CONSTRAINT campaign_contacts_campaign_id_fkey
        FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE,
    CONSTRAINT campaign_contacts_state_check
        CHECK (state IN ('queued', 'dialing', 'answered', 'retry_scheduled', 'done')),
    CONSTRAINT campaign_contacts_outcome_check
        CHECK (outcome IS NULL OR outcome IN ('answered', 'no_answer', 'busy', 'failed', 'unknown', 'cancelled')),
    CONSTRAINT campaign_contacts_attempts_check CHECK (attempts >= 0)
);

-- One number once per campaign, whatever the CSV says.
CREATE UNIQUE INDEX campaign_contacts_number_idx ON campaign_contacts (campaign_id, number);
-- The dispatcher's scan: due contacts of a campaign in a given state.
CREATE INDEX campaign_contacts_due_idx ON campaign_contacts (campaign_id, state, due_at);

CREATE TABLE campaign_rejects (
    campaign_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    raw_number TEXT NOT NULL,
    reason TEXT NOT NULL,
    CONSTRAINT campaign_rejects_pkey PRIMARY KEY (campaign_id, line),
    CONSTRAINT campaign_rejects_campaign_id_fkey
        FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE,
    CONSTRAINT campaign_rejects_reason_check
        CHECK (reason IN ('missing', 'invalid', 'duplicate', 'do_not_call'))
);

CREATE TABLE campaign_dialers (
    id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    heartbeat_at TIMESTAMP WITH TIME ZONE NOT NULL,
    stopped_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT campaign_dialers_pkey PRIMARY KEY (id),
    CONSTRAINT campaign_dialers_campaign_id_fkey
        FOREIGN KEY (campaign_id) REFERENCES outbound_campaigns (id) ON DELETE CASCADE
);

CREATE TABLE campaign_attempts (
    uuid TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    number TEXT NOT NULL,
    dialer_id TEXT NOT NULL,
    state TEXT NOT NULL,
    -- The uuid FreeSWITCH reported in '+OK <uuid>': origination_uuid names only the first leg of a
    -- '|' failover, so a call carried by a backup trunk has another uuid.
    channel_uuid TEXT,
    gateway TEXT,
    job_result TEXT,
    hangup_cause TEXT,
    amd_verdict TEXT,
    billsec INTEGER,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    answered_at TIMESTAMP WITH TIME ZONE,
    ended_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT campaign_attempts_pkey PRIMARY KEY (uuid),
    CONSTRAINT campaign_attempts_contact_fkey
        FOREIGN KEY (campaign_id, line) REFERENCES campaign_contacts (campaign_id, line) ON DELETE CASCADE,
    CONSTRAINT campaign_attempts_state_check
        CHECK (state IN ('dialing', 'answered', 'no_answer', 'busy', 'failed', 'unknown')),
    CONSTRAINT campaign_attempts_attempt_check CHECK (attempt >= 1),
    CONSTRAINT campaign_attempts_amd_verdict_check
        CHECK (amd_verdict IS NULL OR amd_verdict IN ('human', 'machine', 'unknown')),
    CONSTRAINT campaign_attempts_billsec_check CHECK (billsec IS NULL OR billsec >= 0)
);

-- Attempt n of a contact exists once: a second dispatch of the same attempt fails on this index.
CREATE UNIQUE INDEX campaign_attempts_contact_idx ON campaign_attempts (campaign_id, line, attempt);
-- Live calls of a campaign (concurrency) and the in-doubt scan after a dialer dies.
CREATE INDEX campaign_attempts_state_idx ON campaign_attempts (campaign_id, state);
