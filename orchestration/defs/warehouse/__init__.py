"""The warehouse file as a Dagster resource, and the pool every warehouse step runs in."""
