"""The spec format: YAML with locations, blocks and repeat expansion, safe expressions."""
