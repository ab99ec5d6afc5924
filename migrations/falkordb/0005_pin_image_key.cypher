// Image garbage collection asks which stored images some pin uses.
CREATE INDEX FOR (p:Pin) ON (p.imageKey);
