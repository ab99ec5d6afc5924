// Password credentials: one per user, found by the user's id (`graph/repos/credentials.py`).
CREATE CONSTRAINT credential_user IF NOT EXISTS FOR (c:Credential) REQUIRE c.user IS UNIQUE;
