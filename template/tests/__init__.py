"""The service's tests; a package so that they share helpers by relative import."""
