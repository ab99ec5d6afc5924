// Comments on pins and reactions to them: a comment is found by its id (unique); reactions
// are read by kind.
CREATE CONSTRAINT comment_id IF NOT EXISTS FOR (c:Comment) REQUIRE c.id IS UNIQUE;
CREATE INDEX reacted_kind IF NOT EXISTS FOR ()-[r:REACTED]-() ON (r.kind);
