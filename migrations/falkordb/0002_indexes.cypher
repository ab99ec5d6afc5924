// Sort keys of the paginated lists, and full-text search (one full-text index per label).
CREATE INDEX FOR (p:Pin) ON (p.createdAt);
CREATE INDEX FOR (b:Board) ON (b.createdAt);
CREATE INDEX FOR ()-[s:SAVED_TO]-() ON (s.at);
CREATE INDEX FOR ()-[f:FOLLOWS]-() ON (f.at);
CALL db.idx.fulltext.createNodeIndex('Pin', 'title', 'description');
CALL db.idx.fulltext.createNodeIndex('Board', 'name');
