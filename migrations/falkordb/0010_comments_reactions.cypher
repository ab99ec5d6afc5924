// Comments on pins and reactions to them. A comment is found by its id (unique); the
// indexes on WROTE, ON_PIN and REACTED also register those relationship types before any plan
// is cached (see 0003). Reactions are read by kind.
CREATE INDEX FOR (c:Comment) ON (c.id);
GRAPH.CONSTRAINT CREATE UNIQUE NODE Comment PROPERTIES 1 id;
CREATE INDEX FOR ()-[r:WROTE]-() ON (r.at);
CREATE INDEX FOR ()-[r:ON_PIN]-() ON (r.at);
CREATE INDEX FOR ()-[r:REACTED]-() ON (r.kind);
