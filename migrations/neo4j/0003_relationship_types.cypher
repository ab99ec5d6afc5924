// Engagements are read by kind (feeds leave out hidden pins; walks weigh clicks). FalkorDB's
// 0003 also registers the other relationship types; Neo4j plans do not need that.
CREATE INDEX engaged_kind IF NOT EXISTS FOR ()-[e:ENGAGED]-() ON (e.kind);
