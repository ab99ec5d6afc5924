// Board sections (`graph/repos/sections.py`): a section is found by its id (unique); a save's
// section is `SAVED_TO.section`, indexed for a section's pins. Saves without a section need
// no backfill: absent means none.
CREATE CONSTRAINT section_id IF NOT EXISTS FOR (s:Section) REQUIRE s.id IS UNIQUE;
CREATE INDEX saved_to_section IF NOT EXISTS FOR ()-[s:SAVED_TO]-() ON (s.section);
