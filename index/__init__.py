"""Ingestion: article files in, cleaned and chunked articles in the store out."""
