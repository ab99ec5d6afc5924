// Board sections (`graph/repos/sections.py`): a section is found by its id (unique); a save's
// section is `SAVED_TO.section`, indexed for a section's pins. The HAS_SECTION index also
// registers that relationship type before any plan is cached (see 0003). Saves without a
// section need no backfill: absent means none.
CREATE INDEX FOR (s:Section) ON (s.id);
GRAPH.CONSTRAINT CREATE UNIQUE NODE Section PROPERTIES 1 id;
CREATE INDEX FOR ()-[r:HAS_SECTION]-() ON (r.at);
CREATE INDEX FOR ()-[s:SAVED_TO]-() ON (s.section);
