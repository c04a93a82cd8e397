"""Coverage-guided fuzzing of the sans-IO core with atheris (``make fuzz``)."""
