"""What every layer stands on: paths and settings from the environment, the warehouse
connection and its lock, the tables dbt does not own, dates, dbt invocation and the one
exception type for mistakes a user can fix."""
