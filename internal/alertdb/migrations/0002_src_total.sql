-- Per-source totals over all time, always equal to src_rule aggregated by
-- source (each fold recomputes the sources it touched, in its transaction).
-- "top" without filters reads these 1 row per source instead of src_rule's
-- row per source and rule variant: half the rows, and each row read through
-- the driver costs.
CREATE TABLE src_total (
    src   BLOB    PRIMARY KEY,
    count INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last  INTEGER NOT NULL,
    level INTEGER NOT NULL,
    rules INTEGER NOT NULL -- distinct rule ids
) WITHOUT ROWID;

INSERT INTO src_total (src, count, first, last, level, rules)
SELECT s.src, SUM(s.count), MIN(s.first), MAX(s.last), MAX(r.level), COUNT(DISTINCT r.rule_id)
FROM src_rule s JOIN rules r ON r.id = s.rule
GROUP BY s.src;
