-- Rule variants: one row per distinct (rule id, level, description, groups),
-- so an operator's change of a rule's level or text keeps both versions.
CREATE TABLE rules (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL,
    level       INTEGER NOT NULL,
    description TEXT    NOT NULL,
    groups      TEXT    NOT NULL, -- comma-separated, in OSSEC's order
    UNIQUE (rule_id, level, description, groups)
);

CREATE TABLE locations (
    id       INTEGER PRIMARY KEY,
    raw      TEXT NOT NULL UNIQUE, -- the location as OSSEC writes it
    manager  TEXT NOT NULL,
    agent    TEXT NOT NULL,
    agent_ip TEXT NOT NULL,
    source   TEXT NOT NULL
);

-- An alert's id orders alerts by event time, then arrival: time << 24 | n,
-- where n counts the alerts stored for that second. Time ranges are id
-- ranges, so the table needs no index: deduplication and the partial days of
-- a time filter read id ranges, and alerts of one second keep import order.
CREATE TABLE alerts (
    id       INTEGER PRIMARY KEY,
    key      INTEGER NOT NULL, -- ossec.Alert.Key() as a signed 64-bit integer
    src_ip   BLOB,             -- 4 or 16 bytes; NULL when absent
    rule     INTEGER NOT NULL REFERENCES rules (id),
    location INTEGER NOT NULL REFERENCES locations (id),
    id_seq   INTEGER NOT NULL, -- the <n> of the alert id <epoch>.<n>
    id_epoch INTEGER,          -- the <epoch>, NULL when it equals time
    mail     INTEGER NOT NULL,
    src_port INTEGER,
    dst_ip   BLOB,
    dst_port INTEGER,
    user     TEXT,
    log      TEXT NOT NULL,    -- the alert's log lines joined by "\n"
    time     INTEGER AS (id >> 24) VIRTUAL -- event time, Unix seconds (UTC)
);

-- Alerts per UTC day (time / 86400, truncated like analytics does), source,
-- rule variant and location. The day comes first so that a chronological
-- import touches only the newest part of the table at each commit.
--
-- ids lists the cell's alerts, comma-separated: "S" or "S:N" for the alert
-- id (day start + S) << 24 | N. It replaces an index on alerts (src_ip,
-- time): that index cost a third of the import time, and a source's report
-- needs its alerts of a few days only, which the cells of those days name.
CREATE TABLE src_day (
    day      INTEGER NOT NULL,
    src      BLOB    NOT NULL,
    rule     INTEGER NOT NULL,
    location INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    first    INTEGER NOT NULL,
    last     INTEGER NOT NULL,
    ids      TEXT    NOT NULL,
    PRIMARY KEY (day, src, rule, location)
) WITHOUT ROWID;

-- Alerts per source and rule variant over all time: "top sources" without a
-- time filter reads this table and src_rule_log.
CREATE TABLE src_rule (
    src   BLOB    NOT NULL,
    rule  INTEGER NOT NULL,
    count INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last  INTEGER NOT NULL,
    PRIMARY KEY (src, rule)
) WITHOUT ROWID;

-- src_rule deltas of commits not folded into src_rule yet, one encoded row
-- per commit. Folding at every commit would touch most of src_rule each time
-- (a third of the import time); a writer folds every few commits and when it
-- closes, the next writer folds what a crashed one left.
CREATE TABLE src_rule_log (
    id     INTEGER PRIMARY KEY,
    deltas BLOB NOT NULL
);

CREATE TABLE totals (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    alerts INTEGER NOT NULL
);
INSERT INTO totals (id, alerts) VALUES (1, 0);

-- Where the import of each source stopped; written in the same transaction
-- as the alerts it covers.
CREATE TABLE checkpoints (
    source      TEXT PRIMARY KEY,
    byte_offset INTEGER NOT NULL,
    line        INTEGER NOT NULL,
    positions   TEXT    NOT NULL, -- JSON object: server_id -> last alert id
    detail      TEXT    NOT NULL DEFAULT '', -- the reader's own resume state (a followed file's identity)
    updated     INTEGER NOT NULL
);

CREATE TABLE imports (
    id         INTEGER PRIMARY KEY,
    source     TEXT    NOT NULL,
    started    INTEGER NOT NULL,
    finished   INTEGER NOT NULL,
    added      INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    malformed  INTEGER NOT NULL
);
CREATE INDEX imports_source ON imports (source, started);
