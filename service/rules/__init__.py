"""Clinical rules: pure functions of a PatientRecord and the Knowledge. No I/O, no HTTP, no card wording."""
