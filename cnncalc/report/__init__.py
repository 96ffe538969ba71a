"""Renderers: plain data from the analyses -> JSON documents and rich tables."""
