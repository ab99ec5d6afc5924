// Visual search: pins' image embeddings (1,280 float32, L2-normalised), searched by cosine
// similarity in an HNSW index, built like FalkorDB's (16 links per node, 200 candidates while
// inserting). Quantization (on by default in Neo4j 5.26) is off: it approximates the scores,
// which graph/repos/visual.py reports as distances, and costs recall. Neo4j has no
// search-time breadth setting: a search explores as many candidates as it asks for, so
// graph/repos/visual.py asks for at least 400, the efRuntime of FalkorDB's index.
CREATE VECTOR INDEX pin_embedding IF NOT EXISTS FOR (p:Pin) ON p.embedding OPTIONS {indexConfig: {`vector.dimensions`: 1280, `vector.similarity_function`: 'cosine', `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 200, `vector.quantization.enabled`: false}};
