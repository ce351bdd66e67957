-- notification: the live inbox stream (GET /v1/notifications/stream). Each user's inbox items
-- are numbered 1, 2, 3… in the order their transactions commit: the counter row is updated in
-- the inserting transaction, so its row lock orders a user's inserts. A client that resumes
-- after an item gets every item numbered after it, none skipped by a transaction that took an
-- id earlier but committed later (ids are time-ordered, not commit-ordered).
CREATE TABLE inbox_seq (
    org_id  text   NOT NULL,
    user_id text   NOT NULL,
    seq     bigint NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
ALTER TABLE inbox ADD COLUMN seq bigint;
UPDATE inbox SET seq = n.seq
  FROM (SELECT id, row_number() OVER (PARTITION BY org_id, user_id ORDER BY id) AS seq
          FROM inbox) n
 WHERE inbox.id = n.id;
INSERT INTO inbox_seq (org_id, user_id, seq)
SELECT org_id, user_id, max(seq) FROM inbox GROUP BY org_id, user_id;
ALTER TABLE inbox ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX inbox_stream ON inbox (org_id, user_id, seq);
