// Password credentials: one per user, found by the user's id (`graph/repos/credentials.py`).
CREATE INDEX FOR (c:Credential) ON (c.user);
GRAPH.CONSTRAINT CREATE UNIQUE NODE Credential PROPERTIES 1 user;
