"""Visual search: image embeddings (EfficientNet-Lite0 on ONNX Runtime), indexing and search."""
