-- Abuse report drafts (package abuse/draft): one per abuse contact, as the
-- operator reviews, edits, approves and sends them. A draft moves
-- draft -> approved -> sent, or to discarded; an edit of an approved draft
-- takes it back to draft, so what is sent is what was approved.
CREATE TABLE abuse_drafts (
    id        INTEGER PRIMARY KEY,
    created   INTEGER NOT NULL, -- Unix seconds
    updated   INTEGER NOT NULL, -- Unix seconds, last change of state or text
    state     TEXT    NOT NULL CHECK (state IN ('draft', 'approved', 'discarded', 'sent')),
    emails    TEXT    NOT NULL, -- the contact's mailboxes, comma-separated
    addresses TEXT    NOT NULL, -- the reported addresses, comma-separated
    subject   TEXT    NOT NULL,
    text      TEXT    NOT NULL, -- the mail body, as drafted or as edited
    xarf      TEXT    NOT NULL, -- X-ARF v4 reports, a JSON array, one per address
    arf       TEXT    NOT NULL, -- the ARF (RFC 5965) rendering
    evidence  TEXT    NOT NULL, -- the redacted draft (draft.Draft as JSON), to render again
    edited    INTEGER NOT NULL DEFAULT 0,
    author    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX abuse_drafts_state ON abuse_drafts (state, id);

-- Every attempt to send a draft, successful or not.
CREATE TABLE abuse_sends (
    id         INTEGER PRIMARY KEY,
    draft      INTEGER NOT NULL REFERENCES abuse_drafts (id),
    time       INTEGER NOT NULL, -- Unix seconds
    recipients TEXT    NOT NULL, -- comma-separated
    addresses  TEXT    NOT NULL, -- the addresses the message reported, comma-separated
    message_id TEXT    NOT NULL,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('sent', 'failed')),
    error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX abuse_sends_draft ON abuse_sends (draft, id);

-- Which address was reported to which mailbox when: the repeat window
-- ("never the same address to the same contact twice within N days") reads
-- this. Written with each successful send.
CREATE TABLE abuse_reported (
    email TEXT    NOT NULL,
    addr  BLOB    NOT NULL, -- 4 or 16 bytes
    time  INTEGER NOT NULL, -- Unix seconds
    send  INTEGER NOT NULL REFERENCES abuse_sends (id),
    PRIMARY KEY (email, addr, time, send)
) WITHOUT ROWID;
