// Analyst queries for pingraph: paste one into `pingraph cypher`, POST /cypher or Neo4j
// Browser. Each runs on both Neo4j and FalkorDB; the tests lint every one with Neo4j's own
// front-end and run it on the demo graph. See docs/analyst-guide.md.
//
// Format: "// name:" starts a query, the comment lines after it describe it, an optional
// "// params:" line gives example parameters as JSON, and the query ends with ";".

// name: top-boards-by-saves
// Public boards with the most pins saved to them.
MATCH (b:Board {privacy: 'PUBLIC'})<-[:SAVED_TO]-(p:Pin)
RETURN b.id AS board, b.name AS name, count(p) AS saves
ORDER BY saves DESC, board
LIMIT 20;

// name: topic-co-occurrence
// Pairs of topics tagged on the same pins, most shared first.
MATCH (t1:Topic)<-[:TAGGED]-(p:Pin)-[:TAGGED]->(t2:Topic)
WHERE t1.name < t2.name
RETURN t1.name AS topic, t2.name AS other, count(p) AS pins
ORDER BY pins DESC, topic, other
LIMIT 20;

// name: most-followed-users
// Users with the most followers.
MATCH (u:User)<-[:FOLLOWS]-(f:User)
RETURN u.handle AS handle, count(f) AS followers
ORDER BY followers DESC, handle
LIMIT 20;

// name: pins-across-most-topics
// Among the 500 most saved pins, those on public boards about the most different topics:
// broad-appeal pins.
MATCH (p:Pin)-[:SAVED_TO]->(:Board)
WITH p, count(*) AS saves
ORDER BY saves DESC, p.id
LIMIT 500
MATCH (p)-[:SAVED_TO]->(b:Board {privacy: 'PUBLIC'})-[:ABOUT]->(t:Topic)
RETURN p.id AS pin, p.title AS title, count(DISTINCT t) AS topics,
       count(DISTINCT b) AS boards
ORDER BY topics DESC, boards DESC, pin
LIMIT 20;

// name: board-overlap
// Among the 30 biggest public boards, the pairs that share the most pins.
MATCH (b:Board {privacy: 'PUBLIC'})<-[:SAVED_TO]-(:Pin)
WITH b, count(*) AS size
ORDER BY size DESC, b.id
LIMIT 30
WITH collect(b) AS big
UNWIND big AS b1
UNWIND big AS b2
WITH b1, b2
WHERE b1.id < b2.id
MATCH (b1)<-[:SAVED_TO]-(p:Pin)-[:SAVED_TO]->(b2)
RETURN b1.name AS board, b2.name AS other, count(p) AS shared
ORDER BY shared DESC, board, other
LIMIT 20;

// name: active-savers-last-30-days
// Who saved the most in the 30 days before the newest save.
MATCH ()-[s:SAVED_TO]->()
WITH max(s.at) AS newest
MATCH ()-[s:SAVED_TO]->()
WHERE s.at >= newest - 2592000000
WITH s.by AS id, count(s) AS saves
ORDER BY saves DESC, id
LIMIT 20
MATCH (u:User {id: id})
RETURN u.handle AS handle, saves
ORDER BY saves DESC, handle;

// name: topic-popularity
// Followers and tagged pins per topic.
MATCH (t:Topic)
OPTIONAL MATCH (t)<-[:FOLLOWS]-(u:User)
WITH t, count(u) AS followers
OPTIONAL MATCH (t)<-[:TAGGED]-(p:Pin)
RETURN t.name AS topic, followers, count(p) AS pins
ORDER BY followers DESC, pins DESC, topic
LIMIT 20;

// name: save-count-distribution
// How many pins are saved to 1, 2, 3, ... boards.
MATCH (p:Pin)-[:SAVED_TO]->(:Board)
WITH p, count(*) AS boards
RETURN boards, count(p) AS pins
ORDER BY boards;

// name: creators-saved-by-others
// Creators whose pins other users save the most.
MATCH (c:User)-[:CREATED]->(:Pin)-[s:SAVED_TO]->(:Board)
WHERE s.by <> c.id
RETURN c.handle AS creator, count(s) AS saves_by_others
ORDER BY saves_by_others DESC, creator
LIMIT 20;

// name: engagement-by-kind
// Engagement edges and events (clicks, close-ups, hides) by kind.
MATCH (:User)-[e:ENGAGED]->(:Pin)
RETURN e.kind AS kind, count(e) AS users_and_pins, sum(e.count) AS events
ORDER BY events DESC;

// name: users-by-language
// Users per language.
MATCH (u:User)
RETURN u.lang AS lang, count(u) AS users
ORDER BY users DESC, lang;

// name: board-privacy
// Public and secret boards, and the saves on each kind.
MATCH (b:Board)
OPTIONAL MATCH (b)<-[s:SAVED_TO]-(:Pin)
RETURN b.privacy AS privacy, count(DISTINCT b) AS boards, count(s) AS saves
ORDER BY privacy;

// name: cypher-related-pins
// The Cypher baseline of "related pins": pins sharing public boards with the most saved
// pin, by boards in common (the walks do this better; see docs/walks.md).
MATCH (p:Pin)-[:SAVED_TO]->(:Board)
WITH p, count(*) AS saves
ORDER BY saves DESC, p.id
LIMIT 1
MATCH (p)-[:SAVED_TO]->(b:Board {privacy: 'PUBLIC'})<-[:SAVED_TO]-(other:Pin)
WHERE other <> p
RETURN other.id AS pin, other.title AS title, count(b) AS shared_boards
ORDER BY shared_boards DESC, pin
LIMIT 20;

// name: user-neighbourhood
// A user's boards and the pins on them, as paths: export it with
// `pingraph export --name user-neighbourhood -o out.graphml` or load it into networkx.
// params: {"handle": "demo"}
MATCH path = (u:User {handle: $handle})-[:OWNS]->(b:Board)<-[:SAVED_TO]-(p:Pin)
RETURN path
LIMIT 200;
