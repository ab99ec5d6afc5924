// Registers every relationship type before any query runs. FalkorDB caches a query's plan,
// and a plan compiled while a type did not exist yet keeps matching nothing for that type
// (a feed query compiled before the first HIDE kept showing hidden pins). An index creates
// the type. ENGAGED is looked up by kind; on the others the index stays empty.
CREATE INDEX FOR ()-[e:ENGAGED]-() ON (e.kind);
CREATE INDEX FOR ()-[r:OWNS]-() ON (r.at);
CREATE INDEX FOR ()-[r:CREATED]-() ON (r.at);
CREATE INDEX FOR ()-[r:TAGGED]-() ON (r.at);
CREATE INDEX FOR ()-[r:ABOUT]-() ON (r.at);
