// Visual search: pins' image embeddings (1,280 float32, L2-normalised), searched by cosine
// distance in an HNSW index. M and efConstruction are FalkorDB's defaults, spelled out: 16
// links per node and 200 candidates while inserting are the usual values for features of
// this size. efRuntime, the candidates a search explores, defaults to 10: on 3,000 random
// 1,280-d vectors (the hardest case, tests/graph/test_visual.py) recall@10 was 0.19 with
// 10, 0.73 with 100, 0.97 with 300 and 0.985-0.995 with 400. A search asking for more pins
// than efRuntime explores that many instead.
CREATE VECTOR INDEX FOR (p:Pin) ON (p.embedding) OPTIONS {dimension: 1280, similarityFunction: 'cosine', M: 16, efConstruction: 200, efRuntime: 400};
