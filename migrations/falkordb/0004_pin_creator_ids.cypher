// Pins carry their creator's id as `creatorId`, a copy of the CREATED edge that reads need on
// every pin (a pattern comprehension per pin cost about 80 us). Backfill older pins.
MATCH (u:User)-[:CREATED]->(p:Pin)
WHERE p.creatorId IS NULL
SET p.creatorId = u.id;
