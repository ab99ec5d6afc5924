// Pins carry their creator's id as `creatorId`, a copy of the CREATED edge that reads need on
// every pin. Backfill pins created before it, in batches (an auto-commit statement).
MATCH (u:User)-[:CREATED]->(p:Pin)
WHERE p.creatorId IS NULL
CALL (u, p) { SET p.creatorId = u.id } IN TRANSACTIONS OF 10000 ROWS;
