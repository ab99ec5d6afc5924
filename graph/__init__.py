"""Graph store access: Neo4j and embedded FalkorDB behind one async repository layer."""
