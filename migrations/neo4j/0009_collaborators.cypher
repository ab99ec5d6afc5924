// Shared boards (`graph/repos/collaborators.py`): collaborators and pending invites, found
// by when they were made. `Board.memberIds` needs no backfill: absent means no collaborators.
CREATE INDEX collaborates_on_at IF NOT EXISTS FOR ()-[r:COLLABORATES_ON]-() ON (r.at);
CREATE INDEX invited_to_at IF NOT EXISTS FOR ()-[r:INVITED_TO]-() ON (r.at);
