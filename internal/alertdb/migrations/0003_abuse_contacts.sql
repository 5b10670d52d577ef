-- Abuse contacts found by RDAP or whois (package lookup), cached until
-- expires. One answer covers a whole network, so a row holds the address
-- range [first, last] the answer covers and later lookups of any address in
-- it are answered from it; the most specific unexpired range wins. An answer
-- whose range is not one contiguous range has one row per range.
CREATE TABLE abuse_contacts (
    id      INTEGER PRIMARY KEY,
    family  INTEGER NOT NULL CHECK (family IN (4, 6)),
    first   BLOB    NOT NULL, -- first address, 4 or 16 bytes by family
    last    BLOB    NOT NULL, -- last address
    found   INTEGER NOT NULL, -- 1 when the answer names an abuse mailbox
    fetched INTEGER NOT NULL, -- when the answer was obtained, Unix seconds
    expires INTEGER NOT NULL, -- Unix seconds
    contact TEXT    NOT NULL, -- abuse.Contact as JSON
    UNIQUE (family, first, last)
);
CREATE INDEX abuse_contacts_expires ON abuse_contacts (expires);
