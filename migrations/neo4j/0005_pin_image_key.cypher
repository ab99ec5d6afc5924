// Image garbage collection asks which stored images some pin uses.
CREATE INDEX pin_image_key IF NOT EXISTS FOR (p:Pin) ON (p.imageKey);
