// Sort keys of the paginated lists, and full-text search.
CREATE INDEX pin_created_at IF NOT EXISTS FOR (p:Pin) ON (p.createdAt);
CREATE INDEX board_created_at IF NOT EXISTS FOR (b:Board) ON (b.createdAt);
CREATE INDEX saved_to_at IF NOT EXISTS FOR ()-[s:SAVED_TO]-() ON (s.at);
CREATE INDEX follows_at IF NOT EXISTS FOR ()-[f:FOLLOWS]-() ON (f.at);
CREATE FULLTEXT INDEX pin_text IF NOT EXISTS FOR (p:Pin) ON EACH [p.title, p.description];
CREATE FULLTEXT INDEX board_text IF NOT EXISTS FOR (b:Board) ON EACH [b.name];
