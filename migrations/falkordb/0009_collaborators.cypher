// Shared boards (`graph/repos/collaborators.py`): collaborators and pending invites. The
// indexes register both relationship types before any plan is cached (see 0003); a board's
// collaborator ids also live on the board (`Board.memberIds`), absent meaning none, so there
// is nothing to backfill.
CREATE INDEX FOR ()-[r:COLLABORATES_ON]-() ON (r.at);
CREATE INDEX FOR ()-[r:INVITED_TO]-() ON (r.at);
