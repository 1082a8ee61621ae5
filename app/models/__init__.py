"""Model files vendored with Callbridge (each with its licence beside it)."""
