"""Throwaway code locations that prove the webserver harness (not part of the product)."""
