"""The API suite's engine: fuzzing through Schemathesis and the API Security Top 10 probes."""
