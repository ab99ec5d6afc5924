"""Image store: MinIO (S3) and a local directory behind one interface."""
