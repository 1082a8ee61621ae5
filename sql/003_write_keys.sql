-- Idempotent appends: an event or a turn may carry the key its writer gave it, unique across the call log.
-- Same portable subset as 001_calls.sql.
--
-- When the database is unreachable the controller spools its writes locally and replays them later
-- (app/store/buffered.py); a write whose commit was in doubt, or that a crash mid-replay left unmarked,
-- is replayed again. Its key is then found and the row is not written twice. Rows written before this
-- migration, and by writers that give no key, have NULL here (both databases allow many NULLs in a
-- UNIQUE index).

ALTER TABLE call_events ADD COLUMN write_key TEXT;
CREATE UNIQUE INDEX call_events_write_key_idx ON call_events (write_key);

ALTER TABLE turns ADD COLUMN write_key TEXT;
CREATE UNIQUE INDEX turns_write_key_idx ON turns (write_key);
