-- Alerts per UTC day (time / 86400, as src_day), rule variant and location,
-- with or without a source address: "timeline" and "summary" of all alerts
-- read these ~10,000 rows per million alerts instead of scanning alerts for
-- those without a source, which src_day does not hold.
CREATE TABLE alert_day (
    day      INTEGER NOT NULL,
    rule     INTEGER NOT NULL,
    location INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (day, rule, location)
) WITHOUT ROWID;

INSERT INTO alert_day (day, rule, location, count)
SELECT time / 86400, rule, location, count(*) FROM alerts GROUP BY 1, 2, 3;
